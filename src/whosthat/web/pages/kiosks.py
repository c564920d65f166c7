"""The admin Kiosks page: register a kiosk (name, site, time zone) and see its one-time pairing code,
re-pair it (a new code; the old browser stops working) or revoke it, and each kiosk's last contact."""

from __future__ import annotations

from fastapi import Request

from whosthat import i18n
from whosthat.errors import BadInputError
from whosthat.i18n import N_
from whosthat.services import drafts, kiosks
from whosthat.services.common import Context
from whosthat.services.errors import AuthenticationError, PermissionDeniedError
from whosthat.web import deps
from whosthat.web.deps import Ctx, CurrentAdmin, RowId
from whosthat.web.language import tr
from whosthat.web.pages.common import (
    back_to,
    draft_session,
    flash,
    form_state,
    page_router,
    redirect,
    render,
    send_back,
)

router = page_router()
BACK = "/admin/kiosks"

# The Create kiosk form sent back with errors (post/redirect/get, pages/common.py): its draft and labels.
NEW_FORM = "kiosk-new"
KIOSK_FIELDS = ("name", "site", "timezone", "language")
LABELS = {  # each field's own label (as on the form), for its errors
    "name": N_("Kiosk name"),
    "site": N_("Site"),
    "timezone": N_("Time zone"),
    "language": N_("Language"),
}


def _text(form, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


# The one-time pairing code goes to the next page once. It is kept on the server in an encrypted draft
# bound to this browser session (services/drafts.py: AES-GCM, 30 minutes at most, deleted when shown or
# at sign-out); the session cookie (signed, not encrypted: anyone who sees it can read it) holds only the
# draft's random token, never the code, and no URL or log line has it either.
CODE_FORM = "kiosk-code"


def _code_shown(request: Request, ctx: Context, kiosk, code: str) -> None:
    token = drafts.save(ctx, draft_session(request), CODE_FORM, {"kiosk": [kiosk.id, kiosk.name, code]})
    request.session["kiosk_code"] = token


def _code_to_show(request: Request, ctx: Context) -> list | None:
    """[kiosk id, name, code] of the code just made, once (the draft is deleted here), or None."""
    token = request.session.pop("kiosk_code", None)
    if not isinstance(token, str):
        return None
    session = draft_session(request)
    draft = drafts.load(ctx, session, token, CODE_FORM)
    if draft is None:
        return None
    drafts.discard(ctx, session, token, CODE_FORM)
    shown = draft.data.get("kiosk")
    valid = isinstance(shown, list) and len(shown) == 3 and all(isinstance(x, str) for x in shown[1:])
    return shown if valid else None


@router.get("/admin/kiosks")
@back_to("/admin/people")
def kiosks_page(request: Request, ctx: Ctx, admin: CurrentAdmin, draft: str = ""):
    shown = _code_to_show(request, ctx)
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
        state=form_state(request, ctx, NEW_FORM, draft),
    )


@router.post("/admin/kiosks", dependencies=[deps.VerifyCsrf])
@back_to(BACK)
async def kiosk_create(request: Request, ctx: Ctx, admin: CurrentAdmin):
    form = await request.form()
    fields = {k: _text(form, k) for k in KIOSK_FIELDS}
    try:
        row, code = kiosks.create_kiosk(ctx, **fields, actor=admin)
    except BadInputError as exc:
        if isinstance(exc, PermissionDeniedError | AuthenticationError):
            raise  # not about the form: the error page
        ctx.db.rollback()
        # The form again (303 to its GET page): the error beside its field, what was typed kept.
        values = {k: v[:200] for k, v in fields.items()}
        return send_back(request, ctx, NEW_FORM, BACK, exc, LABELS, values)
    _code_shown(request, ctx, row, code)
    return redirect(BACK)


@router.post("/admin/kiosks/{kiosk_id}/pairing-code", dependencies=[deps.VerifyCsrf])
@back_to(BACK)
def kiosk_repair(request: Request, ctx: Ctx, admin: CurrentAdmin, kiosk_id: RowId):
    row, code = kiosks.new_pairing_code(ctx, kiosk_id, actor=admin)
    _code_shown(request, ctx, row, code)
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
