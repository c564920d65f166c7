"""The review queue page: kiosk events with a weak match or a liveness warning, the attempt's face chip
beside the person's name, and confirm / void (with a note) buttons; the chip is gone after the decision."""

from __future__ import annotations

import io

from fastapi import Request
from fastapi.responses import Response

from whosthat.i18n import M_
from whosthat.services import reviews
from whosthat.services.errors import ValidationError
from whosthat.web import deps
from whosthat.web.deps import Ctx, CurrentAdmin, OptionalAdmin, RowId
from whosthat.web.language import localise, tr
from whosthat.web.pages.common import back_to, flash, on_error, page_router, redirect, render

router = page_router()
BACK = "/admin/attendance/review"


@router.get("/admin/attendance/review")
@back_to("/admin/attendance")
def review_page(request: Request, ctx: Ctx, admin: CurrentAdmin, status: str = "pending"):
    status = status if status in reviews.STATUSES else "pending"
    result = reviews.list_items(ctx, status=status, actor=admin)
    return render(
        request,
        "admin/review.html",
        admin=admin,
        nav="attendance",
        items=result.items,
        status=status,
        statuses=reviews.STATUSES,
        can_edit=admin.has("attendance:write"),
    )


@router.get("/admin/attendance/review/{item_id}/chip.png")
@on_error(lambda request, exc: Response(status_code=exc.http_status))
def review_chip(request: Request, ctx: Ctx, admin: OptionalAdmin, item_id: RowId):
    """The attempt's face chip (decrypted) while the item is pending: 401 without an admin, 404 after."""
    if admin is None:
        return Response(status_code=401)
    chip = reviews.chip(ctx, item_id, actor=admin)
    if chip is None:
        return Response(status_code=404)
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(chip).save(buf, "PNG")
    return Response(buf.getvalue(), media_type="image/png", headers={"Cache-Control": "no-store, private"})


@router.post("/admin/attendance/review/{item_id}/decide", dependencies=[deps.VerifyCsrf])
@back_to(BACK)
async def review_decide(request: Request, ctx: Ctx, admin: CurrentAdmin, item_id: RowId):
    form = await request.form()
    decision = form.get("decision")
    if decision not in ("confirm", "void"):
        raise ValidationError(M_("choose confirm or void"))
    note = form.get("note")
    row = reviews.decide(
        ctx, item_id, confirm=decision == "confirm", note=note if isinstance(note, str) else None, actor=admin
    )
    flash(
        request,
        "ok",
        tr(
            request,
            "Event %(id)s %(status)s; the face image of the attempt is deleted.",
            id=row.event_id,
            status=localise(request, row.status),
        ),
    )
    return redirect(BACK)
