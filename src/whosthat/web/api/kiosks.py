"""Paired kiosks (admin scope): register one and get its one-time pairing code, re-pair, revoke, list
with last contact. The kiosk's browser pairs itself on /kiosk (web/pages/kiosk.py)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from whosthat.services import kiosks
from whosthat.services.kiosk_login import KIOSK_NAME_MAX_LENGTH
from whosthat.web.api import PREFIX
from whosthat.web.deps import AdminScope, Ctx, RowId

router = APIRouter(prefix=PREFIX, tags=["kiosks"])


class KioskIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=KIOSK_NAME_MAX_LENGTH)
    site: str = Field(default="", max_length=120)
    timezone: str | None = Field(default=None, max_length=64)


class KioskOut(BaseModel):
    id: int
    name: str
    site: str
    timezone: str
    paired: bool
    paired_at: datetime | None
    revoked_at: datetime | None
    last_seen_at: datetime | None
    last_address: str | None

    @classmethod
    def of(cls, k) -> KioskOut:
        return cls(
            id=k.id,
            name=k.name,
            site=k.site,
            timezone=k.timezone,
            paired=k.device_token_hash is not None,
            paired_at=k.paired_at,
            revoked_at=k.revoked_at,
            last_seen_at=k.last_seen_at,
            last_address=k.last_address,
        )


class KioskWithCode(KioskOut):
    pairing_code: str  # shown once; enter it on the kiosk's /kiosk page
    pairing_expires_at: datetime


def _with_code(row, code: str) -> KioskWithCode:
    return KioskWithCode(
        **KioskOut.of(row).model_dump(), pairing_code=code, pairing_expires_at=row.pairing_expires_at
    )


@router.get("/kiosks", response_model=list[KioskOut], summary="Kiosks with their last contact")
def list_kiosks(ctx: Ctx, actor: AdminScope) -> list[KioskOut]:
    return [KioskOut.of(k) for k in kiosks.list_kiosks(ctx)]


@router.post("/kiosks", status_code=201, response_model=KioskWithCode, summary="Register a kiosk")
def create_kiosk(body: KioskIn, ctx: Ctx, actor: AdminScope) -> KioskWithCode:
    row, code = kiosks.create_kiosk(ctx, name=body.name, site=body.site, timezone=body.timezone, actor=actor)
    return _with_code(row, code)


@router.post("/kiosks/{kiosk_id}/pairing-code", response_model=KioskWithCode, summary="A new pairing code")
def new_code(kiosk_id: RowId, ctx: Ctx, actor: AdminScope) -> KioskWithCode:
    row, code = kiosks.new_pairing_code(ctx, kiosk_id, actor=actor)
    return _with_code(row, code)


@router.post("/kiosks/{kiosk_id}/revoke", response_model=KioskOut, summary="Revoke the kiosk's credential")
def revoke(kiosk_id: RowId, ctx: Ctx, actor: AdminScope) -> KioskOut:
    return KioskOut.of(kiosks.revoke(ctx, kiosk_id, actor=actor))
