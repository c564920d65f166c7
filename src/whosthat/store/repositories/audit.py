"""The audit log: append a row, name its target, read pages newest first, forget a deleted person."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from whosthat.store.models import ApiKey, AuditLog, Holiday, Kiosk, Person, Schedule, WorkGroup
from whosthat.store.repositories.paging import LIKE_ESCAPE, escape_like, page_of

LABEL_LENGTH = 160
DELETED = "(deleted)"  # a deleted person's label: "E042 (deleted)" (the page says it in words)
# The most distinct actors the audit page offers as filter choices (sorted; the rest by typing).
MAX_ACTOR_CHOICES = 200

# target kind -> (model, its name in words)
_NAMED = {
    "person": (Person, lambda p: f"{p.full_name} ({p.employee_code})"),
    "kiosk": (Kiosk, lambda k: k.name),
    "apikey": (ApiKey, lambda k: k.name),
    "schedule": (Schedule, lambda s: s.name),
    "group": (WorkGroup, lambda g: g.name),
    "holiday": (Holiday, lambda h: h.name),
}


def add(
    session: Session,
    *,
    actor: str,
    action: str,
    target: str | None,
    address: str | None,
    detail: dict | None,
    target_label: str | None = None,
) -> None:
    """Add one row to the current transaction (never biometric data in `detail`)."""
    session.add(
        AuditLog(
            actor=actor,
            action=action,
            target=target,
            target_label=(target_label or None) and target_label[:LABEL_LENGTH],
            address=address,
            detail=detail,
        )
    )


def label_of(session: Session, target: str | None) -> str | None:
    """The target's name in words now ("Ada Lovelace (E042)", a kiosk's or key's name, an administrator's
    username), None for a target without a name or that does not exist (any more)."""
    kind, _, key = (target or "").partition(":")
    if kind == "admin":
        return key or None
    named = _NAMED.get(kind)
    if named is None or not key.isdigit():
        return None
    row = session.get(named[0], int(key))  # usually already in the session: the caller just used it
    return named[1](row) if row is not None else None


def forget_person(session: Session, person_id: int, employee_code: str, names: list[str]) -> int:
    """A deleted person's audit rows keep only the employee code: the label becomes "E042 (deleted)" and
    the person's name (`names`: the full name, as it was in any detail) leaves the details. Returns the
    number of rows rewritten."""
    rows = session.scalars(select(AuditLog).where(AuditLog.target == f"person:{person_id}")).all()
    for row in rows:
        row.target_label = f"{employee_code} {DELETED}"[:LABEL_LENGTH]  # services.audit.deleted_label
        if row.detail:
            row.detail = _without_names(row.detail, [n for n in names if n])
    return len(rows)


def _without_names(detail: dict, names: list[str]) -> dict:
    clean = {}
    for key, value in detail.items():
        if key == "name":
            continue
        if isinstance(value, str):
            for name in names:
                value = value.replace(name, "…")
        clean[key] = value
    return clean


def page_newest_first(
    session: Session,
    *,
    action: str | None,
    actor_prefix: str | None,
    page: int,
    size: int,
    since=None,
    until=None,
    target: str | None = None,
) -> tuple[list[AuditLog], int]:
    """(one page of rows, newest first, filtered by exact action, actor label prefix, target (the exact
    code "person:2" or a part of the target's label, any case) and at in [since, until) when given;
    the total)."""
    stmt = select(AuditLog)
    if since is not None:
        stmt = stmt.where(AuditLog.at >= since)
    if until is not None:
        stmt = stmt.where(AuditLog.at < until)
    if action:
        stmt = stmt.where(AuditLog.action == action)
    if actor_prefix:
        stmt = stmt.where(AuditLog.actor.like(f"{escape_like(actor_prefix)}%", escape=LIKE_ESCAPE))
    if target:
        stmt = stmt.where(
            or_(
                AuditLog.target == target,
                AuditLog.target_label.ilike(f"%{escape_like(target)}%", escape=LIKE_ESCAPE),
            )
        )
    return page_of(session, stmt, (AuditLog.at.desc(), AuditLog.id.desc()), page=page, size=size)


def actions(session: Session) -> list[str]:
    """The distinct action codes in the log, sorted."""
    return list(session.scalars(select(AuditLog.action).distinct().order_by(AuditLog.action)))


def actors(session: Session, limit: int = MAX_ACTOR_CHOICES) -> list[str]:
    """The distinct actor labels in the log, sorted (at most `limit`)."""
    return list(session.scalars(select(AuditLog.actor).distinct().order_by(AuditLog.actor).limit(limit)))
