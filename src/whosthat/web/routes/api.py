"""The JSON API under /api/v1 (contract in DESIGN.md, guide in docs/api.md).

Every route authenticates with X-API-Key (scoped) or the admin session cookie (+ X-CSRF-Token on
unsafe methods), delegates to `Services`, and reports caller mistakes as 4xx `{"error", "detail"}`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from whosthat.errors import BadInputError
from whosthat.web.deps import Svc, login_admin, logout, require_scope
from whosthat.web.errors import PayloadTooLargeError
from whosthat.web.services import MAX_ID, SCOPES, Actor, Services

router = APIRouter(prefix="/api/v1", tags=["api"])

PeopleRead = Annotated[Actor, Depends(require_scope("people:read"))]
PeopleWrite = Annotated[Actor, Depends(require_scope("people:write"))]
Identify = Annotated[Actor, Depends(require_scope("identify"))]
AttendanceRead = Annotated[Actor, Depends(require_scope("attendance:read"))]
AttendanceWrite = Annotated[Actor, Depends(require_scope("attendance:write"))]
AuditRead = Annotated[Actor, Depends(require_scope("audit:read"))]
AdminScope = Annotated[Actor, Depends(require_scope("admin"))]
PersonId = Annotated[int, Path(ge=1, le=MAX_ID)]
TemplateId = Annotated[int, Path(ge=1, le=MAX_ID)]
KeyId = Annotated[int, Path(ge=1, le=MAX_ID)]
PersonFilter = Annotated[int | None, Query(ge=1, le=MAX_ID)]


# Schemas ---------------------------------------------------------------------------------------------
class PersonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    employee_code: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=120)
    surname: str = Field(min_length=1, max_length=120)
    active: bool = True


class PersonPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    employee_code: str | None = Field(default=None, min_length=1, max_length=64)
    name: str | None = Field(default=None, min_length=1, max_length=120)
    surname: str | None = Field(default=None, min_length=1, max_length=120)
    active: bool | None = None


class PersonOut(BaseModel):
    id: int
    employee_code: str
    name: str
    surname: str
    active: bool
    templates: int
    created_at: datetime
    updated_at: datetime


class PeoplePage(BaseModel):
    items: list[PersonOut]
    page: int
    size: int
    total: int
    pages: int


class TemplateOut(BaseModel):
    id: int
    person_id: int
    embedder: str
    dim: int
    quality: float
    source: str
    created_at: datetime
    has_chip: bool
    quality_detail: dict | None = None
    box: list[float] | None = None


class AttendanceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    person_id: int = Field(ge=1, le=2**31 - 1)
    kiosk: str | None = Field(default=None, max_length=64)


class EventOut(BaseModel):
    id: int
    person_id: int
    employee_code: str
    name: str
    surname: str
    kind: str
    at: datetime
    kiosk: str | None
    source: str
    distance: float | None
    liveness_passed: bool | None


class ApiKeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64)
    scopes: list[str] = Field(min_length=1, description=f"any of: {', '.join(SCOPES)}")


class ApiKeyOut(BaseModel):
    id: int
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    created_by: str | None
    last_used_at: datetime | None
    revoked_at: datetime | None


def person_out(p) -> PersonOut:
    return PersonOut(
        id=p.id,
        employee_code=p.employee_code,
        name=p.name,
        surname=p.surname,
        active=p.active,
        templates=getattr(p, "template_count", 0),
        created_at=p.created_at,
        updated_at=p.updated_at,
    )


def template_out(t) -> TemplateOut:
    return TemplateOut(
        id=t.id,
        person_id=t.person_id,
        embedder=t.embedder,
        dim=t.dim,
        quality=round(t.quality, 3),
        source=t.source,
        created_at=t.created_at,
        has_chip=t.chip is not None,
        quality_detail=getattr(t, "quality_detail", None),
        box=getattr(t, "box", None),
    )


def event_out(e) -> EventOut:
    return EventOut(
        id=e.id,
        person_id=e.person_id,
        employee_code=e.person.employee_code,
        name=e.person.name,
        surname=e.person.surname,
        kind=e.kind,
        at=e.at,
        kiosk=e.kiosk,
        source=e.source,
        distance=None if e.distance is None else round(e.distance, 4),
        liveness_passed=e.liveness_passed,
    )


def key_out(k) -> ApiKeyOut:
    return ApiKeyOut(
        id=k.id,
        name=k.name,
        prefix=k.prefix,
        scopes=k.scope_list,
        created_at=k.created_at,
        created_by=k.created_by,
        last_used_at=k.last_used_at,
        revoked_at=k.revoked_at,
    )


def read_upload(svc: Services, upload: UploadFile) -> bytes:
    """The uploaded file's bytes, refusing more than the configured limit without reading it all."""
    limit = svc.rt.settings.max_upload_bytes
    data = upload.file.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLargeError(f"image is over the upload limit of {limit} bytes")
    if not data:
        raise BadInputError("the uploaded file is empty")
    return data


ImageField = Annotated[UploadFile, File(description="an image file (JPEG, PNG, WebP, ...)")]


# People ------------------------------------------------------------------------------------------------
@router.post("/people", status_code=201, response_model=PersonOut, summary="Add a person")
def create_person(body: PersonIn, svc: Svc, actor: PeopleWrite) -> PersonOut:
    return person_out(svc.create_person(**body.model_dump(), actor=actor))


@router.get("/people", response_model=PeoplePage, summary="List people (search, pagination)")
def list_people(
    svc: Svc,
    actor: PeopleRead,
    q: str | None = Query(None, max_length=120),
    page: int = Query(1, ge=1),
    size: int = Query(20, ge=1, le=200),
    active: bool | None = None,
) -> PeoplePage:
    result = svc.list_people(q, page=page, size=size, active=active)
    return PeoplePage(
        items=[person_out(p) for p in result.items],
        page=result.page,
        size=result.size,
        total=result.total,
        pages=result.pages,
    )


@router.get("/people/{person_id}", response_model=PersonOut, summary="One person")
def get_person(person_id: PersonId, svc: Svc, actor: PeopleRead) -> PersonOut:
    return person_out(svc.get_person(person_id))


@router.patch("/people/{person_id}", response_model=PersonOut, summary="Edit a person")
def update_person(person_id: PersonId, body: PersonPatch, svc: Svc, actor: PeopleWrite) -> PersonOut:
    fields = body.model_dump(exclude_unset=True)
    if any(v is None for v in fields.values()):
        raise BadInputError("fields cannot be set to null")
    return person_out(svc.update_person(person_id, actor=actor, **fields))


@router.delete(
    "/people/{person_id}", status_code=204, summary="Delete a person, their templates and attendance"
)
def delete_person(person_id: PersonId, svc: Svc, actor: PeopleWrite) -> Response:
    svc.delete_person(person_id, actor=actor)
    return Response(status_code=204)


@router.get("/people/{person_id}/templates", response_model=list[TemplateOut], summary="A person's templates")
def list_templates(person_id: PersonId, svc: Svc, actor: PeopleRead) -> list[TemplateOut]:
    return [template_out(t) for t in svc.list_templates(person_id)]


@router.post(
    "/people/{person_id}/templates",
    status_code=201,
    response_model=TemplateOut,
    summary="Enrol a face template from an image (upload or captured frame)",
)
def enroll_template(
    person_id: PersonId,
    image: ImageField,
    svc: Svc,
    actor: PeopleWrite,
    source: Annotated[str, Form(max_length=32)] = "api",
) -> TemplateOut:
    if source not in ("api", "upload", "webcam"):
        raise BadInputError("source must be api, upload or webcam")
    data = read_upload(svc, image)
    return template_out(svc.enroll_template(person_id, data, source=source, actor=actor))


@router.delete("/people/{person_id}/templates/{template_id}", status_code=204, summary="Delete one template")
def delete_template(person_id: PersonId, template_id: TemplateId, svc: Svc, actor: PeopleWrite) -> Response:
    svc.delete_template(person_id, template_id, actor=actor)
    return Response(status_code=204)


@router.post("/quality", summary="Live enrollment feedback on one frame: one face, large, sharp, frontal")
def quality(image: ImageField, svc: Svc, actor: PeopleWrite) -> dict:
    """{"ok", "reasons", "box": [left, top, right, bottom] | null, "faces", "quality", "width", "height"}."""
    return svc.check_quality(read_upload(svc, image)).to_dict()


# Recognition --------------------------------------------------------------------------------------------
@router.post("/identify", summary="1:N identification of the one face in an image")
def identify(image: ImageField, svc: Svc, actor: Identify) -> dict:
    """{"match": {"person_id", "employee_code", "name", "surname", "distance"} | null, "threshold", "model",
    "face": {"box"}}. No liveness check: for integrations, not for logging people in."""
    return svc.identify(read_upload(svc, image)).to_dict()


@router.post("/verify", summary="1:1: is the face in the image this person?")
def verify(
    image: ImageField, person_id: Annotated[int, Form(ge=1, le=MAX_ID)], svc: Svc, actor: Identify
) -> dict:
    return svc.verify(person_id, read_upload(svc, image))


# Attendance ----------------------------------------------------------------------------------------------
@router.get("/attendance", summary="Attendance events, newest first")
def list_attendance(
    svc: Svc,
    actor: AttendanceRead,
    person: PersonFilter = None,
    date_from: date | None = Query(None, alias="from"),
    date_to: date | None = Query(None, alias="to"),
    page: int = Query(1, ge=1),
    size: int = Query(100, ge=1, le=1000),
) -> dict:
    result = svc.list_attendance(person_id=person, date_from=date_from, date_to=date_to, page=page, size=size)
    return {
        "items": [event_out(e).model_dump(mode="json") for e in result.items],
        "page": result.page,
        "size": result.size,
        "total": result.total,
        "pages": result.pages,
    }


@router.post("/attendance", status_code=201, summary="Record the next in/out event of a person (no face)")
def record_attendance(body: AttendanceIn, svc: Svc, actor: AttendanceWrite) -> dict:
    event = svc.clock(body.person_id, kiosk=body.kiosk, source="api", actor=actor)
    return event_out(event).model_dump(mode="json")


@router.get("/attendance/days", summary="Worked hours per person and day (missing clock-outs flagged)")
def attendance_days(
    svc: Svc,
    actor: AttendanceRead,
    person: PersonFilter = None,
    date_from: date | None = Query(None, alias="from"),
    date_to: date | None = Query(None, alias="to"),
) -> list[dict]:
    return [
        {
            "date": r.day.isoformat(),
            "person_id": r.person.id,
            "employee_code": r.person.employee_code,
            "name": r.person.name,
            "surname": r.person.surname,
            "worked_hours": r.worked_hours,
            "missing_clock_out": r.missing_clock_out,
            "unmatched_clock_out": r.unmatched_out,
            "first_in": r.first_in.isoformat() if r.first_in else None,
            "last_out": r.last_out.isoformat() if r.last_out else None,
            "events": [{"kind": e.kind, "at": e.at.isoformat()} for e in r.events],
        }
        for r in svc.attendance_days(person_id=person, date_from=date_from, date_to=date_to)
    ]


@router.get("/attendance/report.csv", summary="The day report as CSV", response_class=Response)
def attendance_csv(
    svc: Svc,
    actor: AttendanceRead,
    person: PersonFilter = None,
    date_from: date | None = Query(None, alias="from"),
    date_to: date | None = Query(None, alias="to"),
) -> Response:
    body = svc.attendance_csv(person_id=person, date_from=date_from, date_to=date_to)
    name = f"attendance-{date_from or 'all'}-{date_to or 'all'}.csv"
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# Administration ----------------------------------------------------------------------------------------------
@router.get("/apikeys", response_model=list[ApiKeyOut], summary="API keys (hashes are never shown)")
def list_keys(svc: Svc, actor: AdminScope) -> list[ApiKeyOut]:
    return [key_out(k) for k in svc.list_api_keys()]


@router.post("/apikeys", status_code=201, summary="Create an API key (the key is shown once)")
def create_key(body: ApiKeyIn, svc: Svc, actor: AdminScope) -> dict:
    row, key = svc.create_api_key(body.name, body.scopes, actor=actor)
    return {**key_out(row).model_dump(mode="json"), "key": key}


@router.delete("/apikeys/{key_id}", status_code=204, summary="Revoke an API key")
def revoke_key(key_id: KeyId, svc: Svc, actor: AdminScope) -> Response:
    svc.revoke_api_key(key_id, actor=actor)
    return Response(status_code=204)


@router.get("/audit", summary="Audit log, newest first")
def audit(
    svc: Svc,
    actor: AuditRead,
    page: int = Query(1, ge=1),
    size: int = Query(50, ge=1, le=200),
    action: str | None = Query(None, max_length=64),
) -> dict:
    result = svc.list_audit(page=page, size=size, action=action)
    return {
        "items": [
            {
                "id": a.id,
                "at": a.at.isoformat(),
                "actor": a.actor,
                "action": a.action,
                "target": a.target,
                "address": a.address,
                "detail": a.detail,
            }
            for a in result.items
        ],
        "page": result.page,
        "size": result.size,
        "total": result.total,
        "pages": result.pages,
    }


@router.get("/scopes", summary="The scopes an API key can carry")
def scopes() -> dict:
    return SCOPES


# Session login for browser scripts and tests (the HTML pages have their own form) -------------------------
class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


@router.post(
    "/auth/login", summary="Start an admin session (cookie); returns the CSRF token for unsafe calls"
)
def login(body: LoginIn, request: Request, svc: Svc) -> dict:
    admin = svc.authenticate_admin(body.username, body.password)
    login_admin(request, admin)
    return {"username": admin.username, "role": admin.role, "csrf_token": request.session["csrf"]}


@router.post("/auth/logout", status_code=204, summary="End the session")
def logout_route(request: Request) -> Response:
    logout(request)
    return Response(status_code=204)
