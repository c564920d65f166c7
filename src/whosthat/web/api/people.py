"""People: add, list (search, pages), read, edit, delete."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from whosthat.errors import BadInputError
from whosthat.services import people
from whosthat.services.common import MAX_PAGE, MAX_PAGE_SIZE
from whosthat.services.people import CODE_MAX_LENGTH, MAX_QUERY, NAME_MAX_LENGTH
from whosthat.web.api import PREFIX
from whosthat.web.api.listing import Paged
from whosthat.web.deps import Ctx, PeopleRead, PeopleWrite, RowId

router = APIRouter(prefix=PREFIX, tags=["people"])


class PersonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    employee_code: str = Field(min_length=1, max_length=CODE_MAX_LENGTH)
    name: str = Field(min_length=1, max_length=NAME_MAX_LENGTH)
    surname: str = Field(min_length=1, max_length=NAME_MAX_LENGTH)
    active: bool = True


class PersonPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    employee_code: str | None = Field(default=None, min_length=1, max_length=CODE_MAX_LENGTH)
    name: str | None = Field(default=None, min_length=1, max_length=NAME_MAX_LENGTH)
    surname: str | None = Field(default=None, min_length=1, max_length=NAME_MAX_LENGTH)
    active: bool | None = None


class PersonOut(BaseModel):
    id: int
    employee_code: str
    name: str
    surname: str
    active: bool
    templates: int
    consent_in_force: bool = Field(
        description="false: no consent on record (or withdrawn): no new templates until it is recorded"
    )
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, p) -> PersonOut:
        return cls(
            id=p.id,
            employee_code=p.employee_code,
            name=p.name,
            surname=p.surname,
            active=p.active,
            templates=getattr(p, "template_count", 0),
            consent_in_force=getattr(p, "consent_in_force", False),
            created_at=p.created_at,
            updated_at=p.updated_at,
        )


class PeoplePage(Paged[PersonOut]):
    pass


@router.post("/people", status_code=201, response_model=PersonOut, summary="Add a person")
def create_person(body: PersonIn, ctx: Ctx, actor: PeopleWrite) -> PersonOut:
    return PersonOut.of(people.create_person(ctx, **body.model_dump(), actor=actor))


@router.get("/people", response_model=PeoplePage, summary="List people (search, pagination)")
def list_people(
    ctx: Ctx,
    actor: PeopleRead,
    q: str | None = Query(None, max_length=MAX_QUERY),
    page: int = Query(1, ge=1, le=MAX_PAGE),
    size: int = Query(20, ge=1, le=MAX_PAGE_SIZE),
    active: bool | None = None,
) -> PeoplePage:
    return PeoplePage.of(people.list_people(ctx, q, page=page, size=size, active=active), PersonOut.of)


@router.get("/people/{person_id}", response_model=PersonOut, summary="One person")
def get_person(person_id: RowId, ctx: Ctx, actor: PeopleRead) -> PersonOut:
    return PersonOut.of(people.get_person(ctx, person_id))


@router.patch("/people/{person_id}", response_model=PersonOut, summary="Edit a person")
def update_person(person_id: RowId, body: PersonPatch, ctx: Ctx, actor: PeopleWrite) -> PersonOut:
    fields = body.model_dump(exclude_unset=True)
    if any(v is None for v in fields.values()):
        raise BadInputError("fields cannot be set to null")
    return PersonOut.of(people.update_person(ctx, person_id, actor=actor, **fields))


@router.delete(
    "/people/{person_id}", status_code=204, summary="Delete a person, their templates and attendance"
)
def delete_person(person_id: RowId, ctx: Ctx, actor: PeopleWrite) -> Response:
    people.delete_person(ctx, person_id, actor=actor)
    return Response(status_code=204)
