"""Timesheets: every person's work days of a period with their schedule applied, and the daily,
weekly (ISO) and monthly totals per person and for everyone. Exports (services/exports.py) and the
admin timesheet page read this, so every number a payroll clerk sees comes from one place.

Rules (each lives here only):
- A work day is a local day in the person's zone (their schedule's, else the site's). An interval
  belongs to the day it began (attendance.pair_timeline: nights across midnight pair up).
- Worked time is the sum of the day's in -> out intervals; an unpaid break of the shift is deducted,
  less the time the person was clocked out between intervals that day (a clocked-out lunch is the
  break already).
- Scheduled time is the shift's real length (a night across a daylight-saving change is 7 or 9 h)
  less its break. Overtime is worked time past the scheduled time; on a day off or a public holiday
  all worked time is overtime.
- Late: the first "in" is more than the grace after the shift's start (late_s counts from the start).
  Early leave: the last "out" is more than the grace before its end.
- Status of a scheduled day that has ended: absent (worked below absent_below_pct of the scheduled
  time), half_day (below half_day_below_pct), else present. A day not over yet is "open"; a day off
  with no work is "off"; a holiday is "holiday". A missing clock-out is flagged, never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from whosthat.i18n import M_
from whosthat.services import attendance
from whosthat.services.attendance import Interval, Piece
from whosthat.services.common import Context, valid_id
from whosthat.services.errors import NotFoundError, ValidationError
from whosthat.services.schedules import ScheduleBook, Shift
from whosthat.store import repositories as repo
from whosthat.store.models import Person, Schedule, utcnow

MAX_PERIOD_DAYS = 366
FLAGS = ("missing_clock_out", "unmatched_out", "late", "early_leave", "overtime", "corrected")


@dataclass
class WorkDay:
    person: Person
    day: date
    schedule: Schedule | None
    shift: Shift | None
    holiday: str | None
    intervals: list[Interval]
    events: list
    missing_clock_out: bool
    unmatched_out: bool
    gross_s: float = 0.0
    break_s: float = 0.0  # deducted
    worked_s: float = 0.0
    expected_s: float = 0.0
    overtime_s: float = 0.0
    late_s: float = 0.0
    early_s: float = 0.0
    status: str = "off"
    corrections: list = field(default_factory=list)

    @property
    def flags(self) -> list[str]:
        out = []
        if self.missing_clock_out:
            out.append("missing_clock_out")
        if self.unmatched_out:
            out.append("unmatched_out")
        if self.late_s:
            out.append("late")
        if self.early_s:
            out.append("early_leave")
        if self.overtime_s:
            out.append("overtime")
        if self.corrections:
            out.append("corrected")
        return out

    @property
    def first_in(self) -> datetime | None:
        return self.intervals[0].start if self.intervals else None

    @property
    def last_out(self) -> datetime | None:
        return next((i.end for i in reversed(self.intervals) if i.end is not None), None)


@dataclass
class Totals:
    worked_s: float = 0.0
    expected_s: float = 0.0
    overtime_s: float = 0.0
    break_s: float = 0.0
    present: int = 0
    half_days: int = 0
    absent: int = 0
    late: int = 0
    early_leave: int = 0
    missing_clock_out: int = 0

    def add(self, d: WorkDay) -> None:
        self.worked_s += d.worked_s
        self.expected_s += d.expected_s
        self.overtime_s += d.overtime_s
        self.break_s += d.break_s
        self.present += d.status == "present"
        self.half_days += d.status == "half_day"
        self.absent += d.status == "absent"
        self.late += bool(d.late_s)
        self.early_leave += bool(d.early_s)
        self.missing_clock_out += d.missing_clock_out

    def merge(self, other: Totals) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class PersonSheet:
    person: Person
    days: list[WorkDay]
    total: Totals
    weeks: dict[str, Totals]  # "2026-W10"
    months: dict[str, Totals]  # "2026-03"


@dataclass
class Timesheet:
    date_from: date
    date_to: date
    people: list[PersonSheet]
    total: Totals  # everyone
    weeks: dict[str, Totals]
    months: dict[str, Totals]
    locked: bool = False  # the whole period is inside active locks


def today(ctx: Context) -> date:
    """Today in the site's time zone."""
    return utcnow().astimezone(ctx.tz).date()


def _week_key(d: date) -> str:
    year, week, _ = d.isocalendar()
    return f"{year}-W{week:02d}"


def _evaluate(day: WorkDay, now: datetime) -> None:
    """Fill the day's numbers and status from its intervals, shift and holiday (the module's rules)."""
    closed = [i for i in day.intervals if i.end is not None]
    day.gross_s = sum((i.end - i.start).total_seconds() for i in closed)
    shift = day.shift
    if shift is not None and shift.break_s and day.gross_s:
        gaps = sum((b.start - a.end).total_seconds() for a, b in zip(closed, closed[1:], strict=False))
        day.break_s = min(day.gross_s, max(0.0, shift.break_s - gaps))
    day.worked_s = day.gross_s - day.break_s
    if shift is None:
        day.overtime_s = day.worked_s
        day.status = "holiday" if day.holiday else ("present" if day.worked_s else "off")
        return
    day.expected_s = shift.expected_s
    day.overtime_s = max(0.0, day.worked_s - day.expected_s)
    schedule = day.schedule
    if day.intervals:
        first_in = day.intervals[0].start
        if first_in > shift.start + timedelta(minutes=schedule.grace_late_min):
            day.late_s = (first_in - shift.start).total_seconds()
        last_out = day.last_out
        if last_out is not None and last_out < shift.end - timedelta(minutes=schedule.grace_early_min):
            day.early_s = (shift.end - last_out).total_seconds()
    if now < shift.end:
        day.status = "open"
    elif day.worked_s < day.expected_s * schedule.absent_below_pct / 100:
        day.status = "absent"
    elif day.worked_s < day.expected_s * schedule.half_day_below_pct / 100:
        day.status = "half_day"
    else:
        day.status = "present"


def build(
    ctx: Context,
    date_from: date,
    date_to: date,
    *,
    person_id: int | None = None,
    now: datetime | None = None,
) -> Timesheet:
    """The timesheet of work days date_from..date_to (inclusive) for one person or everyone (active
    people, and anyone with attendance in the period), with totals."""
    if not isinstance(date_from, date) or not isinstance(date_to, date):
        raise ValidationError(M_("give the period's first and last day (YYYY-MM-DD)"))
    if date_from > date_to:
        raise ValidationError(M_("'from' is after 'to'"))
    if (date_to - date_from).days >= MAX_PERIOD_DAYS:
        raise ValidationError(M_("a timesheet covers at most %(num)s days", num=MAX_PERIOD_DAYS))
    if date_from.year < 2000 or date_to.year > 2100:
        raise ValidationError(M_("a timesheet covers days from 2000 to 2100"))
    now = now or utcnow()
    book = ScheduleBook(ctx)
    # Read a day more on each side: people's zones differ from the site's by less than a day.
    since = datetime.combine(date_from - timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    until = datetime.combine(date_to + timedelta(days=2), datetime.min.time(), tzinfo=UTC)
    if person_id is not None and not valid_id(person_id):
        return Timesheet(date_from, date_to, [], Totals(), {}, {})
    lines = attendance.timelines(ctx, person_id=person_id, since=since, until=until, light=True)
    if person_id is not None:
        person = repo.people.get(ctx.db, person_id)
        if person is None:
            raise NotFoundError(M_("no person with id %(id)s", id=person_id))
        persons = {person.id: person}
    else:
        persons = {p.id: p for p in repo.schedules.active_people(ctx.db)}
    for pid in lines:
        if pid not in persons:  # inactive now, but with attendance in the period
            persons[pid] = repo.people.get(ctx.db, pid)
    fixes: dict[tuple[int, date], list] = {}
    for row in repo.corrections.in_range(ctx.db, person_id=person_id, since=since, until=until):
        for e in (row.event, row.replaces):
            if e is not None:
                key = (row.person_id, book.work_day(row.person_id, e.at))
                if row not in fixes.setdefault(key, []):
                    fixes[key].append(row)

    ndays = (date_to - date_from).days + 1
    all_days = [date_from + timedelta(days=i) for i in range(ndays)]
    week_of = {d: _week_key(d) for d in all_days}
    month_of = {d: d.strftime("%Y-%m") for d in all_days}
    sheets = []
    total, weeks, months = Totals(), {}, {}
    for pid, person in sorted(
        persons.items(), key=lambda kv: (kv[1].surname.lower(), kv[1].name.lower(), kv[0])
    ):
        by_day: dict[date, list[Piece]] = {}
        for piece in lines.get(pid, (None, []))[1]:
            by_day.setdefault(book.work_day(pid, piece.start), []).append(piece)
        sheet = PersonSheet(person, [], Totals(), {}, {})
        for d in all_days:
            pieces = by_day.get(d, [])
            schedule = book.schedule_for(pid, d)
            holiday = book.holidays.get(d)
            shift = book.shift(schedule, d) if schedule is not None and holiday is None else None
            intervals = [Interval(p.start, p.end) for p in pieces if not p.unmatched_out]
            day = WorkDay(
                person=person,
                day=d,
                schedule=schedule,
                shift=shift,
                holiday=holiday,
                intervals=intervals,
                events=[e for p in pieces for e in p.events],
                missing_clock_out=bool(intervals) and intervals[-1].end is None,
                unmatched_out=any(p.unmatched_out for p in pieces),
                corrections=fixes.get((pid, d), []),
            )
            _evaluate(day, now)
            sheet.days.append(day)
            sheet.weeks.setdefault(week_of[d], Totals()).add(day)
            sheet.months.setdefault(month_of[d], Totals()).add(day)
        for t in sheet.weeks.values():
            sheet.total.merge(t)
        for key, t in sheet.weeks.items():
            weeks.setdefault(key, Totals()).merge(t)
        for key, t in sheet.months.items():
            months.setdefault(key, Totals()).merge(t)
        total.merge(sheet.total)
        sheets.append(sheet)
    locks = repo.schedules.active_locks_overlapping(ctx.db, date_from, date_to)
    locked = all(any(lk.date_from <= d <= lk.date_to for lk in locks) for d in all_days)
    return Timesheet(date_from, date_to, sheets, total, weeks, months, locked)
