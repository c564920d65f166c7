"""Schedules and what they apply to: weekly patterns in a time zone with their rules, work groups,
assignments (a person's own wins over their groups', the latest valid_from over older ones), and the
public holidays list. `ScheduleBook` answers "which schedule, which shift, which time zone" for a
person and work day from rows read once (services/timesheets.py and services/periods.py use it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from whosthat.i18n import M_, N_, Message
from whosthat.services import audit
from whosthat.services.common import SYSTEM, Actor, Context, clean_text, valid_id
from whosthat.services.errors import ConflictError, NotFoundError, ValidationError
from whosthat.store import repositories as repo
from whosthat.store.models import Holiday, Person, Schedule, ScheduleAssignment, WorkGroup, WorkGroupMember

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# each weekday's name in the week's errors ("Monday: times are HH:MM"), translated where it is shown
WEEKDAY_NAMES = (
    N_("Monday"),
    N_("Tuesday"),
    N_("Wednesday"),
    N_("Thursday"),
    N_("Friday"),
    N_("Saturday"),
    N_("Sunday"),
)
MAX_GRACE_MIN = 240
NAME_MAX = 80


# Shifts ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Shift:
    """The scheduled shift of one work day, in UTC; `end` may be on the next calendar day (nights)."""

    start: datetime
    end: datetime
    break_s: int

    @property
    def length_s(self) -> float:
        return (self.end - self.start).total_seconds()

    @property
    def expected_s(self) -> float:
        """Scheduled working time: the shift's real length (23 or 25 h days included) less the break."""
        return max(0.0, self.length_s - self.break_s)


def zone_of(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            M_("unknown time zone %(zone)s (use an IANA name like Europe/Berlin)", zone=repr(name))
        ) from None


def shift_on(schedule: Schedule, day: date) -> Shift | None:
    """The schedule's shift on that calendar day (None: a day off). Local wall times are turned into
    UTC in the schedule's zone, so a shift across a daylight-saving change has its real length."""
    entry = schedule.week[day.weekday()]
    if not entry:
        return None
    zone = zone_of(schedule.timezone)
    start_t, end_t = time.fromisoformat(entry["start"]), time.fromisoformat(entry["end"])
    start = datetime.combine(day, start_t, tzinfo=zone)
    end_day = day + timedelta(days=1) if end_t <= start_t else day
    end = datetime.combine(end_day, end_t, tzinfo=zone)
    return Shift(start.astimezone(UTC), end.astimezone(UTC), int(entry.get("break_min", 0)) * 60)


def _check_week(week) -> list:
    """7 entries, Monday first: None or {"start": "HH:MM", "end": "HH:MM", "break_min": 0..}. Every
    day's error is given (the first carrying the others), each about that day's field: "mon_start",
    "mon_end" or "mon_break" (a form's row for the day)."""
    if not isinstance(week, list | tuple) or len(week) != 7:
        raise ValidationError(M_("the week needs 7 days, Monday first"))
    out, errors = [], []
    for wd, day_name, entry in zip(WEEKDAYS, WEEKDAY_NAMES, week, strict=True):
        try:
            out.append(_check_day(wd, Message(day_name), entry))
        except ValidationError as exc:
            errors.append(exc)
            out.append(None)
    if errors:
        raise errors[0].with_others(errors)
    if not any(out):
        raise ValidationError(M_("a schedule needs at least one working day"))
    return out


def _check_day(wd: str, day: Message, entry) -> dict | None:
    """One day of a week (`day`: its name, a marked constant shown in the reader's language)."""
    if entry in (None, {}, ""):
        return None
    if not isinstance(entry, dict):
        raise ValidationError(
            M_("%(day)s: give start and end, or nothing for a day off", day=day), field=f"{wd}_start"
        )
    times = []
    for part in ("start", "end"):
        try:
            times.append(time.fromisoformat(str(entry.get(part))))
        except ValueError:
            raise ValidationError(M_("%(day)s: times are HH:MM", day=day), field=f"{wd}_{part}") from None
    start, end = times
    if start == end:
        raise ValidationError(M_("%(day)s: the shift ends when it starts", day=day), field=f"{wd}_end")
    length = (datetime.combine(date.min, end) - datetime.combine(date.min, start)).total_seconds() / 60
    length = length if length > 0 else length + 24 * 60
    brk = entry.get("break_min", 0) or 0
    if not isinstance(brk, int) or isinstance(brk, bool) or not 0 <= brk < length:
        raise ValidationError(
            M_("%(day)s: the break is whole minutes, shorter than the shift", day=day), field=f"{wd}_break"
        )
    return {"start": start.strftime("%H:%M"), "end": end.strftime("%H:%M"), "break_min": brk}


def _minutes(value, what: str, hi: int, field: str | None = None) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= hi:
        raise ValidationError(
            M_("%(field)s is a whole number from 0 to %(max)s", field=what, max=hi), field=field
        )
    return value


# Schedules ---------------------------------------------------------------------------------------
def create_schedule(
    ctx: Context,
    *,
    name: str,
    timezone: str,
    week: list,
    grace_late_min: int = 0,
    grace_early_min: int = 0,
    half_day_below_pct: int = 75,
    absent_below_pct: int = 25,
    actor: Actor = SYSTEM,
) -> Schedule:
    """A new schedule (ConflictError when the name is taken)."""
    actor.require("attendance:write")
    name = clean_text(name, "the name", NAME_MAX, field="name")
    try:
        zone_of(timezone)
    except ValidationError as exc:
        exc.field = "timezone"
        raise
    half = _minutes(half_day_below_pct, "the half-day threshold (%)", 100, "half_day_below_pct")
    absent = _minutes(absent_below_pct, "the absent threshold (%)", 100, "absent_below_pct")
    if absent > half:
        raise ValidationError(
            M_("the absent threshold must not be above the half-day threshold"), field="absent_below_pct"
        )
    if repo.schedules.schedule_by_name(ctx.db, name):
        raise ConflictError(M_("a schedule named %(name)s exists", name=repr(name)), field="name")
    row = repo.schedules.add(
        ctx.db,
        Schedule(
            name=name,
            timezone=timezone,
            week=_check_week(week),
            grace_late_min=_minutes(
                grace_late_min, "the late grace (minutes)", MAX_GRACE_MIN, "grace_late_min"
            ),
            grace_early_min=_minutes(
                grace_early_min, "the early-leave grace (minutes)", MAX_GRACE_MIN, "grace_early_min"
            ),
            half_day_below_pct=half,
            absent_below_pct=absent,
        ),
    )
    audit.record(ctx, actor, "schedule.create", f"schedule:{row.id}", {"name": name, "timezone": timezone})
    ctx.commit()
    return row


def list_schedules(ctx: Context) -> list[Schedule]:
    return repo.schedules.schedules(ctx.db)


def delete_schedule(ctx: Context, schedule_id: int, *, actor: Actor = SYSTEM) -> None:
    """Delete a schedule and its assignments (the days it covered become unscheduled)."""
    actor.require("attendance:write")
    row = _get(ctx, Schedule, schedule_id, "schedule")
    audit.record(ctx, actor, "schedule.delete", f"schedule:{row.id}", {"name": row.name})
    repo.schedules.remove(ctx.db, row)
    ctx.commit()


# What a missing row's error says, per kind (one message each, so that every language can say it).
NOT_FOUND = {
    "assignment": lambda i: M_("no assignment with id %(id)s", id=i),
    "group": lambda i: M_("no group with id %(id)s", id=i),
    "holiday": lambda i: M_("no holiday with id %(id)s", id=i),
    "person": lambda i: M_("no person with id %(id)s", id=i),
    "schedule": lambda i: M_("no schedule with id %(id)s", id=i),
}


def _get(ctx: Context, model, row_id, what: str):
    row = repo.schedules.get(ctx.db, model, row_id) if valid_id(row_id) else None
    if row is None:
        raise NotFoundError(NOT_FOUND[what](row_id))
    return row


# Groups and assignments --------------------------------------------------------------------------
def create_group(ctx: Context, name: str, *, actor: Actor = SYSTEM) -> WorkGroup:
    actor.require("attendance:write")
    name = clean_text(name, "the group name", NAME_MAX, field="name")
    if repo.schedules.group_by_name(ctx.db, name):
        raise ConflictError(M_("a group named %(name)s exists", name=repr(name)), field="name")
    row = repo.schedules.add(ctx.db, WorkGroup(name=name))
    audit.record(ctx, actor, "group.create", f"group:{row.id}", {"name": name})
    ctx.commit()
    return row


def list_groups(ctx: Context) -> list[WorkGroup]:
    return repo.schedules.groups(ctx.db)


def group_members(ctx: Context) -> dict[int, list[int]]:
    """group id -> person ids."""
    out: dict[int, list[int]] = {}
    for gid, pid in repo.schedules.members(ctx.db):
        out.setdefault(gid, []).append(pid)
    return out


def add_member(ctx: Context, group_id: int, person_id: int, *, actor: Actor = SYSTEM) -> None:
    actor.require("attendance:write")
    group = _get(ctx, WorkGroup, group_id, "group")
    try:
        person = _get(ctx, Person, person_id, "person")
    except NotFoundError as exc:
        exc.field = "person"  # the form's person choice
        raise
    if repo.schedules.is_member(ctx.db, group.id, person.id):
        raise ConflictError(
            M_("%(name)s is already in %(group)s", name=person.full_name, group=group.name), field="person"
        )
    repo.schedules.add(ctx.db, WorkGroupMember(group_id=group.id, person_id=person.id))
    audit.record(ctx, actor, "group.add_member", f"group:{group.id}", {"person": person.id})
    ctx.commit()


def remove_member(ctx: Context, group_id: int, person_id: int, *, actor: Actor = SYSTEM) -> None:
    actor.require("attendance:write")
    group = _get(ctx, WorkGroup, group_id, "group")
    if not valid_id(person_id) or not repo.schedules.remove_member(ctx.db, group.id, person_id):
        raise NotFoundError(M_("person %(id)s is not in %(group)s", id=person_id, group=group.name))
    audit.record(ctx, actor, "group.remove_member", f"group:{group.id}", {"person": person_id})
    ctx.commit()


def assign(
    ctx: Context,
    schedule_id: int,
    *,
    valid_from: date,
    person_id: int | None = None,
    group_id: int | None = None,
    actor: Actor = SYSTEM,
) -> ScheduleAssignment:
    """From valid_from on, the schedule applies to the person or to the group (exactly one)."""
    actor.require("attendance:write")
    schedule = _get(ctx, Schedule, schedule_id, "schedule")
    if (person_id is None) == (group_id is None):
        raise ValidationError(M_("assign the schedule to one person or one group"))
    if not isinstance(valid_from, date):
        raise ValidationError(M_("give the first day (YYYY-MM-DD)"))
    if person_id is not None:
        _get(ctx, Person, person_id, "person")
    else:
        _get(ctx, WorkGroup, group_id, "group")
    row = repo.schedules.add(
        ctx.db,
        ScheduleAssignment(
            schedule_id=schedule.id, person_id=person_id, group_id=group_id, valid_from=valid_from
        ),
    )
    target = f"person:{person_id}" if person_id is not None else f"group:{group_id}"
    audit.record(
        ctx, actor, "schedule.assign", target, {"schedule": schedule.id, "from": valid_from.isoformat()}
    )
    ctx.commit()
    return row


def list_assignments(ctx: Context) -> list[ScheduleAssignment]:
    return repo.schedules.assignments(ctx.db)


def delete_assignment(ctx: Context, assignment_id: int, *, actor: Actor = SYSTEM) -> None:
    actor.require("attendance:write")
    row = _get(ctx, ScheduleAssignment, assignment_id, "assignment")
    audit.record(ctx, actor, "schedule.unassign", f"schedule:{row.schedule_id}", {"assignment": row.id})
    repo.schedules.remove(ctx.db, row)
    ctx.commit()


# Holidays ----------------------------------------------------------------------------------------
def add_holiday(ctx: Context, day: date, name: str, *, actor: Actor = SYSTEM) -> Holiday:
    actor.require("attendance:write")
    if not isinstance(day, date):
        raise ValidationError(M_("give the day (YYYY-MM-DD)"), field="day")
    name = clean_text(name, "the holiday's name", 120, field="name")
    if repo.schedules.holiday_on(ctx.db, day):
        raise ConflictError(M_("%(day)s is already a holiday", day=day), field="day")
    row = repo.schedules.add(ctx.db, Holiday(day=day, name=name))
    audit.record(ctx, actor, "holiday.add", f"holiday:{row.id}", {"day": day.isoformat(), "name": name})
    ctx.commit()
    return row


def list_holidays(ctx: Context, date_from: date | None = None, date_to: date | None = None) -> list[Holiday]:
    return repo.schedules.holidays(ctx.db, date_from, date_to)


def delete_holiday(ctx: Context, holiday_id: int, *, actor: Actor = SYSTEM) -> None:
    actor.require("attendance:write")
    row = _get(ctx, Holiday, holiday_id, "holiday")
    audit.record(ctx, actor, "holiday.delete", f"holiday:{row.id}", {"day": row.day.isoformat()})
    repo.schedules.remove(ctx.db, row)
    ctx.commit()


# Resolving ---------------------------------------------------------------------------------------
class ScheduleBook:
    """Every schedule, assignment, group membership and holiday, read once, to answer per person and
    day without further queries (a month report for everyone is one pass)."""

    def __init__(self, ctx: Context):
        self.site_zone = ctx.tz
        self.schedules = {s.id: s for s in repo.schedules.schedules(ctx.db)}
        self.groups_of: dict[int, set[int]] = {}
        for gid, pid in repo.schedules.members(ctx.db):
            self.groups_of.setdefault(pid, set()).add(gid)
        self.by_person: dict[int, list[ScheduleAssignment]] = {}
        self.by_group: dict[int, list[ScheduleAssignment]] = {}
        for a in repo.schedules.assignments(ctx.db):  # oldest first
            if a.person_id is not None:
                self.by_person.setdefault(a.person_id, []).append(a)
            else:
                self.by_group.setdefault(a.group_id, []).append(a)
        self.holidays = {h.day: h.name for h in repo.schedules.holidays(ctx.db)}
        self._zones: dict[str, ZoneInfo] = {}
        self._resolved: dict[tuple, Schedule | None] = {}
        self._shifts: dict[tuple, Shift | None] = {}

    @staticmethod
    def _latest(rows: list[ScheduleAssignment], day: date) -> ScheduleAssignment | None:
        best = None
        for a in rows:
            if a.valid_from <= day and (best is None or (a.valid_from, a.id) >= (best.valid_from, best.id)):
                best = a
        return best

    def schedule_for(self, person_id: int, day: date) -> Schedule | None:
        """The person's schedule on that day (memoised per set of assignments that could apply)."""
        key = (
            tuple(a.id for a in self.by_person.get(person_id, ())),
            tuple(sorted(self.groups_of.get(person_id, ()))),
            day,
        )
        if key not in self._resolved:
            self._resolved[key] = self._resolve(person_id, day)
        return self._resolved[key]

    def shift(self, schedule: Schedule, day: date) -> Shift | None:
        """shift_on, memoised per schedule and day."""
        key = (schedule.id, day)
        if key not in self._shifts:
            self._shifts[key] = shift_on(schedule, day)
        return self._shifts[key]

    def _resolve(self, person_id: int, day: date) -> Schedule | None:
        own = self._latest(self.by_person.get(person_id, []), day)
        if own is not None:
            return self.schedules.get(own.schedule_id)
        candidates = [
            self._latest(self.by_group.get(g, []), day) for g in sorted(self.groups_of.get(person_id, ()))
        ]
        candidates = [c for c in candidates if c is not None]
        if not candidates:
            return None
        best = max(candidates, key=lambda a: (a.valid_from, a.id))
        return self.schedules.get(best.schedule_id)

    def zone_for(self, person_id: int, day: date) -> ZoneInfo:
        """The time zone of the person's work days: their schedule's, else the site's."""
        schedule = self.schedule_for(person_id, day)
        if schedule is None:
            return self.site_zone
        if schedule.timezone not in self._zones:
            self._zones[schedule.timezone] = zone_of(schedule.timezone)
        return self._zones[schedule.timezone]

    def work_day(self, person_id: int, moment: datetime) -> date:
        """The local day of a moment in the person's zone (their schedule on the site-local day)."""
        site_day = moment.astimezone(self.site_zone).date()
        return moment.astimezone(self.zone_for(person_id, site_day)).date()
