"""The audit log page, newest first, filtered by actor, action and local days (a GET form: the
filters are in the address, so a filtered view can be bookmarked and paging keeps them)."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from fastapi import Request

from whosthat.errors import BadInputError
from whosthat.i18n import M_
from whosthat.services.audit import action_words, list_entries
from whosthat.services.common import MAX_PAGE
from whosthat.web.deps import Ctx, CurrentAdmin
from whosthat.web.language import localise
from whosthat.web.pages.common import back_to, error_text, page_router, render

router = page_router()
AUDIT_PAGE_SIZE = 50


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        raise BadInputError(M_("%(value)s is not a date (YYYY-MM-DD)", value=repr(value))) from None


@router.get("/admin/audit")
@back_to("/admin/people")
def audit(
    request: Request,
    ctx: Ctx,
    admin: CurrentAdmin,
    page: int = 1,
    actor: str = "",
    action: str = "",
    date_from: str = "",
    date_to: str = "",
):
    filters = {"actor": actor, "action": action, "date_from": date_from, "date_to": date_to}
    error = None
    try:
        result = list_entries(
            ctx,
            page=min(max(1, page), MAX_PAGE),
            size=AUDIT_PAGE_SIZE,
            actor_label=actor,
            action=action,
            date_from=_day(date_from),
            date_to=_day(date_to),
            actor=admin,
        )
    except BadInputError as exc:  # a bad date: the form again with the reason beside the dates
        error = error_text(request, exc)
        result = list_entries(ctx, page=1, size=AUDIT_PAGE_SIZE, actor=admin)
    kept = urlencode({k: v for k, v in filters.items() if v})
    return render(
        request,
        "admin/audit.html",
        status_code=400 if error else 200,
        admin=admin,
        nav="audit",
        entries=result.items,
        # each action in words in the reader's language (the code stays beside it, for the filter)
        words={e.action: localise(request, action_words(e.action)) for e in result.items},
        page=result.page,
        pages=result.pages,
        filters=filters,
        filter_error=error,
        kept=("&" + kept) if kept else "",
    )
