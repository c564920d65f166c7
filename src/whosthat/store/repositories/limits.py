"""Shared failure and rate counters: one row per (limiter, key) with its recent event times and lockout.

`lock` takes the row's write lock (a no-op UPDATE, or the INSERT of a new row) before the caller reads
and rewrites it, so replicas counting the same key at once are serialised by the database.
"""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from whosthat.store.models import LimitState


def get(session: Session, limiter: str, key: str) -> LimitState | None:
    return session.get(LimitState, (limiter, key))


def lock(session: Session, limiter: str, key: str, now: float) -> LimitState:
    """The row of (limiter, key), created empty if missing, write-locked until the transaction ends."""
    touch = update(LimitState).where(LimitState.limiter == limiter, LimitState.key == key)
    if session.execute(touch.values(updated_at=now)).rowcount == 0:
        try:
            with session.begin_nested():
                session.add(LimitState(limiter=limiter, key=key, events=[], locked_until=0.0, updated_at=now))
        except IntegrityError:  # another replica created it meanwhile: lock theirs
            session.execute(touch.values(updated_at=now))
    row = session.execute(
        select(LimitState)
        .where(LimitState.limiter == limiter, LimitState.key == key)
        .execution_options(populate_existing=True)
    ).scalar_one()
    return row


def save(session: Session, row: LimitState, events: list[float], locked_until: float, now: float) -> None:
    row.events = list(events)
    row.locked_until = float(locked_until)
    row.updated_at = now
    session.flush()


def clear(session: Session, limiter: str, key: str) -> None:
    session.execute(delete(LimitState).where(LimitState.limiter == limiter, LimitState.key == key))


def prune(session: Session, before: float) -> int:
    """Drop rows not touched since `before` whose lockout is over."""
    return session.execute(
        delete(LimitState).where(LimitState.updated_at < before, LimitState.locked_until < before)
    ).rowcount
