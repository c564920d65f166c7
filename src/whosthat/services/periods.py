"""Locked periods: once a period's hours are exported to payroll, an administrator locks its work
days; no correction changes a locked day until the period is unlocked with a reason (audited).

A period can only be locked once it has ended (its last day is before today in the site's zone), so
that kiosks keep clocking: locks refuse corrections, never live attendance.
"""

from __future__ import annotations

from datetime import date, datetime

from whosthat.i18n import M_
from whosthat.services import audit
from whosthat.services.common import SYSTEM, Actor, Context, clean_text, valid_id
from whosthat.services.errors import ConflictError, NotFoundError, ValidationError
from whosthat.services.schedules import ScheduleBook
from whosthat.store import repositories as repo
from whosthat.store.models import PeriodLock, utcnow

MAX_LOCK_DAYS = 366


class PeriodLockedError(ConflictError):
    code = "period_locked"
    http_status = 423


def lock_period(
    ctx: Context, date_from: date, date_to: date, *, note: str | None = None, actor: Actor = SYSTEM
) -> PeriodLock:
    """Lock work days date_from..date_to (inclusive); ConflictError when it overlaps an active lock."""
    actor.require("attendance:write")
    if not isinstance(date_from, date) or not isinstance(date_to, date):
        raise ValidationError(M_("give the period's first and last day (YYYY-MM-DD)"))
    if date_from > date_to:
        raise ValidationError(M_("'from' is after 'to'"))
    if (date_to - date_from).days >= MAX_LOCK_DAYS:
        raise ValidationError(M_("lock at most %(num)s days at once", num=MAX_LOCK_DAYS))
    today = utcnow().astimezone(ctx.tz).date()
    if date_to >= today:
        raise ValidationError(M_("only a period that has ended can be locked (its last day is before today)"))
    note = clean_text(note, M_("the note"), 200, required=False) or None
    if repo.schedules.active_locks_overlapping(ctx.db, date_from, date_to):
        raise ConflictError(M_("this period overlaps a locked one"))
    row = repo.schedules.add(
        ctx.db, PeriodLock(date_from=date_from, date_to=date_to, note=note, locked_by=actor.label)
    )
    audit.record(
        ctx,
        actor,
        "period.lock",
        f"period:{row.id}",
        {"from": date_from.isoformat(), "to": date_to.isoformat(), "note": note},
    )
    ctx.commit()
    return row


def unlock_period(ctx: Context, lock_id: int, *, reason: str, actor: Actor = SYSTEM) -> PeriodLock:
    """Unlock with a reason (kept on the lock and in the audit log)."""
    actor.require("attendance:write")
    reason = clean_text(reason, M_("the reason"), 500)
    if len(reason) < 3:
        raise ValidationError(M_("the reason must say why (at least 3 characters)"))
    row = repo.schedules.lock_for_update(ctx.db, lock_id) if valid_id(lock_id) else None
    if row is None:
        raise NotFoundError(M_("no locked period with id %(id)s", id=lock_id))
    if row.unlocked_at is not None:
        raise ConflictError(M_("period %(id)s is already unlocked", id=row.id))
    row.unlocked_at, row.unlocked_by, row.unlock_reason = utcnow(), actor.label, reason
    audit.record(
        ctx,
        actor,
        "period.unlock",
        f"period:{row.id}",
        {"from": row.date_from.isoformat(), "to": row.date_to.isoformat(), "reason": reason},
    )
    ctx.commit()
    return row


def list_locks(ctx: Context) -> list[PeriodLock]:
    return repo.schedules.locks(ctx.db)


def check_unlocked(ctx: Context, person_id: int, moments: list[datetime]) -> None:
    """PeriodLockedError when a moment's work day (in the person's zone) lies in a locked period."""
    if not moments:
        return
    book = ScheduleBook(ctx)
    days = [book.work_day(person_id, m) for m in moments]
    for lock in repo.schedules.active_locks_overlapping(ctx.db, min(days), max(days)):
        for d in days:
            if lock.date_from <= d <= lock.date_to:
                raise PeriodLockedError(
                    M_(
                        "%(day)s is in a locked period (%(first)s to %(last)s); unlock it first",
                        day=d,  # dates: ISO in the English text, the reader's format on a page
                        first=lock.date_from,
                        last=lock.date_to,
                    )
                )
