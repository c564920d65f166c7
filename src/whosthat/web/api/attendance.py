"""Attendance: events (read, record), worked hours per person and day, the CSV report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from whosthat.services import attendance, corrections
from whosthat.services.attendance import MAX_EVENTS_PAGE
from whosthat.services.common import MAX_ID, MAX_PAGE
from whosthat.services.kiosk_login import KIOSK_NAME_MAX_LENGTH
from whosthat.web.api import PREFIX
from whosthat.web.api.listing import Paged
from whosthat.web.deps import AttendanceRead, AttendanceWrite, Ctx

router = APIRouter(prefix=PREFIX, tags=["attendance"])


@dataclass
class EventFilter:
    """?person=&from=&to=: one person or everyone, local days from..to inclusive (YYYY-MM-DD)."""

    person: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None
    date_from: Annotated[date | None, Query(alias="from")] = None
    date_to: Annotated[date | None, Query(alias="to")] = None

    def service_args(self) -> dict:
        return {"person_id": self.person, "date_from": self.date_from, "date_to": self.date_to}


Filter = Annotated[EventFilter, Depends()]


class AttendanceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    person_id: int = Field(ge=1, le=MAX_ID)
    kiosk: str | None = Field(default=None, max_length=KIOSK_NAME_MAX_LENGTH)


class EventOut(BaseModel):
    id: int
    person_id: int
    employee_code: str
    name: str
    surname: str
    kind: str  # "in" | "out"
    at: datetime
    kiosk: str | None
    source: str
    distance: float | None  # to the person's closest template (kiosk events)
    margin: float | None  # how far the second-best person was behind (null: one person enrolled)
    weak_match: bool  # the match held only just: worth a look (gallery.threshold.is_weak_match)
    liveness_passed: bool | None

    @classmethod
    def of(cls, e, weak=None) -> EventOut:
        return cls(
            id=e.id,
            person_id=e.person_id,
            employee_code=e.person.employee_code,
            name=e.person.name,
            surname=e.person.surname,
            kind=e.kind,
            at=e.at,
            kiosk=e.kiosk,
            source=e.source,
            distance=None if e.match_distance is None else round(e.match_distance, 4),
            margin=None if e.match_margin is None else round(e.match_margin, 4),
            weak_match=bool(weak(e)) if weak is not None else False,
            liveness_passed=e.liveness_passed,
        )


class EventsPage(Paged[EventOut]):
    pass


class DayEventOut(BaseModel):
    kind: str
    at: str  # ISO 8601 with offset


class DayCorrectionOut(BaseModel):
    """A correction that touched the day: add | edit | void, the reason, who, and one line."""

    id: int
    action: str
    reason: str
    by: str
    summary: str


class DayOut(BaseModel):
    """One person's local day; times are ISO 8601 strings with their UTC offset."""

    date: str
    person_id: int
    employee_code: str
    name: str
    surname: str
    worked_hours: float
    missing_clock_out: bool
    unmatched_clock_out: bool
    first_in: str | None
    last_out: str | None
    events: list[DayEventOut]
    corrections: list[DayCorrectionOut] = []

    @classmethod
    def of(cls, r, tz=None) -> DayOut:
        return cls(
            date=r.day.isoformat(),
            person_id=r.person.id,
            employee_code=r.person.employee_code,
            name=r.person.name,
            surname=r.person.surname,
            worked_hours=r.worked_hours,
            missing_clock_out=r.missing_clock_out,
            unmatched_clock_out=r.unmatched_out,
            first_in=r.first_in.isoformat() if r.first_in else None,
            last_out=r.last_out.isoformat() if r.last_out else None,
            events=[DayEventOut(kind=e.kind, at=e.at.isoformat()) for e in r.events],
            corrections=[
                DayCorrectionOut(
                    id=c.id, action=c.action, reason=c.reason, by=c.by, summary=corrections.describe(c, tz)
                )
                for c in r.corrections
            ],
        )


def csv_response(body: str, date_from, date_to) -> Response:
    """The CSV report as a download named after its date range."""
    name = f"attendance-{date_from or 'all'}-{date_to or 'all'}.csv"
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/attendance", response_model=EventsPage, summary="Attendance events, newest first")
def list_attendance(
    ctx: Ctx,
    actor: AttendanceRead,
    where: Filter,
    page: int = Query(1, ge=1, le=MAX_PAGE),
    size: int = Query(100, ge=1, le=MAX_EVENTS_PAGE),
) -> EventsPage:
    result = attendance.list_events(ctx, **where.service_args(), page=page, size=size)
    weak = attendance.weak_match_rule(ctx)
    return EventsPage.of(result, lambda e: EventOut.of(e, weak))


class ClockOut(EventOut):
    """The event recorded (201, `recorded` true), or inside the repeat window (200, `recorded` false) the
    person's last event, unchanged: nothing was recorded."""

    recorded: bool
    repeat_window_s: float  # WHOSTHAT_CLOCK_REPEAT_S (0: no window)


@router.post(
    "/attendance",
    status_code=201,
    response_model=ClockOut,
    summary="Record the next in/out event of a person (no face)",
    responses={200: {"model": ClockOut, "description": "inside the repeat window: nothing recorded"}},
)
def record_attendance(body: AttendanceIn, ctx: Ctx, actor: AttendanceWrite, response: Response) -> ClockOut:
    """201 with the new event; 200 with `recorded` false and the person's last event when that event is
    less than WHOSTHAT_CLOCK_REPEAT_S old (from any kiosk or source): nothing was recorded."""
    done = attendance.clock_or_repeat(ctx, body.person_id, kiosk=body.kiosk, source="api", actor=actor)
    if not done.recorded:
        response.status_code = 200
    return ClockOut(
        **EventOut.of(done.event).model_dump(), recorded=done.recorded, repeat_window_s=done.window_s
    )


@router.get(
    "/attendance/days",
    response_model=list[DayOut],
    summary="Worked hours per person and day (missing clock-outs flagged)",
)
def attendance_days(ctx: Ctx, actor: AttendanceRead, where: Filter) -> list[DayOut]:
    reports = attendance.day_reports(ctx, **where.service_args())
    return [DayOut.of(r, ctx.tz) for r in reports]


@router.get("/attendance/report.csv", summary="The day report as CSV", response_class=Response)
def attendance_csv(ctx: Ctx, actor: AttendanceRead, where: Filter) -> Response:
    body = attendance.csv_report(ctx, **where.service_args(), actor=actor)
    return csv_response(body, where.date_from, where.date_to)
