"""Recognition: 1:N identify and 1:1 verify of the one face in an uploaded image. No liveness check:
for integrations, not for logging people in (the kiosk does that, see liveness.py)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form
from pydantic import BaseModel

from whosthat.services import recognition
from whosthat.services.common import MAX_ID
from whosthat.web.api import PREFIX
from whosthat.web.deps import Ctx, Identify, ImageBytes

router = APIRouter(prefix=PREFIX, tags=["recognition"])


class MatchOut(BaseModel):
    person_id: int
    employee_code: str
    name: str
    surname: str
    distance: float


class FaceOut(BaseModel):
    box: list[float]  # [left, top, right, bottom] pixels


class IdentifyOut(BaseModel):
    match: MatchOut | None
    # why match is null: "not_recognised" (nobody within the threshold) or "ambiguous" (two people
    # within the margin of each other); null when there is a match
    reason: Literal["not_recognised", "ambiguous"] | None
    threshold: float
    margin: float | None  # second-best person's distance minus the nearest's (null: one person enrolled)
    margin_required: float
    model: str
    face: FaceOut


class VerifyOut(BaseModel):
    person_id: int
    same: bool
    distance: float
    threshold: float
    model: str


@router.post(
    "/identify", response_model=IdentifyOut, summary="1:N identification of the one face in an image"
)
def identify(ctx: Ctx, actor: Identify, image: ImageBytes) -> IdentifyOut:
    """The enrolled person nearest to the face; match null (with the reason) when nobody is within the
    threshold, or when the second-best person is within the margin of the nearest (ambiguous)."""
    return IdentifyOut(**recognition.identify(ctx, image).to_dict())


@router.post("/verify", response_model=VerifyOut, summary="1:1: is the face in the image this person?")
def verify(
    ctx: Ctx, actor: Identify, image: ImageBytes, person_id: Annotated[int, Form(ge=1, le=MAX_ID)]
) -> VerifyOut:
    return VerifyOut(**recognition.verify(ctx, person_id, image).to_dict())
