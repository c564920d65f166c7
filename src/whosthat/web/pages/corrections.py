"""Correcting attendance from the admin pages: an event's page (edit it or void it, with a reason, and
its trail), adding a missing event, and the queue of employees' correction requests."""

from __future__ import annotations

from fastapi import Request

from whosthat.i18n import M_
from whosthat.services import corrections, people
from whosthat.services.errors import ValidationError
from whosthat.web import deps
from whosthat.web.deps import Ctx, CurrentAdmin, RowId
from whosthat.web.language import localise, tr
from whosthat.web.pages.common import back_to, flash, page_router, redirect, render

router = page_router()
REQUESTS_PAGE_SIZE = 50


def _text(form, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _day_link(ctx, event) -> str:
    day = event.at.astimezone(ctx.tz).date().isoformat()
    return f"/admin/attendance?person={event.person_id}&from={day}&to={day}"


@router.get("/admin/attendance/events/{event_id}")
@back_to("/admin/attendance")
def event_page(request: Request, ctx: Ctx, admin: CurrentAdmin, event_id: RowId):
    event, replaced_by = corrections.get_event(ctx, event_id)
    local = event.at.astimezone(ctx.tz)
    return render(
        request,
        "admin/attendance_event.html",
        admin=admin,
        nav="attendance",
        event=event,
        replaced_by=replaced_by,
        replaced_text=corrections.describe(replaced_by, ctx.tz) if replaced_by else None,
        local_day=local.date().isoformat(),
        local_time=local.strftime("%H:%M"),
        day_url=_day_link(ctx, event),
        can_edit=admin.has("attendance:write"),
    )


@router.post("/admin/attendance/events/{event_id}/edit", dependencies=[deps.VerifyCsrf])
@back_to("/admin/attendance/events/{event_id}")
async def event_edit(request: Request, ctx: Ctx, admin: CurrentAdmin, event_id: RowId):
    form = await request.form()
    at = corrections.local_moment(ctx, _text(form, "day"), _text(form, "time"))
    row = corrections.edit_event(
        ctx, event_id, kind=_text(form, "kind") or None, at=at, reason=_text(form, "reason"), actor=admin
    )
    flash(
        request,
        "ok",
        tr(request, "Corrected: %(what)s.", what=localise(request, corrections.describe(row, ctx.tz))),
    )
    return redirect(_day_link(ctx, row.event))


@router.post("/admin/attendance/events/{event_id}/void", dependencies=[deps.VerifyCsrf])
@back_to("/admin/attendance/events/{event_id}")
async def event_void(request: Request, ctx: Ctx, admin: CurrentAdmin, event_id: RowId):
    form = await request.form()
    row = corrections.void_event(ctx, event_id, reason=_text(form, "reason"), actor=admin)
    flash(
        request,
        "ok",
        tr(request, "Corrected: %(what)s.", what=localise(request, corrections.describe(row, ctx.tz))),
    )
    return redirect(_day_link(ctx, row.replaces))


@router.post("/admin/attendance/add", dependencies=[deps.VerifyCsrf])
@back_to("/admin/attendance")
async def event_add(request: Request, ctx: Ctx, admin: CurrentAdmin):
    form = await request.form()
    person = _text(form, "person")
    at = corrections.local_moment(ctx, _text(form, "day"), _text(form, "time"))
    row = corrections.add_event(
        ctx,
        int(person) if person.isdigit() else 0,
        kind=_text(form, "kind"),
        at=at,
        reason=_text(form, "reason"),
        actor=admin,
    )
    flash(
        request,
        "ok",
        tr(request, "Corrected: %(what)s.", what=localise(request, corrections.describe(row, ctx.tz))),
    )
    return redirect(_day_link(ctx, row.event))


@router.get("/admin/attendance/requests")
@back_to("/admin/attendance")
def requests_page(request: Request, ctx: Ctx, admin: CurrentAdmin, status: str = "pending"):
    status = status if status in (*corrections.STATUSES, "all") else "pending"
    result = corrections.list_requests(
        ctx, status=None if status == "all" else status, size=REQUESTS_PAGE_SIZE, actor=admin
    )
    return render(
        request,
        "admin/attendance_requests.html",
        admin=admin,
        nav="attendance",
        requests=result.items,
        total=result.total,
        status=status,
        statuses=(*corrections.STATUSES, "all"),
        can_edit=admin.has("attendance:write"),
    )


@router.post("/admin/attendance/requests/{request_id}/decide", dependencies=[deps.VerifyCsrf])
@back_to("/admin/attendance/requests")
async def request_decide(request: Request, ctx: Ctx, admin: CurrentAdmin, request_id: RowId):
    form = await request.form()
    decision = _text(form, "decision")
    if decision not in ("approve", "reject"):
        raise ValidationError(M_("choose approve or reject"))
    req = corrections.decide_request(
        ctx, request_id, approve=decision == "approve", note=_text(form, "note") or None, actor=admin
    )
    name = people.get_person(ctx, req.person_id).full_name
    flash(
        request,
        "ok",
        tr(
            request,
            "Request %(id)s of %(name)s %(status)s.",
            id=req.id,
            name=name,
            status=localise(request, req.status),
        ),
    )
    return redirect("/admin/attendance/requests")
