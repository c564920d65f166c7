"""Kiosk liveness sessions as created, shared between replicas (the challenge's frames are analysed by
the replica whose WebSocket claimed the session; only its definition is stored)."""

from __future__ import annotations

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from whosthat.store.models import LivenessSession


def add(session: Session, **fields) -> None:
    session.add(LivenessSession(claimed=False, **fields))
    session.flush()


def get(session: Session, session_id: str) -> LivenessSession | None:
    return session.get(LivenessSession, session_id)


def claim(session: Session, session_id: str, now: float) -> bool:
    """Mark the session taken by a WebSocket: True for the first caller on any replica, before expiry."""
    result = session.execute(
        update(LivenessSession)
        .where(
            LivenessSession.id == session_id,
            LivenessSession.claimed.is_(False),
            LivenessSession.expires_at >= now,
        )
        .values(claimed=True)
    )
    return result.rowcount == 1


def prune(session: Session, before: float) -> int:
    return session.execute(delete(LivenessSession).where(LivenessSession.expires_at < before)).rowcount
