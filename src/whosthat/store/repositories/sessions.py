"""Browser sessions (hashes of their tokens only): start, look up an unexpired one, end one, end every
session of a subject (a password change), and drop expired rows."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from whosthat.store.models import WebSession


def add(
    session: Session, token_hash: str, *, kind: str, subject_id: int, now: datetime, expires_at: datetime
) -> None:
    """Add a session, dropping the sessions expired by `now` first."""
    session.execute(delete(WebSession).where(WebSession.expires_at < now))
    session.add(
        WebSession(
            token_hash=token_hash, kind=kind, subject_id=subject_id, created_at=now, expires_at=expires_at
        )
    )


def subject(session: Session, token_hash: str, *, kind: str, now: datetime) -> int | None:
    """The subject id of an unexpired session of this kind; None when there is none."""
    return session.execute(
        select(WebSession.subject_id).where(
            WebSession.token_hash == token_hash, WebSession.kind == kind, WebSession.expires_at > now
        )
    ).scalar_one_or_none()


def remove(session: Session, token_hash: str) -> None:
    session.execute(delete(WebSession).where(WebSession.token_hash == token_hash))


def remove_all_of(session: Session, *, kind: str, subject_id: int) -> int:
    """End every session of one admin or person; how many there were."""
    result = session.execute(
        delete(WebSession).where(WebSession.kind == kind, WebSession.subject_id == subject_id)
    )
    return result.rowcount or 0
