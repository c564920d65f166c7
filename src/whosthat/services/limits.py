"""Failure lockouts and rate limits, counted per key in a sliding window; the face-work pool.

FailureLimiter and RateLimiter count in this process's memory (SQLite, one process); SharedFailureLimiter
and SharedRateLimiter count in the database every replica shares (PostgreSQL: settings.shared_state), so
a limit holds across replicas behind a load balancer. Keys are free-form strings; the services that use them build
their keys in one place each (kiosk_login.lockout_keys, access.password_lockout_keys).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from whosthat.i18n import M_


@dataclass
class LimitState:
    locked: bool
    retry_after_s: int
    failures: int


class FailureLimiter:
    """Counts failures per key in a sliding window; `max_failures` within `window_s` locks the key
    for `lockout_s`. A success clears the key's failures."""

    def __init__(
        self, max_failures: int, lockout_s: float, window_s: float | None = None, clock=time.monotonic
    ):
        self.max_failures = max_failures
        self.lockout_s = lockout_s
        self.window_s = window_s if window_s is not None else max(lockout_s, 60.0)
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._locked_until: dict[str, float] = {}
        self._lock = threading.Lock()

    def check(self, key: str) -> LimitState:
        """Whether `key` is locked out now, and for how long."""
        now = self._clock()
        with self._lock:
            until = self._locked_until.get(key)
            if until is not None and until > now:
                return LimitState(True, max(1, int(until - now + 0.999)), len(self._failures.get(key, ())))
            if until is not None:
                self._locked_until.pop(key, None)
                self._failures.pop(key, None)
            return LimitState(False, 0, len(self._failures.get(key, ())))

    def failure(self, key: str) -> LimitState:
        """Record a failure; returns the state after it (locked when this one reached the limit)."""
        now = self._clock()
        with self._lock:
            q = self._failures.setdefault(key, deque())
            q.append(now)
            while q and q[0] < now - self.window_s:
                q.popleft()
            if len(q) >= self.max_failures:
                self._locked_until[key] = now + self.lockout_s
                return LimitState(True, int(self.lockout_s), len(q))
            return LimitState(False, 0, len(q))

    def success(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)

    def prune(self) -> None:
        now = self._clock()
        with self._lock:
            for key in [k for k, t in self._locked_until.items() if t <= now]:
                self._locked_until.pop(key, None)
            for key in [k for k, q in self._failures.items() if not q or q[-1] < now - self.window_s]:
                self._failures.pop(key, None)


class RateLimiter:
    """At most `limit` events per key in a sliding `window_s` (e.g. liveness sessions per address)."""

    def __init__(self, limit: int, window_s: float, clock=time.monotonic):
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> LimitState:
        """Count one event; locked (with retry-after) when it exceeds the limit (the event is not counted)."""
        now = self._clock()
        with self._lock:
            q = self._events.setdefault(key, deque())
            while q and q[0] <= now - self.window_s:
                q.popleft()
            if len(q) >= self.limit:
                return LimitState(True, max(1, int(q[0] + self.window_s - now + 0.999)), len(q))
            q.append(now)
            if len(self._events) > 50_000:  # bound memory under address churn
                for k in [k for k, v in self._events.items() if not v or v[-1] <= now - self.window_s]:
                    self._events.pop(k, None)
            return LimitState(False, 0, len(q))


class SharedFailureLimiter:
    """FailureLimiter whose counts live in the shared database (`repo.limits`), so every replica sees
    the same failures and lockouts. Each call is one short transaction of its own (a failure counts even
    when the request's own transaction rolls back), serialised per key by the row's lock. Times are
    epoch seconds (replicas share the wall clock)."""

    def __init__(
        self,
        database,
        name: str,
        max_failures: int,
        lockout_s: float,
        window_s: float | None = None,
        clock=time.time,
    ):
        self.database = database
        self.name = name
        self.max_failures = max_failures
        self.lockout_s = lockout_s
        self.window_s = window_s if window_s is not None else max(lockout_s, 60.0)
        self._clock = clock

    def check(self, key: str) -> LimitState:
        from whosthat.store import repositories as repo

        now = self._clock()
        with self.database.session() as db:
            row = repo.limits.get(db, self.name, key)
            if row is None:
                return LimitState(False, 0, 0)
            recent = [t for t in row.events if t >= now - self.window_s]
            if row.locked_until > now:
                return LimitState(True, max(1, int(row.locked_until - now + 0.999)), len(recent))
            return LimitState(False, 0, len(recent) if not row.locked_until else 0)

    def failure(self, key: str) -> LimitState:
        from whosthat.store import repositories as repo

        now = self._clock()
        with self.database.session() as db:
            row = repo.limits.lock(db, self.name, key, now)
            events = [] if row.locked_until and row.locked_until <= now else list(row.events)
            events = [t for t in events if t >= now - self.window_s] + [now]
            locked_until = 0.0 if row.locked_until <= now else row.locked_until
            state = LimitState(False, 0, len(events))
            if len(events) >= self.max_failures:
                locked_until = now + self.lockout_s
                state = LimitState(True, int(self.lockout_s), len(events))
            repo.limits.save(db, row, events[-max(self.max_failures, 1) :], locked_until, now)
            db.commit()
            return state

    def success(self, key: str) -> None:
        from whosthat.store import repositories as repo

        with self.database.session() as db:
            row = repo.limits.get(db, self.name, key)
            if row is not None and row.locked_until <= self._clock():
                repo.limits.clear(db, self.name, key)
                db.commit()

    def prune(self) -> None:
        from whosthat.store import repositories as repo

        with self.database.session() as db:
            repo.limits.prune(db, self._clock() - self.window_s)
            db.commit()


class SharedRateLimiter:
    """RateLimiter whose events live in the shared database (see SharedFailureLimiter)."""

    def __init__(self, database, name: str, limit: int, window_s: float, clock=time.time):
        self.database = database
        self.name = name
        self.limit = limit
        self.window_s = window_s
        self._clock = clock

    def hit(self, key: str) -> LimitState:
        from whosthat.store import repositories as repo

        now = self._clock()
        with self.database.session() as db:
            row = repo.limits.lock(db, self.name, key, now)
            events = [t for t in row.events if t > now - self.window_s]
            if len(events) >= self.limit:
                db.rollback()
                return LimitState(True, max(1, int(events[0] + self.window_s - now + 0.999)), len(events))
            events.append(now)
            repo.limits.save(db, row, events, 0.0, now)
            db.commit()
            return LimitState(False, 0, len(events))


class WorkPool:
    """Admission control for heavy work (decoding and face analysis of uploads): at most `workers`
    run at once, at most `queue` more wait (each up to `wait_s`), and anything beyond is refused at
    once with BusyError (503 + Retry-After). A flood therefore costs bounded memory and CPU instead of
    one decoder per request thread."""

    def __init__(self, workers: int, queue: int, wait_s: float, retry_after_s: int = 2, metrics=None):
        self.metrics = metrics
        self.workers = max(1, workers)
        self.queue = max(0, queue)
        self.wait_s = wait_s
        self.retry_after_s = retry_after_s
        self._running = threading.BoundedSemaphore(self.workers)
        self._admitted = 0  # running + waiting
        self._lock = threading.Lock()
        self.refused = 0

    @property
    def admitted(self) -> int:
        return self._admitted

    def _busy(self):
        from whosthat.services.errors import BusyError

        with self._lock:
            self.refused += 1
        if self.metrics is not None:
            self.metrics.inc(
                "whosthat_face_pool_refused_total", "uploads refused because the face-work pool was full"
            )
        return BusyError(
            M_(
                "the server is busy with face work (%(running)s running, %(waiting)s waiting): "
                "try again in %(seconds)s s",
                running=self.workers,
                waiting=self.queue,
                seconds=self.retry_after_s,
            ),
            self.retry_after_s,
        )

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one worker for the duration of the block; BusyError when the queue is full or the
        wait runs out."""
        with self._lock:
            full = self._admitted >= self.workers + self.queue
            if not full:
                self._admitted += 1
        if full:
            raise self._busy()
        try:
            if not self._running.acquire(timeout=self.wait_s):
                raise self._busy()
            try:
                yield
            finally:
                self._running.release()
        finally:
            with self._lock:
                self._admitted -= 1
