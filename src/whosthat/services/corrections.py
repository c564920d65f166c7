"""Attendance corrections with a trail, and employees' correction requests.

Rules (each lives here only):
- An event is never rewritten. An administrator corrects attendance with a new row in
  attendance_corrections: "add" creates a new event (a forgotten clock-out), "edit" creates a new event
  that supersedes one (a wrong time or kind), "void" marks one as not counting (a wrong match). Each
  needs a reason; who did it is stored with it and in the audit log.
- An event can be replaced once; to change an edit, correct the event the edit created.
- A missing clock-out stays flagged until a correction adds one; nothing is guessed.
- An employee (signed in at a kiosk) asks for a correction of their own attendance; an administrator
  approves it (the correction is then made, with the request's reason, naming the request) or rejects
  it with a note. A request is decided once.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from whosthat.errors import BadInputError
from whosthat.i18n import M_
from whosthat.services import audit, periods
from whosthat.services.common import SYSTEM, Actor, Context, Page, check_paging, clean_text, valid_id
from whosthat.services.errors import ConflictError, NotFoundError, ValidationError
from whosthat.store import repositories as repo
from whosthat.store.models import AttendanceCorrection, AttendanceEvent, CorrectionRequest, Person, utcnow

ACTIONS = ("add", "edit", "void")
KINDS = ("in", "out")
STATUSES = ("pending", "approved", "rejected")
REASON_MAX = 500
REASON_MIN = 3  # "ok" is not a reason
MAX_FUTURE = timedelta(minutes=5)  # a correction cannot record attendance that has not happened
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
MAX_PENDING_PER_PERSON = 20  # an employee cannot flood the queue
ACTION_WORDS = {"add": "added", "edit": "changed", "void": "voided"}


# Checks ------------------------------------------------------------------------------------------
def _reason(value) -> str:
    text = clean_text(value, M_("the reason"), REASON_MAX, field="reason")
    if len(text) < REASON_MIN:
        raise ValidationError(
            M_(
                "%(field)s needs at least %(num)s characters: say why", field=M_("the reason"), num=REASON_MIN
            ),
            field="reason",
        )
    return text


def _kind(value) -> str:
    if value not in KINDS:
        raise ValidationError(M_("the event must be 'in' or 'out'"), field="kind")
    return value


def _moment(value) -> datetime:
    if not isinstance(value, datetime):
        raise ValidationError(M_("the event time is required"), field="time")
    if value.tzinfo is None:
        raise ValidationError(M_("the event time needs a time zone"), field="time")
    if value > utcnow() + MAX_FUTURE:
        raise ValidationError(M_("the event time is in the future"), field="time")
    if value < EARLIEST:
        raise ValidationError(M_("the event time is before 2000"), field="time")
    return value


def local_moment(ctx: Context, day_text: str, time_text: str) -> datetime:
    """A form's local date (YYYY-MM-DD) and time (HH:MM) in the site's time zone, as an aware datetime
    (the earlier of two moments when the clock is turned back); ValidationError when they do not parse."""
    try:
        d = date.fromisoformat((day_text or "").strip())
    except ValueError:
        raise ValidationError(M_("give the date as YYYY-MM-DD and the time as HH:MM"), field="day") from None
    try:
        t = time.fromisoformat((time_text or "").strip())
    except ValueError:
        raise ValidationError(M_("give the date as YYYY-MM-DD and the time as HH:MM"), field="time") from None
    return datetime.combine(d, t.replace(tzinfo=None), tzinfo=ctx.tz)


def _action(value) -> str:
    if value not in ACTIONS:
        raise ValidationError(M_("the correction must be 'add', 'edit' or 'void'"), field="action")
    return value


def _person(ctx: Context, person_id) -> Person:
    person = repo.people.get(ctx.db, person_id) if valid_id(person_id) else None
    if person is None:
        raise NotFoundError(M_("no person with id %(id)s", id=person_id))
    return person


def _event_in_effect(ctx: Context, event_id, *, for_update: bool = False) -> AttendanceEvent:
    """The event, locked when asked; NotFoundError when absent, ConflictError when already replaced."""
    event = repo.attendance.get(ctx.db, event_id, for_update=for_update) if valid_id(event_id) else None
    if event is None:
        raise NotFoundError(M_("no attendance event with id %(id)s", id=event_id))
    if repo.corrections.replacing(ctx.db, event.id) is not None:
        raise ConflictError(
            M_("event %(id)s was already corrected or voided; correct the newer event", id=event.id)
        )
    return event


# Corrections -------------------------------------------------------------------------------------
def apply_correction(
    ctx: Context,
    action: str,
    *,
    actor: Actor,
    reason: str,
    person_id: int | None = None,
    event_id: int | None = None,
    kind: str | None = None,
    at: datetime | None = None,
    request_id: int | None = None,
) -> AttendanceCorrection:
    """Write one correction (and its new event) in the current transaction; the caller commits."""
    actor.require("attendance:write")
    action = _action(action)
    reason = _reason(reason)
    old = None
    if action == "add":
        person = _person(ctx, person_id)
        kind, at = _kind(kind), _moment(at)
        repo.people.lock(ctx.db, person.id)  # serialised with clock() and other corrections
    else:
        target = repo.attendance.get(ctx.db, event_id) if valid_id(event_id) else None
        if target is not None:
            repo.people.lock(ctx.db, target.person_id)  # then re-read: another correction may have won
        old = _event_in_effect(ctx, event_id)
        if person_id is not None and person_id != old.person_id:
            raise ValidationError(M_("event %(id)s is not that person's", id=old.id))
        person = old.person
        if action == "edit":
            kind = _kind(kind if kind is not None else old.kind)
            at = _moment(at if at is not None else old.at)
            if kind == old.kind and at == old.at:
                raise ValidationError(M_("the corrected event is the same as the original"))
    periods.check_unlocked(ctx, person.id, [m for m in ((old.at if old else None), at) if m is not None])
    new = None
    if action in ("add", "edit"):
        new = repo.attendance.add(ctx.db, person_id=person.id, kind=kind, at=at, source="correction")
    row = repo.corrections.add(
        ctx.db,
        person_id=person.id,
        action=action,
        event_id=new.id if new else None,
        replaces_event_id=old.id if old else None,
        reason=reason,
        by=actor.label,
        request_id=request_id,
    )
    detail = {"reason": reason, "kind": kind, "at": at.isoformat() if at else None}
    if old is not None:
        detail["replaces"] = {"id": old.id, "kind": old.kind, "at": old.at.isoformat()}
    if request_id is not None:
        detail["request"] = request_id
    audit.record(ctx, actor, f"attendance.correct.{action}", f"person:{person.id}", detail)
    row.person, row.event, row.replaces = person, new, old
    return row


def add_event(
    ctx: Context, person_id: int, *, kind: str, at: datetime, reason: str, actor: Actor = SYSTEM
) -> AttendanceCorrection:
    """A new event for the person (e.g. the clock-out they forgot), with the reason."""
    row = apply_correction(ctx, "add", actor=actor, reason=reason, person_id=person_id, kind=kind, at=at)
    ctx.commit()
    return row


def edit_event(
    ctx: Context,
    event_id: int,
    *,
    reason: str,
    kind: str | None = None,
    at: datetime | None = None,
    actor: Actor = SYSTEM,
) -> AttendanceCorrection:
    """A new event that supersedes `event_id` (its kind and/or time changed); the original is kept."""
    row = apply_correction(ctx, "edit", actor=actor, reason=reason, event_id=event_id, kind=kind, at=at)
    ctx.commit()
    return row


def void_event(ctx: Context, event_id: int, *, reason: str, actor: Actor = SYSTEM) -> AttendanceCorrection:
    """Mark the event as not counting (e.g. a wrong match); the original is kept."""
    row = apply_correction(ctx, "void", actor=actor, reason=reason, event_id=event_id)
    ctx.commit()
    return row


def correct(ctx: Context, action: str, *, actor: Actor = SYSTEM, **fields) -> AttendanceCorrection:
    """add_event / edit_event / void_event by name (the API's one endpoint)."""
    row = apply_correction(ctx, action, actor=actor, **fields)
    ctx.commit()
    return row


def corrections_in(
    ctx: Context, *, since: datetime | None, until: datetime | None, person_id: int | None = None
) -> list[AttendanceCorrection]:
    """Corrections whose new or replaced event lies in [since, until), oldest first."""
    if person_id is not None and not valid_id(person_id):
        return []
    return repo.corrections.in_range(ctx.db, person_id=person_id, since=since, until=until)


def get_event(ctx: Context, event_id: int) -> tuple[AttendanceEvent, AttendanceCorrection | None]:
    """(the event, the correction that replaced it or None while in effect); NotFoundError when absent."""
    event = repo.attendance.get(ctx.db, event_id) if valid_id(event_id) else None
    if event is None:
        raise NotFoundError(M_("no attendance event with id %(id)s", id=event_id))
    return event, repo.corrections.replacing(ctx.db, event.id)


# Requests ----------------------------------------------------------------------------------------
def request_correction(
    ctx: Context,
    person_id: int,
    *,
    action: str,
    reason: str,
    event_id: int | None = None,
    kind: str | None = None,
    at: datetime | None = None,
) -> CorrectionRequest:
    """An employee's request about their own attendance ("add": a missing event; "edit": the event
    happened at another time or was the other kind; "void": it was not them)."""
    person = _person(ctx, person_id)
    actor = Actor.for_employee(person)
    action, reason = _action(action), _reason(reason)
    event = None
    if action == "add":
        kind, at = _kind(kind), _moment(at)
    else:
        if event_id is None:
            raise ValidationError(M_("choose the event to change or remove"), field="event")
        try:
            event = _event_in_effect(ctx, event_id)
        except BadInputError as exc:
            exc.field = "event"  # the form's event choice
            raise
        if event.person_id != person.id:
            raise NotFoundError(
                M_("no attendance event with id %(id)s", id=event_id), field="event"
            )  # not theirs: as if absent
        if action == "edit":
            kind = _kind(kind if kind is not None else event.kind)
            at = _moment(at if at is not None else event.at)
        else:
            kind = at = None
    pending = repo.corrections.page_requests(ctx.db, status="pending", person_id=person.id, page=1, size=1)[1]
    if pending >= MAX_PENDING_PER_PERSON:
        raise ConflictError(
            M_("you already have %(num)s open requests; wait for an administrator", num=pending)
        )
    row = repo.corrections.add_request(
        ctx.db,
        person_id=person.id,
        action=action,
        event_id=event.id if event else None,
        kind=kind,
        event_at=at,
        reason=reason,
        status="pending",
    )
    audit.record(
        ctx, actor, "attendance.request", f"person:{person.id}", {"request": row.id, "action": action}
    )
    ctx.commit()
    row.person, row.event = person, event
    return row


def list_requests(
    ctx: Context,
    *,
    status: str | None = "pending",
    person_id: int | None = None,
    page: int = 1,
    size: int = 50,
    actor: Actor = SYSTEM,
) -> Page:
    """Correction requests, newest first (status None: all). The `actor` needs attendance:read."""
    actor.require("attendance:read")
    if status is not None and status not in STATUSES:
        raise ValidationError(M_("status must be 'pending', 'approved' or 'rejected'"))
    page, size = check_paging(page, size)
    if person_id is not None and not valid_id(person_id):
        return Page([], page, size, 0)
    rows, total = repo.corrections.page_requests(
        ctx.db, status=status, person_id=person_id, page=page, size=size
    )
    return Page(rows, page, size, total)


def my_requests(ctx: Context, person_id: int, size: int = 20) -> list[CorrectionRequest]:
    """The employee's own latest requests (their page)."""
    rows, _ = repo.corrections.page_requests(ctx.db, status=None, person_id=person_id, page=1, size=size)
    return rows


def decide_request(
    ctx: Context, request_id: int, *, approve: bool, note: str | None = None, actor: Actor = SYSTEM
) -> CorrectionRequest:
    """Approve (make the correction) or reject (a note is required) a pending request; ConflictError
    when it was decided already or its event was corrected meanwhile."""
    actor.require("attendance:write")
    req = repo.corrections.get_request(ctx.db, request_id, for_update=True) if valid_id(request_id) else None
    if req is None:
        raise NotFoundError(M_("no correction request with id %(id)s", id=request_id))
    if req.status != "pending":
        if req.status == "approved":
            raise ConflictError(M_("request %(id)s was already approved", id=req.id))
        raise ConflictError(M_("request %(id)s was already rejected", id=req.id))
    note = clean_text(note, M_("the note"), REASON_MAX, required=not approve) or None
    if not approve and len(note or "") < REASON_MIN:
        raise ValidationError(M_("a rejection must say why (at least %(num)s characters)", num=REASON_MIN))
    if approve:
        apply_correction(
            ctx,
            req.action,
            actor=actor,
            reason=req.reason,
            person_id=req.person_id,
            event_id=req.event_id,
            kind=req.kind,
            at=req.event_at,
            request_id=req.id,
        )
    req.status = "approved" if approve else "rejected"
    req.decided_at = utcnow()
    req.decided_by = actor.label
    req.decision_note = note
    audit.record(
        ctx,
        actor,
        f"attendance.request.{req.status}",
        f"person:{req.person_id}",
        {"request": req.id, "note": note},
    )
    ctx.commit()
    return req


def describe(row: AttendanceCorrection, tz) -> str:
    """One line for reports: "void in 08:00 (wrong person) by admin:alice" (an M_ message: English, and
    the reader's language on the pages)."""

    def ev(e) -> str:
        return M_("%(kind)s %(time)s", kind=M_(e.kind), time=e.at.astimezone(tz).strftime("%H:%M"))

    if row.action == "add":
        what = M_("added %(event)s", event=ev(row.event))
    elif row.action == "edit":
        what = M_("changed %(old)s to %(new)s", old=ev(row.replaces), new=ev(row.event))
    else:
        what = M_("voided %(event)s", event=ev(row.replaces))
    return M_("%(what)s (%(reason)s) by %(by)s", what=what, reason=row.reason, by=row.by)
