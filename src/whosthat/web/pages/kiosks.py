"""The admin Kiosks page: register a kiosk (name, site, time zone) and see its one-time pairing code,
re-pair it (a new code; the old browser stops working) or revoke it, and each kiosk's last contact."""

from __future__ import annotations

from fastapi import Request

from whosthat import i18n
from whosthat.services import kiosks
from whosthat.web import deps
from whosthat.web.deps import Ctx, CurrentAdmin, RowId
from whosthat.web.language import tr
from whosthat.web.pages.common import back_to, flash, page_router, redirect, render

router = page_router()
BACK = "/admin/kiosks"


def _text(form, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _code_shown(request: Request, kiosk, code: str) -> None:
    """The code goes to the next page once (in the signed session, never in a URL or the log)."""
    request.session["kiosk_code"] = [kiosk.id, kiosk.name, code]


@router.get("/admin/kiosks")
@back_to("/admin/people")
def kiosks_page(request: Request, ctx: Ctx, admin: CurrentAdmin):
    shown = request.session.pop("kiosk_code", None)
    return render(
        request,
        "admin/kiosks.html",
        admin=admin,
        nav="kiosks",
        kiosks=kiosks.list_kiosks(ctx),
        new_code=shown,
        ttl_min=int(kiosks.PAIRING_TTL.total_seconds() // 60),
        can_edit=admin.has("admin"),
        site_zone=str(ctx.tz),
    )


@router.post("/admin/kiosks", dependencies=[deps.VerifyCsrf])
@back_to(BACK)
async def kiosk_create(request: Request, ctx: Ctx, admin: CurrentAdmin):
    form = await request.form()
    row, code = kiosks.create_kiosk(
        ctx,
        name=_text(form, "name"),
        site=_text(form, "site"),
        timezone=_text(form, "timezone"),
        language=_text(form, "language"),
        actor=admin,
    )
    _code_shown(request, row, code)
    return redirect(BACK)


@router.post("/admin/kiosks/{kiosk_id}/pairing-code", dependencies=[deps.VerifyCsrf])
@back_to(BACK)
def kiosk_repair(request: Request, ctx: Ctx, admin: CurrentAdmin, kiosk_id: RowId):
    row, code = kiosks.new_pairing_code(ctx, kiosk_id, actor=admin)
    _code_shown(request, row, code)
    return redirect(BACK)


@router.post("/admin/kiosks/{kiosk_id}/language", dependencies=[deps.VerifyCsrf])
@back_to(BACK)
async def kiosk_language(request: Request, ctx: Ctx, admin: CurrentAdmin, kiosk_id: RowId):
    form = await request.form()
    row = kiosks.set_language(ctx, kiosk_id, _text(form, "language"), actor=admin)
    language = i18n.LANGUAGE_NAMES.get(row.language) if row.language else None
    if language:
        flash(
            request,
            "ok",
            tr(request, "Kiosk %(name)s now speaks %(language)s.", name=row.name, language=language),
        )
    else:
        flash(request, "ok", tr(request, "Kiosk %(name)s follows its browser's language.", name=row.name))
    return redirect(BACK)


@router.post("/admin/kiosks/{kiosk_id}/revoke", dependencies=[deps.VerifyCsrf])
@back_to(BACK)
def kiosk_revoke(request: Request, ctx: Ctx, admin: CurrentAdmin, kiosk_id: RowId):
    row = kiosks.revoke(ctx, kiosk_id, actor=admin)
    flash(
        request,
        "ok",
        tr(request, "Kiosk %(name)s revoked: its browser can no longer log anyone in.", name=row.name),
    )
    return redirect(BACK)
