"""Timesheets (work days with schedules applied, totals per person and for everyone) as JSON, CSV and
XLSX, and the locked periods that freeze exported days."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from whosthat.services import corrections, exports, periods, timesheets
from whosthat.services.common import MAX_ID
from whosthat.web.api import PREFIX
from whosthat.web.deps import AttendanceRead, AttendanceWrite, Ctx, RowId

router = APIRouter(prefix=PREFIX, tags=["timesheets"])
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass
class Period:
    """?from=&to= (required, YYYY-MM-DD, work days inclusive) and ?person= (one person; default all)."""

    date_from: Annotated[date, Query(alias="from")]
    date_to: Annotated[date, Query(alias="to")]
    person: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None


PeriodQuery = Annotated[Period, Depends()]


def _h(seconds: float) -> float:
    return round(seconds / 3600.0, 2)


class TotalsOut(BaseModel):
    worked_hours: float
    scheduled_hours: float
    overtime_hours: float
    break_hours: float
    present_days: int
    half_days: int
    absent_days: int
    late_days: int
    early_leave_days: int
    missing_clock_outs: int


class WorkDayOut(BaseModel):
    date: date
    schedule: str | None
    status: str  # present | half_day | absent | off | holiday | open
    holiday: str | None
    shift_start: datetime | None
    shift_end: datetime | None
    first_in: datetime | None
    last_out: datetime | None
    worked_hours: float
    scheduled_hours: float
    overtime_hours: float
    break_hours: float
    late_minutes: int
    early_leave_minutes: int
    flags: list[str]
    corrections: list[str]


class PersonSheetOut(BaseModel):
    person_id: int
    employee_code: str
    name: str
    surname: str
    total: TotalsOut
    weeks: dict[str, TotalsOut]
    months: dict[str, TotalsOut]
    days: list[WorkDayOut]


class TimesheetOut(BaseModel):
    date_from: date
    date_to: date
    locked: bool
    total: TotalsOut
    weeks: dict[str, TotalsOut]
    months: dict[str, TotalsOut]
    people: list[PersonSheetOut]


def download(body: bytes | str, media_type: str, period: Period, suffix: str) -> Response:
    name = f"timesheet-{period.date_from}-{period.date_to}{suffix}"
    return Response(
        body, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def _totals(t) -> dict:
    return {
        "worked_hours": _h(t.worked_s),
        "scheduled_hours": _h(t.expected_s),
        "overtime_hours": _h(t.overtime_s),
        "break_hours": _h(t.break_s),
        "present_days": t.present,
        "half_days": t.half_days,
        "absent_days": t.absent,
        "late_days": t.late,
        "early_leave_days": t.early_leave,
        "missing_clock_outs": t.missing_clock_out,
    }


def _day(d, tz) -> dict:
    return {
        "date": d.day.isoformat(),
        "schedule": d.schedule.name if d.schedule else None,
        "status": d.status,
        "holiday": d.holiday,
        "shift_start": _iso(d.shift.start) if d.shift else None,
        "shift_end": _iso(d.shift.end) if d.shift else None,
        "first_in": _iso(d.first_in),
        "last_out": _iso(d.last_out),
        "worked_hours": _h(d.worked_s),
        "scheduled_hours": _h(d.expected_s),
        "overtime_hours": _h(d.overtime_s),
        "break_hours": _h(d.break_s),
        "late_minutes": round(d.late_s / 60),
        "early_leave_minutes": round(d.early_s / 60),
        "flags": d.flags,
        "corrections": [corrections.describe(c, tz) for c in d.corrections],
    }


def timesheet_json(sheet, tz) -> dict:
    """The TimesheetOut document as plain data (a month for everyone is ~15,000 days: building it
    without a model object per day keeps the response well under the 2 s target)."""
    return {
        "date_from": sheet.date_from.isoformat(),
        "date_to": sheet.date_to.isoformat(),
        "locked": sheet.locked,
        "total": _totals(sheet.total),
        "weeks": {k: _totals(v) for k, v in sorted(sheet.weeks.items())},
        "months": {k: _totals(v) for k, v in sorted(sheet.months.items())},
        "people": [
            {
                "person_id": ps.person.id,
                "employee_code": ps.person.employee_code,
                "name": ps.person.name,
                "surname": ps.person.surname,
                "total": _totals(ps.total),
                "weeks": {k: _totals(v) for k, v in sorted(ps.weeks.items())},
                "months": {k: _totals(v) for k, v in sorted(ps.months.items())},
                "days": [_day(d, tz) for d in ps.days],
            }
            for ps in sheet.people
        ],
    }


@router.get("/timesheets", response_model=TimesheetOut, summary="The period's timesheet with totals (JSON)")
def timesheet(ctx: Ctx, actor: AttendanceRead, period: PeriodQuery) -> Response:
    sheet = timesheets.build(ctx, period.date_from, period.date_to, person_id=period.person)
    return JSONResponse(timesheet_json(sheet, ctx.tz))


@router.get("/timesheets/export.csv", summary="One table of the timesheet as CSV", response_class=Response)
def timesheet_csv(
    ctx: Ctx,
    actor: AttendanceRead,
    period: PeriodQuery,
    table: Literal["days", "totals", "weeks", "months"] = "days",
) -> Response:
    body = exports.timesheet_csv(
        ctx, period.date_from, period.date_to, person_id=period.person, table=table, actor=actor
    )
    return download(body, "text/csv; charset=utf-8", period, f"-{table}.csv")


@router.get("/timesheets/export.xlsx", summary="The timesheet as an XLSX workbook", response_class=Response)
def timesheet_xlsx(ctx: Ctx, actor: AttendanceRead, period: PeriodQuery) -> Response:
    body = exports.timesheet_xlsx(ctx, period.date_from, period.date_to, person_id=period.person, actor=actor)
    return download(body, XLSX_TYPE, period, ".xlsx")


class LockIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    date_from: date = Field(alias="from")
    date_to: date = Field(alias="to")
    note: str | None = Field(default=None, max_length=200)


class UnlockIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=500)


class LockOut(BaseModel):
    id: int
    date_from: date
    date_to: date
    note: str | None
    locked_at: datetime
    locked_by: str
    unlocked_at: datetime | None
    unlocked_by: str | None
    unlock_reason: str | None

    @classmethod
    def of(cls, row) -> LockOut:
        return cls(**{k: getattr(row, k) for k in cls.model_fields})


@router.get("/periods/locks", response_model=list[LockOut], summary="Locked periods, newest first")
def list_locks(ctx: Ctx, actor: AttendanceRead) -> list[LockOut]:
    return [LockOut.of(r) for r in periods.list_locks(ctx)]


@router.post("/periods/locks", status_code=201, response_model=LockOut, summary="Lock an ended period")
def lock(body: LockIn, ctx: Ctx, actor: AttendanceWrite) -> LockOut:
    return LockOut.of(periods.lock_period(ctx, body.date_from, body.date_to, note=body.note, actor=actor))


@router.post("/periods/locks/{lock_id}/unlock", response_model=LockOut, summary="Unlock with a reason")
def unlock(lock_id: RowId, body: UnlockIn, ctx: Ctx, actor: AttendanceWrite) -> LockOut:
    return LockOut.of(periods.unlock_period(ctx, lock_id, reason=body.reason, actor=actor))
