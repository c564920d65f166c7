"""Attendance corrections (add / edit / void with a reason, never rewriting an event) and the
employees' correction requests that an administrator approves or rejects."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from whosthat.services import attendance, corrections
from whosthat.services.common import MAX_ID, MAX_PAGE
from whosthat.services.corrections import REASON_MAX
from whosthat.web.api import PREFIX
from whosthat.web.api.attendance import Filter
from whosthat.web.api.listing import Paged
from whosthat.web.deps import AttendanceRead, AttendanceWrite, Ctx, RowId

router = APIRouter(prefix=PREFIX, tags=["attendance"])


class CorrectionIn(BaseModel):
    """add: person_id, kind, at. edit: event_id and a new kind and/or at. void: event_id. Always a reason."""

    model_config = ConfigDict(extra="forbid")
    action: Literal["add", "edit", "void"]
    reason: str = Field(min_length=1, max_length=REASON_MAX)
    person_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    event_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    kind: Literal["in", "out"] | None = None
    at: AwareDatetime | None = None


class CorrectedEventOut(BaseModel):
    id: int
    kind: str
    at: datetime
    source: str


class CorrectionOut(BaseModel):
    id: int
    person_id: int
    action: str
    reason: str
    by: str
    at: datetime
    event: CorrectedEventOut | None  # the event it created (add, edit)
    replaces: CorrectedEventOut | None  # the event it superseded or voided (edit, void)
    request_id: int | None
    summary: str

    @classmethod
    def of(cls, row, tz) -> CorrectionOut:
        def ev(e):
            return None if e is None else CorrectedEventOut(id=e.id, kind=e.kind, at=e.at, source=e.source)

        return cls(
            id=row.id,
            person_id=row.person_id,
            action=row.action,
            reason=row.reason,
            by=row.by,
            at=row.at,
            event=ev(row.event),
            replaces=ev(row.replaces),
            request_id=row.request_id,
            summary=corrections.describe(row, tz),
        )


class RequestOut(BaseModel):
    id: int
    person_id: int
    employee_code: str
    action: str
    event_id: int | None
    kind: str | None
    event_at: datetime | None
    reason: str
    status: str
    created_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    decision_note: str | None

    @classmethod
    def of(cls, r) -> RequestOut:
        return cls(
            id=r.id,
            person_id=r.person_id,
            employee_code=r.person.employee_code,
            action=r.action,
            event_id=r.event_id,
            kind=r.kind,
            event_at=r.event_at,
            reason=r.reason,
            status=r.status,
            created_at=r.created_at,
            decided_at=r.decided_at,
            decided_by=r.decided_by,
            decision_note=r.decision_note,
        )


class RequestsPage(Paged[RequestOut]):
    pass


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    approve: bool
    note: str | None = Field(default=None, max_length=REASON_MAX)


@router.post(
    "/attendance/corrections",
    status_code=201,
    response_model=CorrectionOut,
    summary="Correct attendance: add an event, edit one (a new event supersedes it) or void one",
)
def create_correction(body: CorrectionIn, ctx: Ctx, actor: AttendanceWrite) -> CorrectionOut:
    row = corrections.correct(ctx, actor=actor, **body.model_dump())
    return CorrectionOut.of(row, ctx.tz)


@router.get(
    "/attendance/corrections",
    response_model=list[CorrectionOut],
    summary="Corrections whose events lie in local days from..to, oldest first",
)
def list_corrections(ctx: Ctx, actor: AttendanceRead, where: Filter) -> list[CorrectionOut]:
    since, until = attendance.day_range(ctx, where.date_from, where.date_to)
    rows = corrections.corrections_in(ctx, since=since, until=until, person_id=where.person)
    return [CorrectionOut.of(r, ctx.tz) for r in rows]


@router.get("/attendance/requests", response_model=RequestsPage, summary="Employees' correction requests")
def list_requests(
    ctx: Ctx,
    actor: AttendanceRead,
    status: Literal["pending", "approved", "rejected", "all"] = "pending",
    person: int | None = Query(None, ge=1, le=MAX_ID),
    page: int = Query(1, ge=1, le=MAX_PAGE),
    size: int = Query(50, ge=1, le=200),
) -> RequestsPage:
    result = corrections.list_requests(
        ctx, status=None if status == "all" else status, person_id=person, page=page, size=size, actor=actor
    )
    return RequestsPage.of(result, RequestOut.of)


@router.post(
    "/attendance/requests/{request_id}/decision",
    response_model=RequestOut,
    summary="Approve (the correction is made) or reject (with a note) a pending request",
)
def decide_request(request_id: RowId, body: DecisionIn, ctx: Ctx, actor: AttendanceWrite) -> RequestOut:
    return RequestOut.of(
        corrections.decide_request(ctx, request_id, approve=body.approve, note=body.note, actor=actor)
    )
