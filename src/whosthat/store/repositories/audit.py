"""The audit log: append a row, read pages newest first."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from whosthat.store.models import AuditLog
from whosthat.store.repositories.paging import LIKE_ESCAPE, escape_like, page_of


def add(
    session: Session,
    *,
    actor: str,
    action: str,
    target: str | None,
    address: str | None,
    detail: dict | None,
) -> None:
    """Add one row to the current transaction (never biometric data in `detail`)."""
    session.add(AuditLog(actor=actor, action=action, target=target, address=address, detail=detail))


def page_newest_first(
    session: Session,
    *,
    action: str | None,
    actor_prefix: str | None,
    page: int,
    size: int,
    since=None,
    until=None,
) -> tuple[list[AuditLog], int]:
    """(one page of rows, newest first, filtered by exact action, actor label prefix and at in
    [since, until) when given; the total)."""
    stmt = select(AuditLog)
    if since is not None:
        stmt = stmt.where(AuditLog.at >= since)
    if until is not None:
        stmt = stmt.where(AuditLog.at < until)
    if action:
        stmt = stmt.where(AuditLog.action == action)
    if actor_prefix:
        stmt = stmt.where(AuditLog.actor.like(f"{escape_like(actor_prefix)}%", escape=LIKE_ESCAPE))
    return page_of(session, stmt, (AuditLog.at.desc(), AuditLog.id.desc()), page=page, size=size)
