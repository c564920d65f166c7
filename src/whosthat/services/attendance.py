"""Attendance: clocking in and out, and what is computed from the events.

Rules (each lives here only):
- A person's events alternate: the next event is "out" when their last one is an "in" less than
  MAX_SHIFT (16 h) ago, else "in". An interval belongs to the local day it started on (a night shift
  across midnight counts on the day it began). Days are local days in the site's time zone
  (settings.timezone).
- Only events in effect count: one that a correction edited or voided is kept but left out (see
  services/corrections.py); a day that was corrected lists its corrections with their reasons.
- Worked time is the sum of in -> out intervals. An "in" with no "out" within MAX_SHIFT is flagged
  (missing clock-out), never guessed, and that open interval is not counted; an "out" without a
  preceding "in" is flagged as unmatched and not counted either.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from whosthat.gallery.threshold import is_weak_match
from whosthat.i18n import M_
from whosthat.services import audit, corrections, people
from whosthat.services.common import SYSTEM, Actor, Context, Page, check_paging, valid_id
from whosthat.services.errors import NotFoundError, ValidationError
from whosthat.store import repositories as repo
from whosthat.store.models import AttendanceCorrection, AttendanceEvent, Person, utcnow

MAX_EVENTS_PAGE = 1000  # events per page of the event listing
DEFAULT_DAYS = 7  # the admin page shows the last week unless asked for another range
OVERVIEW_EVENTS = 500
OVERVIEW_PEOPLE = 200
RECENT_EVENTS = 20  # on the employee's own page
MAX_SHIFT = timedelta(hours=16)  # an "in" pairs with an "out" at most this much later (nights included)


@dataclass(frozen=True)
class Interval:
    """From an "in" to the next "out"; end is None when there is no clock-out (yet)."""

    start: datetime
    end: datetime | None


@dataclass
class DayReport:
    """A person's attendance on one local day: events in time order, in -> out intervals, worked time.

    missing_clock_out: the day ends with an "in" that has no "out" (flagged, never guessed; that open
    interval is not counted). unmatched_out: an "out" without a preceding "in" (not counted either).
    """

    person: Person
    day: date
    events: list[AttendanceEvent]
    intervals: list[Interval]
    unmatched_out: bool
    corrections: list[AttendanceCorrection] = field(default_factory=list)  # oldest first
    still_in: bool = False  # the open interval started less than MAX_SHIFT ago: not missing (yet)

    @property
    def corrected(self) -> bool:
        return bool(self.corrections)

    @property
    def worked_seconds(self) -> float:
        return sum((i.end - i.start).total_seconds() for i in self.intervals if i.end is not None)

    @property
    def worked_hours(self) -> float:
        return round(self.worked_seconds / 3600.0, 2)

    @property
    def missing_clock_out(self) -> bool:
        return bool(self.intervals) and self.intervals[-1].end is None

    @property
    def first_in(self) -> datetime | None:
        return self.intervals[0].start if self.intervals else None

    @property
    def last_out(self) -> datetime | None:
        return next((i.end for i in reversed(self.intervals) if i.end is not None), None)


@dataclass
class WeekSummary:
    """The employee page: this ISO week's days (Monday first), the total worked, the latest events."""

    today: date
    start: date
    days: list[DayReport]
    recent: list[AttendanceEvent]  # newest first
    open_since: datetime | None = None  # clocked in and not yet out (today)
    running_seconds: float = 0.0  # of the open shift, until now (not in the day reports' worked time)

    @property
    def total_seconds(self) -> float:
        """Worked this week: the closed intervals plus the open shift's running time (only this week's
        part of a shift that began last week)."""
        return sum(d.worked_seconds for d in self.days) + self.running_seconds

    @property
    def total_hours(self) -> float:
        return round(self.total_seconds / 3600.0, 2)


@dataclass
class Overview:
    """The admin attendance page: a range of local days, optionally one person, with the day reports,
    the events (newest first) and the people to choose from."""

    date_from: date
    date_to: date
    today: date
    person: Person | None
    days: list[DayReport]
    events: list[AttendanceEvent]
    people: list[Person]


# Local days --------------------------------------------------------------------------------------
def local_day(ctx: Context, at: datetime) -> date:
    """The site-local calendar day of a moment."""
    return at.astimezone(ctx.tz).date()


def _day_bounds(ctx: Context, day: date) -> tuple[datetime, datetime]:
    """[start, end) of a local day, in UTC."""
    start = datetime(day.year, day.month, day.day, tzinfo=ctx.tz)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


def _bound(ctx: Context, day: date | None, end: bool) -> datetime | None:
    """The UTC start (or end) of a local day; None (open) when absent or at the calendar's edge, where
    the moment cannot be represented (e.g. the end of 9999-12-31): nothing is recorded there anyway."""
    if day is None:
        return None
    try:
        return _day_bounds(ctx, day)[1 if end else 0]
    except (OverflowError, ValueError):
        return None


def day_range(
    ctx: Context, date_from: date | None, date_to: date | None
) -> tuple[datetime | None, datetime | None]:
    """UTC bounds of local days date_from..date_to inclusive (None: open); ValidationError when reversed."""
    if date_from and date_to and date_from > date_to:
        raise ValidationError(M_("'from' is after 'to'"))
    return _bound(ctx, date_from, False), _bound(ctx, date_to, True)


# Clocking ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Clocking:
    """What one clocking did. recorded: a new event was added (`event`, with `.person` set). Not
    recorded: the person's last event in effect (`event`) is less than the repeat window old
    (settings.clock_repeat_s), so nothing changed; the login that asked still goes ahead."""

    event: AttendanceEvent
    recorded: bool
    window_s: float = 0.0


def clock_or_repeat(
    ctx: Context,
    person_id: int,
    *,
    kiosk: str | None = None,
    match_distance: float | None = None,
    match_margin: float | None = None,
    liveness: dict | None = None,
    source: str = "kiosk",
    at: datetime | None = None,
    actor: Actor = SYSTEM,
) -> Clocking:
    """Record the person's next event: "out" if their last event in effect is an "in" less than
    MAX_SHIFT ago (across midnight too: a night shift), else "in". Inactive people cannot clock.

    The repeat window: when that last event is less than settings.clock_repeat_s old (0: no window),
    from any kiosk or source (face, PIN, API; corrections by an administrator do not clock and are not
    limited), nothing is recorded: someone who clocked in at one kiosk and walks past a second one is
    not clocked out. The repeat is audited (`attendance.repeat`) and the returned Clocking says so.

    The decision is serialised per person: the person's row is locked (repo.people.lock) before the
    last event is read, and the event's time is taken after the lock, so parallel requests for one
    person alternate (or, inside the window, record one event) instead of all seeing the same last one.
    """
    if at is not None and at.tzinfo is None:
        raise ValidationError(M_("the event time needs a time zone"))
    person = repo.people.lock(ctx.db, person_id) if valid_id(person_id) else None
    if person is None:
        ctx.db.rollback()
        raise NotFoundError(M_("no person with id %(id)s", id=person_id))
    if not person.active:
        ctx.db.rollback()
        raise ValidationError(M_("%(name)s is not active", name=person.full_name))
    at = at or utcnow()
    last = repo.attendance.last_event(ctx.db, person.id, since=at - MAX_SHIFT, before=at)
    window_s = float(ctx.runtime.settings.clock_repeat_s)
    if last is not None and window_s > 0 and (at - last.at).total_seconds() < window_s:
        audit.record(
            ctx,
            actor,
            "attendance.repeat",
            f"person:{person.id}",
            {
                "kiosk": kiosk,
                "source": source,
                "last_event": last.id,
                "last_kind": last.kind,
                "last_at": last.at.isoformat(),
                "last_kiosk": last.kiosk,
                "last_source": last.source,
                "window_s": window_s,
            },
        )
        ctx.commit()
        last.person = person
        return Clocking(last, recorded=False, window_s=window_s)
    kind = "out" if last is not None and last.kind == "in" else "in"
    event = repo.attendance.add(
        ctx.db,
        person_id=person.id,
        kind=kind,
        at=at,
        match_distance=match_distance,
        match_margin=match_margin,
        liveness_passed=None if liveness is None else bool(liveness.get("passed")),
        liveness=liveness,
        kiosk=(kiosk or None) and kiosk[:64],
        source=source,
    )
    audit.record(ctx, actor, f"attendance.{kind}", f"person:{person.id}", {"kiosk": kiosk, "source": source})
    ctx.commit()
    event.person = person
    return Clocking(event, recorded=True, window_s=window_s)


def clock(ctx: Context, person_id: int, **kwargs) -> AttendanceEvent:
    """clock_or_repeat(...).event: the new event, or inside the repeat window the person's unchanged
    last one. Callers that must tell the two apart (the kiosk, the PIN login, the API) use
    clock_or_repeat."""
    return clock_or_repeat(ctx, person_id, **kwargs).event


# Reading -----------------------------------------------------------------------------------------
def weak_match_rule(ctx: Context):
    """event -> True when its face match held only just (gallery.threshold.is_weak_match at the
    configured embedder's threshold and margin): the attendance page and API flag it for review."""
    threshold, margin = ctx.runtime.operating_point()

    def weak(event: AttendanceEvent) -> bool:
        return is_weak_match(event.match_distance, event.match_margin, threshold, margin)

    return weak


def list_events(
    ctx: Context,
    *,
    person_id: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    page: int = 1,
    size: int = 100,
) -> Page:
    """Events (with .person loaded), newest first, between local days date_from..date_to inclusive."""
    page, size = check_paging(page, size, max_size=MAX_EVENTS_PAGE)
    since, until = day_range(ctx, date_from, date_to)
    if person_id is not None and not valid_id(person_id):
        return Page([], page, size, 0)
    rows, total = repo.attendance.page_newest_first(
        ctx.db, person_id=person_id, since=since, until=until, page=page, size=size
    )
    return Page(rows, page, size, total)


@dataclass
class Piece:
    """A stretch of one person's timeline: an "in" (plus any repeated "in"s) and its "out" (end), an
    "in" that never got one (end None: a missing clock-out), or an "out" without an "in"."""

    start: datetime
    end: datetime | None
    events: list[AttendanceEvent]
    unmatched_out: bool = False


def pair_timeline(events: list[AttendanceEvent]) -> list[Piece]:
    """One person's events (oldest first) as Pieces. An "in" pairs with the next "out" at most
    MAX_SHIFT later, across midnight (a night shift); a second "in" while one is open is part of that
    interval; an "in" with no "out" within MAX_SHIFT stays open (never guessed)."""
    pieces: list[Piece] = []
    current: Piece | None = None
    for ev in events:
        if current is not None and ev.at - current.start > MAX_SHIFT:
            pieces.append(current)
            current = None
        if ev.kind == "in":
            if current is None:
                current = Piece(ev.at, None, [ev])
            else:
                current.events.append(ev)
        elif current is not None:
            current.end = ev.at
            current.events.append(ev)
            pieces.append(current)
            current = None
        else:
            pieces.append(Piece(ev.at, None, [ev], unmatched_out=True))
    if current is not None:
        pieces.append(current)
    return pieces


def _widened(bound: datetime | None, by: timedelta) -> datetime | None:
    """A range bound moved by `by`; None (open) when absent or when that passes the calendar's edge."""
    try:
        return bound + by if bound else None
    except OverflowError:
        return None


def timelines(
    ctx: Context,
    *,
    person_id: int | None,
    since: datetime | None,
    until: datetime | None,
    light: bool = False,
) -> dict[int, tuple[Person | None, list[Piece]]]:
    """Each person's Pieces that start in [since, until) (None: open), events in effect only. Events up
    to MAX_SHIFT around the range are read too, so that a night across a bound pairs right."""
    lo, hi = _widened(since, -MAX_SHIFT), _widened(until, MAX_SHIFT)
    if light:  # plain rows (id, person_id, kind, at, source); the person is left to the caller (None)
        events = repo.attendance.timeline_rows(ctx.db, person_id=person_id, since=lo, until=hi)
    else:
        events = repo.attendance.oldest_first(ctx.db, person_id=person_id, since=lo, until=hi)
    per_person: dict[int, list[AttendanceEvent]] = {}
    owners: dict[int, Person | None] = {}
    for ev in events:
        per_person.setdefault(ev.person_id, []).append(ev)
        owners[ev.person_id] = None if light else ev.person
    out = {}
    for pid, evs in per_person.items():
        pieces = [
            p
            for p in pair_timeline(evs)
            if (since is None or p.start >= since) and (until is None or p.start < until)
        ]
        if pieces:
            out[pid] = (owners[pid], pieces)
    return out


def _day_report(
    person: Person,
    day: date,
    pieces: list[Piece],
    corrections: list | None = None,
    now: datetime | None = None,
) -> DayReport:
    """The day's Pieces as a DayReport; an open interval younger than MAX_SHIFT is "still in"."""
    intervals = [Interval(p.start, p.end) for p in pieces if not p.unmatched_out]
    events = [e for p in pieces for e in p.events]
    still_in = bool(
        now and intervals and intervals[-1].end is None and now - intervals[-1].start <= MAX_SHIFT
    )
    unmatched = any(p.unmatched_out for p in pieces)
    return DayReport(person, day, events, intervals, unmatched, corrections or [], still_in)


def _correction_day(ctx: Context, moment: datetime, pieces: list[Piece]) -> date:
    """The work day a corrected moment belongs to: that of the piece around it, else its local day."""
    for p in pieces:
        if p.start <= moment <= (p.end or p.start):
            return local_day(ctx, p.start)
    return local_day(ctx, moment)


def day_reports(
    ctx: Context, *, person_id: int | None = None, date_from: date | None = None, date_to: date | None = None
) -> list[DayReport]:
    """One DayReport per person and local day with events, sorted by day then surname. An interval
    belongs to the day it started on (a night shift counts on the day it began)."""
    since, until = day_range(ctx, date_from, date_to)
    if person_id is not None and not valid_id(person_id):
        return []
    groups: dict[tuple[int, date], list[Piece]] = {}
    owners: dict[int, Person] = {}
    all_pieces: dict[int, list[Piece]] = {}
    for pid, (person, pieces) in timelines(ctx, person_id=person_id, since=since, until=until).items():
        owners[pid] = person
        all_pieces[pid] = pieces
        for p in pieces:
            groups.setdefault((pid, local_day(ctx, p.start)), []).append(p)
    fixes: dict[tuple[int, date], list[AttendanceCorrection]] = {}
    for row in repo.corrections.in_range(ctx.db, person_id=person_id, since=since, until=until):
        owners.setdefault(row.person_id, row.person)
        pieces = all_pieces.get(row.person_id, [])
        touched = {_correction_day(ctx, e.at, pieces) for e in (row.event, row.replaces) if e is not None}
        for day in touched:
            if (date_from and day < date_from) or (date_to and day > date_to):
                continue
            fixes.setdefault((row.person_id, day), []).append(row)
            groups.setdefault((row.person_id, day), [])  # a day whose every event was voided still shows
    now = utcnow()
    reports = [
        _day_report(owners[pid], day, pieces, fixes.get((pid, day), []), now)
        for (pid, day), pieces in groups.items()
    ]
    reports.sort(key=lambda r: (r.day, r.person.surname.lower(), r.person.name.lower(), r.person.id))
    return reports


CSV_COLUMNS = [
    "date",
    "employee_code",
    "name",
    "surname",
    "first_in",
    "last_out",
    "worked_hours",
    "missing_clock_out",
    "unmatched_clock_out",
    "events",
    "corrections",
]


def _csv_safe(value) -> str:
    """Spreadsheet-formula injection guard for CSV cells."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_report(
    ctx: Context,
    *,
    person_id: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    actor: Actor = SYSTEM,
) -> str:
    """The day reports as CSV (header + one line per person and day; local times, hours as decimals).
    The `actor` needs attendance:read."""
    actor.require("attendance:read")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    fmt = "%H:%M:%S"
    for r in day_reports(ctx, person_id=person_id, date_from=date_from, date_to=date_to):
        writer.writerow(
            [
                r.day.isoformat(),
                _csv_safe(r.person.employee_code),
                _csv_safe(r.person.name),
                _csv_safe(r.person.surname),
                r.first_in.astimezone(ctx.tz).strftime(fmt) if r.first_in else "",
                r.last_out.astimezone(ctx.tz).strftime(fmt) if r.last_out else "",
                f"{r.worked_hours:.2f}",
                # "open": a shift still in progress (attendance.MAX_SHIFT); "yes" only once it is overdue.
                "open" if r.still_in else "yes" if r.missing_clock_out else "no",
                "yes" if r.unmatched_out else "no",
                " ".join(f"{e.kind}@{e.at.astimezone(ctx.tz).strftime(fmt)}" for e in r.events),
                _csv_safe("; ".join(corrections.describe(c, ctx.tz) for c in r.corrections)),
            ]
        )
    return out.getvalue()


def week_summary(ctx: Context, person_id: int, today: date | None = None) -> WeekSummary:
    """This ISO week (Monday..Sunday) of one person and their latest events, for the employee page."""
    person = people.get_person(ctx, person_id)
    today = today or local_day(ctx, utcnow())
    start = today - timedelta(days=today.weekday())
    days = day_reports(ctx, person_id=person.id, date_from=start, date_to=start + timedelta(days=6))
    open_since = None
    yesterday = day_reports(
        ctx, person_id=person.id, date_from=start - timedelta(days=1), date_to=start - timedelta(days=1)
    )
    for d in [*yesterday, *days]:
        if d.still_in:
            open_since = d.intervals[-1].start
    running = 0.0
    if open_since is not None:
        week_start = datetime(start.year, start.month, start.day, tzinfo=ctx.tz)
        running = max(0.0, (utcnow() - max(open_since, week_start)).total_seconds())
    recent = list_events(ctx, person_id=person.id, size=RECENT_EVENTS).items
    return WeekSummary(today, start, days, recent, open_since, running)


def overview(
    ctx: Context, *, person_id: int | None = None, date_from: date | None = None, date_to: date | None = None
) -> Overview:
    """The admin page's data: local days date_from..date_to (default: the DEFAULT_DAYS ending today;
    a reversed range is swapped), one person or everyone (NotFoundError for an unknown person)."""
    today = local_day(ctx, utcnow())
    date_to = date_to or today
    if date_from is None:  # the week ending date_to (not before the calendar's first day)
        date_from = date.fromordinal(max(1, date_to.toordinal() - (DEFAULT_DAYS - 1)))
    if date_from > date_to:
        date_from, date_to = date_to, date_from
    person = people.get_person(ctx, person_id) if person_id is not None else None
    return Overview(
        date_from=date_from,
        date_to=date_to,
        today=today,
        person=person,
        days=day_reports(ctx, person_id=person_id, date_from=date_from, date_to=date_to),
        events=list_events(
            ctx, person_id=person_id, date_from=date_from, date_to=date_to, size=OVERVIEW_EVENTS
        ).items,
        people=people.list_people(ctx, None, page=1, size=OVERVIEW_PEOPLE).items,
    )
