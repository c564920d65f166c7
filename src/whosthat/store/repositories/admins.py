"""Administrator accounts."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from whosthat.store.models import Admin


def any_exists(session: Session) -> bool:
    return session.execute(select(Admin.id).limit(1)).first() is not None


def get(session: Session, admin_id: int) -> Admin | None:
    return session.get(Admin, admin_id)


def by_username(session: Session, username: str) -> Admin | None:
    return session.execute(select(Admin).where(Admin.username == username)).scalar_one_or_none()


def add(session: Session, *, username: str, password_hash: str, role: str) -> Admin:
    """Insert an administrator (flushed: the id is set)."""
    admin = Admin(username=username, password_hash=password_hash, role=role)
    session.add(admin)
    session.flush()
    return admin
