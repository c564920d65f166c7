"""Kiosk liveness sessions shared by replicas: the session's definition (steps, expiry, nonce hash) is
stored in the database when it is created, so the kiosk's WebSocket may land on any replica; that
replica rebuilds the session from the row and claims it, once (a second WebSocket for the same session,
on any replica, is refused). The frames are analysed in the claiming replica's memory; if it dies, the
kiosk starts a new session, which any replica can serve."""

from __future__ import annotations

import hashlib
import time

from whosthat.liveness.challenge import ChallengeSession, ChallengeStore
from whosthat.store import repositories as repo


class SharedChallengeStore(ChallengeStore):
    """ChallengeStore whose sessions every replica sharing `database` can open.

    `restore_kwargs()` gives the arguments a rebuilt session needs from this replica (its pipeline and
    match threshold)."""

    def __init__(self, database, restore_kwargs, max_sessions: int = 1000, grace_s: float = 5.0):
        super().__init__(max_sessions=max_sessions, grace_s=grace_s)
        self.database = database
        self._restore_kwargs = restore_kwargs
        self._last_prune = 0.0

    def create(self, kiosk: str, steps: list[str] | None = None, **kwargs) -> ChallengeSession:
        session = super().create(kiosk, steps, **kwargs)
        now = time.time()
        with self.database.session() as db:
            repo.liveness.add(
                db,
                id=session.id,
                nonce_hash=hashlib.sha256(session.nonce.encode()).hexdigest(),
                kiosk=session.kiosk,
                steps=list(session.steps),
                adaptive_turns=list(session.adaptive_turns),
                timeout_s=float(session.timeout_s),
                pad_mode=session.pad_mode,
                created_at=float(session.created_at),
                expires_at=float(session.expires_at),
            )
            if now - self._last_prune > 60:
                repo.liveness.prune(db, now - 3600)
                self._last_prune = now
            db.commit()
        return session

    def get(self, session_id: str) -> ChallengeSession | None:
        session = super().get(session_id)
        if session is not None:
            return session
        with self.database.session() as db:
            row = repo.liveness.get(db, session_id)
            if row is None or row.claimed or time.time() > row.expires_at:
                return None
            session = ChallengeSession(
                row.kiosk,
                list(row.steps),
                timeout_s=row.timeout_s,
                pad_mode=row.pad_mode,
                adaptive_turns=tuple(row.adaptive_turns),
                **self._restore_kwargs(),
            )
            session.id, session.nonce, session.nonce_hash = row.id, None, row.nonce_hash
            session.created_at, session.expires_at = row.created_at, row.expires_at
        with self._lock:
            self._sessions.setdefault(session.id, session)
            return self._sessions[session.id]

    def claim(self, session_id: str) -> bool:
        if not super().claim(session_id):
            return False
        with self.database.session() as db:
            ok = repo.liveness.claim(db, session_id, time.time())
            db.commit()
        return ok
