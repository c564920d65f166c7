"""Form drafts (services/drafts.py): add one with its photos, read one of a session, its photos, remove
one, and drop the expired ones. Photos are deleted explicitly with their draft (not left to the
database's ON DELETE, which SQLite applies only with foreign keys on)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from whosthat.store.models import FormDraft, FormDraftPhoto


def add(
    session: Session,
    token_hash: str,
    *,
    session_hash: str,
    form: str,
    payload: bytes,
    photos: list[bytes],
    now: datetime,
    expires_at: datetime,
) -> None:
    session.add(
        FormDraft(
            token_hash=token_hash,
            session_hash=session_hash,
            form=form,
            payload=payload,
            created_at=now,
            expires_at=expires_at,
        )
    )
    session.flush()
    for position, data in enumerate(photos):
        session.add(FormDraftPhoto(draft_hash=token_hash, position=position, data=data))
    session.flush()


def get(
    session: Session, token_hash: str, *, session_hash: str, form: str, now: datetime
) -> FormDraft | None:
    """The unexpired draft of this token, session and form, or None."""
    return session.execute(
        select(FormDraft).where(
            FormDraft.token_hash == token_hash,
            FormDraft.session_hash == session_hash,
            FormDraft.form == form,
            FormDraft.expires_at > now,
        )
    ).scalar_one_or_none()


def photos(session: Session, token_hash: str) -> list[tuple[int, bytes]]:
    """(position, ciphertext) of a draft's photos, in order."""
    rows = session.execute(
        select(FormDraftPhoto.position, FormDraftPhoto.data)
        .where(FormDraftPhoto.draft_hash == token_hash)
        .order_by(FormDraftPhoto.position)
    ).all()
    return [(p, bytes(d)) for p, d in rows]


def remove(session: Session, token_hashes: list[str]) -> int:
    """Delete these drafts and their photos; how many drafts there were."""
    if not token_hashes:
        return 0
    session.execute(delete(FormDraftPhoto).where(FormDraftPhoto.draft_hash.in_(token_hashes)))
    result = session.execute(delete(FormDraft).where(FormDraft.token_hash.in_(token_hashes)))
    return result.rowcount or 0


def expired(session: Session, now: datetime) -> list[str]:
    return list(session.execute(select(FormDraft.token_hash).where(FormDraft.expires_at <= now)).scalars())


def of_session(session: Session, session_hash: str) -> list[str]:
    return list(
        session.execute(select(FormDraft.token_hash).where(FormDraft.session_hash == session_hash)).scalars()
    )
