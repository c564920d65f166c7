"""Consent to face login per person (record, read, withdraw: withdrawal deletes the person's face
templates and images at once)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from whosthat.services import consent
from whosthat.web.api import PREFIX
from whosthat.web.deps import Ctx, PeopleRead, PeopleWrite, RowId

router = APIRouter(prefix=PREFIX, tags=["people"])


class ConsentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text_version: str = Field(default=consent.CURRENT_VERSION, max_length=32)
    language: str | None = Field(
        default=None, max_length=8, description="the language the text was shown in: en, de, it or fr"
    )


class ConsentOut(BaseModel):
    id: int
    person_id: int
    text_version: str
    language: str | None = Field(description="the language the text was shown in; null: not recorded")
    given_at: datetime
    taken_by: str
    withdrawn_at: datetime | None
    withdrawn_by: str | None

    @classmethod
    def of(cls, r) -> ConsentOut:
        return cls(**{k: getattr(r, k) for k in cls.model_fields})


class WithdrawalOut(BaseModel):
    consent: ConsentOut | None
    templates_deleted: int
    images_deleted: int


class ConsentText(BaseModel):
    version: str
    text: str = Field(description="the text in English")
    texts: dict[str, str] = Field(description="the same text (one meaning) in each language: en, de, it, fr")


@router.get("/consent/texts", response_model=list[ConsentText], summary="The consent texts, by version")
def consent_texts(actor: PeopleRead) -> list[ConsentText]:
    return [ConsentText(version=v, text=t["en"], texts=t) for v, t in consent.CONSENT_TEXTS.items()]


@router.get(
    "/people/{person_id}/consent", response_model=list[ConsentOut], summary="A person's consent records"
)
def consent_history(person_id: RowId, ctx: Ctx, actor: PeopleRead) -> list[ConsentOut]:
    return [ConsentOut.of(r) for r in consent.history(ctx, person_id)]


@router.post(
    "/people/{person_id}/consent", status_code=201, response_model=ConsentOut, summary="Record consent"
)
def record(person_id: RowId, body: ConsentIn, ctx: Ctx, actor: PeopleWrite) -> ConsentOut:
    return ConsentOut.of(
        consent.record_consent(
            ctx, person_id, text_version=body.text_version, language=body.language, actor=actor
        )
    )


@router.post(
    "/people/{person_id}/consent/withdraw",
    response_model=WithdrawalOut,
    summary="Withdraw consent: the person's face templates and images are deleted now",
)
def withdraw(person_id: RowId, ctx: Ctx, actor: PeopleWrite) -> WithdrawalOut:
    done = consent.withdraw(ctx, person_id, actor=actor)
    return WithdrawalOut(
        consent=ConsentOut.of(done.record) if done.record else None,
        templates_deleted=done.templates_deleted,
        images_deleted=done.images_deleted,
    )
