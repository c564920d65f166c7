"""Face templates: a person's templates, enrolment from an image, deletion, and the live quality check."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Response
from pydantic import BaseModel

from whosthat.errors import BadInputError
from whosthat.services import templates
from whosthat.web.api import PREFIX
from whosthat.web.deps import Ctx, ImageBytes, PeopleRead, PeopleWrite, RowId

router = APIRouter(prefix=PREFIX, tags=["templates"])
API_SOURCES = ("api", "upload", "webcam")  # what an API caller may say an image came from


class TemplateOut(BaseModel):
    id: int
    person_id: int
    embedder: str
    dim: int
    quality: float
    source: str
    created_at: datetime
    has_chip: bool
    #: how the embedder placed its input: "yunet", "chip-map" (from the kept chip), None (chip embedders)
    alignment: str | None = None
    quality_detail: dict | None = None
    box: list[float] | None = None

    @classmethod
    def of(cls, t) -> TemplateOut:
        return cls(
            id=t.id,
            person_id=t.person_id,
            embedder=t.embedder,
            dim=t.dim,
            quality=round(t.quality, 3),
            source=t.source,
            created_at=t.created_at,
            has_chip=t.chip is not None,
            alignment=t.alignment,
            quality_detail=getattr(t, "quality_detail", None),
            box=getattr(t, "box", None),
        )


class QualityProblem(BaseModel):
    """One reason as a code (face_too_small, too_blurry, not_frontal, tilted, too_dark, overexposed,
    no_face, multiple_faces), the values its text names, and the English text."""

    code: str
    values: dict[str, int | float | str]
    message: str


class QualityOut(BaseModel):
    """ok: exactly one face passes every enrolment rule; reasons: what is wrong, in English; problems:
    the same as codes with their values; box: [left, top, right, bottom] pixels or null."""

    ok: bool
    reasons: list[str]
    problems: list[QualityProblem]
    box: list[float] | None
    faces: int
    quality: dict | None
    width: int
    height: int


@router.get("/people/{person_id}/templates", response_model=list[TemplateOut], summary="A person's templates")
def list_templates(person_id: RowId, ctx: Ctx, actor: PeopleRead) -> list[TemplateOut]:
    return [TemplateOut.of(t) for t in templates.list_templates(ctx, person_id)]


@router.post(
    "/people/{person_id}/templates",
    status_code=201,
    response_model=TemplateOut,
    summary="Enrol a face template from an image (upload or captured frame)",
)
def enroll_template(
    person_id: RowId,
    ctx: Ctx,
    actor: PeopleWrite,
    image: ImageBytes,
    source: Annotated[
        Literal["api", "upload", "webcam"], Form(description="where the image came from")
    ] = "api",
    confirm_duplicate: Annotated[bool, Form()] = False,
    consent_version: Annotated[
        str | None,
        Form(
            max_length=32,
            description="the consent text (GET /consent/texts) the person agreed to; recorded with the "
            "template when no consent is in force",
        ),
    ] = None,
) -> TemplateOut:
    """The person's consent must be in force (POST /people/{id}/consent) or be sent as
    consent_version: else 422 `consent_required` (`field`: consent_version) and nothing is stored.
    409 `duplicate_face` (with `duplicate_of`: the other person) when the face already matches
    another enrolled person; send confirm_duplicate=true to enrol it anyway."""
    if source not in API_SOURCES:  # the form declares the same three (an enum in the API document)
        raise BadInputError("source must be api, upload or webcam")
    return TemplateOut.of(
        templates.enroll_template(
            ctx,
            person_id,
            image,
            source=source,
            actor=actor,
            confirm_duplicate=confirm_duplicate,
            consent_version=consent_version or None,
        )
    )


@router.delete("/people/{person_id}/templates/{template_id}", status_code=204, summary="Delete one template")
def delete_template(person_id: RowId, template_id: RowId, ctx: Ctx, actor: PeopleWrite) -> Response:
    templates.delete_template(ctx, person_id, template_id, actor=actor)
    return Response(status_code=204)


@router.post(
    "/quality",
    response_model=QualityOut,
    summary="Live enrollment feedback on one frame: one face, large, sharp, frontal",
)
def quality(ctx: Ctx, actor: PeopleWrite, image: ImageBytes) -> QualityOut:
    return QualityOut(**templates.check_quality(ctx, image).to_dict())
