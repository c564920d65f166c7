"""API keys (only the sha256 of a key is stored)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from whosthat.store.models import ApiKey


def add(session: Session, *, name: str, prefix: str, key_hash: str, scopes: str, created_by: str) -> ApiKey:
    """Insert a key row (flushed: the id is set); `scopes` is space-separated."""
    row = ApiKey(name=name, prefix=prefix, key_hash=key_hash, scopes=scopes, created_by=created_by)
    session.add(row)
    session.flush()
    return row


def all_in_order(session: Session, *, include_revoked: bool = True) -> list[ApiKey]:
    """Every key, oldest first."""
    stmt = select(ApiKey).order_by(ApiKey.id)
    if not include_revoked:
        stmt = stmt.where(ApiKey.revoked_at.is_(None))
    return list(session.execute(stmt).scalars())


def get(session: Session, key_id: int) -> ApiKey | None:
    return session.get(ApiKey, key_id)


def by_hash(session: Session, key_hash: str) -> ApiKey | None:
    return session.execute(select(ApiKey).where(ApiKey.key_hash == key_hash)).scalar_one_or_none()
