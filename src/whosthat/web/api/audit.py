"""The audit log (audit:read scope), newest first."""

from __future__ import annotations

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
    target: str | None
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
    action: str | None = Query(None, max_length=64),
) -> AuditPage:
    result = list_entries(ctx, page=page, size=size, action=action, actor=actor)
    return AuditPage.of(result, AuditEntryOut.of)
