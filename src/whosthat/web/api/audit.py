"""The audit log (audit:read scope), newest first."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Query
from pydantic import BaseModel

from whosthat.services.audit import list_entries
from whosthat.services.common import MAX_PAGE, MAX_PAGE_SIZE
from whosthat.web.api import PREFIX
from whosthat.web.api.listing import Paged
from whosthat.web.deps import AuditRead, Ctx

router = APIRouter(prefix=PREFIX, tags=["admin"])


class AuditEntryOut(BaseModel):
    id: int
    at: str  # ISO 8601 with offset
    actor: str  # "admin:alice", "apikey:3:payroll", "kiosk:lobby", ...
    action: str
    target: str | None  # "person:2", "kiosk:1", ...
    target_label: str | None  # the target's name at the time ("Ada Lovelace (E042)"; "E042 (deleted)")
    address: str | None
    detail: dict | None

    @classmethod
    def of(cls, a) -> AuditEntryOut:
        return cls(
            id=a.id,
            at=a.at.isoformat(),
            actor=a.actor,
            action=a.action,
            target=a.target,
            target_label=a.target_label,
            address=a.address,
            detail=a.detail,
        )


class AuditPage(Paged[AuditEntryOut]):
    pass


@router.get("/audit", response_model=AuditPage, summary="Audit log, newest first")
def audit(
    ctx: Ctx,
    actor: AuditRead,
    page: int = Query(1, ge=1, le=MAX_PAGE),
    size: int = Query(50, ge=1, le=MAX_PAGE_SIZE),
    action: str | None = Query(None, max_length=64, description="exact action code, e.g. person.create"),
    by: str | None = Query(
        None, alias="actor", max_length=80, description='actor label prefix, e.g. "admin:" or "kiosk:lobby"'
    ),
    target: str | None = Query(
        None, max_length=160, description='target code ("person:2") or a part of its name'
    ),
    date_from: date | None = Query(None, alias="from", description="first local day (YYYY-MM-DD)"),
    date_to: date | None = Query(None, alias="to", description="last local day, inclusive"),
) -> AuditPage:
    result = list_entries(
        ctx,
        page=page,
        size=size,
        action=action,
        actor_label=by,
        target=target,
        date_from=date_from,
        date_to=date_to,
        actor=actor,
    )
    return AuditPage.of(result, AuditEntryOut.of)
