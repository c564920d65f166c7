"""The audit log page, newest first."""

from __future__ import annotations

from fastapi import Request

from whosthat.services.audit import list_entries
from whosthat.services.common import MAX_PAGE
from whosthat.web.deps import Ctx, CurrentAdmin
from whosthat.web.pages.common import back_to, page_router, render

router = page_router()
AUDIT_PAGE_SIZE = 50


@router.get("/admin/audit")
@back_to("/admin/people")
def audit(request: Request, ctx: Ctx, admin: CurrentAdmin, page: int = 1):
    result = list_entries(ctx, page=min(max(1, page), MAX_PAGE), size=AUDIT_PAGE_SIZE, actor=admin)
    return render(
        request,
        "admin/audit.html",
        admin=admin,
        nav="audit",
        entries=result.items,
        page=result.page,
        pages=result.pages,
    )
