"""Schedules (weekly pattern, time zone, grace, breaks, half-day/absent thresholds), work groups and
their members, assignments to a person or a group from a date, and the public holidays list."""

from __future__ import annotations

from datetime import date, datetime

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from whosthat.services import schedules
from whosthat.services.common import MAX_ID
from whosthat.web.api import PREFIX
from whosthat.web.deps import AttendanceRead, AttendanceWrite, Ctx, RowId

router = APIRouter(prefix=PREFIX, tags=["schedules"])


class ShiftIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: str = Field(max_length=8)  # HH:MM
    end: str = Field(max_length=8)  # HH:MM, at or before start: the next day
    break_min: int = Field(default=0, ge=0, le=24 * 60)


class ScheduleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=80)
    timezone: str = Field(max_length=64)
    week: list[ShiftIn | None] = Field(min_length=7, max_length=7)  # Monday first; null: a day off
    grace_late_min: int = Field(default=0, ge=0, le=schedules.MAX_GRACE_MIN)
    grace_early_min: int = Field(default=0, ge=0, le=schedules.MAX_GRACE_MIN)
    half_day_below_pct: int = Field(default=75, ge=0, le=100)
    absent_below_pct: int = Field(default=25, ge=0, le=100)


class ScheduleOut(BaseModel):
    id: int
    name: str
    timezone: str
    week: list[dict | None]
    grace_late_min: int
    grace_early_min: int
    half_day_below_pct: int
    absent_below_pct: int

    @classmethod
    def of(cls, s) -> ScheduleOut:
        return cls(**{k: getattr(s, k) for k in cls.model_fields})


class GroupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=80)


class GroupOut(BaseModel):
    id: int
    name: str
    members: list[int]


class MemberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    person_id: int = Field(ge=1, le=MAX_ID)


class AssignmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    valid_from: date
    person_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    group_id: int | None = Field(default=None, ge=1, le=MAX_ID)


class AssignmentOut(BaseModel):
    id: int
    schedule_id: int
    person_id: int | None
    group_id: int | None
    valid_from: date
    created_at: datetime

    @classmethod
    def of(cls, a) -> AssignmentOut:
        return cls(**{k: getattr(a, k) for k in cls.model_fields})


class HolidayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    day: date
    name: str = Field(min_length=1, max_length=120)


class HolidayOut(BaseModel):
    id: int
    day: date
    name: str


@router.get("/schedules", response_model=list[ScheduleOut], summary="Schedules")
def list_schedules(ctx: Ctx, actor: AttendanceRead) -> list[ScheduleOut]:
    return [ScheduleOut.of(s) for s in schedules.list_schedules(ctx)]


@router.post("/schedules", status_code=201, response_model=ScheduleOut, summary="Create a schedule")
def create_schedule(body: ScheduleIn, ctx: Ctx, actor: AttendanceWrite) -> ScheduleOut:
    fields = body.model_dump()
    return ScheduleOut.of(schedules.create_schedule(ctx, **fields, actor=actor))


@router.delete("/schedules/{schedule_id}", status_code=204, summary="Delete a schedule and its assignments")
def delete_schedule(schedule_id: RowId, ctx: Ctx, actor: AttendanceWrite) -> Response:
    schedules.delete_schedule(ctx, schedule_id, actor=actor)
    return Response(status_code=204)


@router.get("/schedules/assignments", response_model=list[AssignmentOut], summary="Every assignment")
def list_assignments(ctx: Ctx, actor: AttendanceRead) -> list[AssignmentOut]:
    return [AssignmentOut.of(a) for a in schedules.list_assignments(ctx)]


@router.post(
    "/schedules/{schedule_id}/assignments",
    status_code=201,
    response_model=AssignmentOut,
    summary="Apply the schedule to a person or a group from a day on",
)
def assign(schedule_id: RowId, body: AssignmentIn, ctx: Ctx, actor: AttendanceWrite) -> AssignmentOut:
    row = schedules.assign(
        ctx,
        schedule_id,
        valid_from=body.valid_from,
        person_id=body.person_id,
        group_id=body.group_id,
        actor=actor,
    )
    return AssignmentOut.of(row)


@router.delete("/schedules/assignments/{assignment_id}", status_code=204, summary="Remove an assignment")
def unassign(assignment_id: RowId, ctx: Ctx, actor: AttendanceWrite) -> Response:
    schedules.delete_assignment(ctx, assignment_id, actor=actor)
    return Response(status_code=204)


@router.get("/groups", response_model=list[GroupOut], summary="Work groups with their members")
def list_groups(ctx: Ctx, actor: AttendanceRead) -> list[GroupOut]:
    members = schedules.group_members(ctx)
    return [
        GroupOut(id=g.id, name=g.name, members=sorted(members.get(g.id, [])))
        for g in schedules.list_groups(ctx)
    ]


@router.post("/groups", status_code=201, response_model=GroupOut, summary="Create a work group")
def create_group(body: GroupIn, ctx: Ctx, actor: AttendanceWrite) -> GroupOut:
    g = schedules.create_group(ctx, body.name, actor=actor)
    return GroupOut(id=g.id, name=g.name, members=[])


@router.post("/groups/{group_id}/members", status_code=204, summary="Add a person to a group")
def add_member(group_id: RowId, body: MemberIn, ctx: Ctx, actor: AttendanceWrite) -> Response:
    schedules.add_member(ctx, group_id, body.person_id, actor=actor)
    return Response(status_code=204)


@router.delete("/groups/{group_id}/members/{person_id}", status_code=204, summary="Remove a person")
def remove_member(group_id: RowId, person_id: RowId, ctx: Ctx, actor: AttendanceWrite) -> Response:
    schedules.remove_member(ctx, group_id, person_id, actor=actor)
    return Response(status_code=204)


@router.get("/holidays", response_model=list[HolidayOut], summary="Public holidays")
def list_holidays(ctx: Ctx, actor: AttendanceRead) -> list[HolidayOut]:
    return [HolidayOut(id=h.id, day=h.day, name=h.name) for h in schedules.list_holidays(ctx)]


@router.post("/holidays", status_code=201, response_model=HolidayOut, summary="Add a public holiday")
def add_holiday(body: HolidayIn, ctx: Ctx, actor: AttendanceWrite) -> HolidayOut:
    h = schedules.add_holiday(ctx, body.day, body.name, actor=actor)
    return HolidayOut(id=h.id, day=h.day, name=h.name)


@router.delete("/holidays/{holiday_id}", status_code=204, summary="Delete a public holiday")
def delete_holiday(holiday_id: RowId, ctx: Ctx, actor: AttendanceWrite) -> Response:
    schedules.delete_holiday(ctx, holiday_id, actor=actor)
    return Response(status_code=204)
