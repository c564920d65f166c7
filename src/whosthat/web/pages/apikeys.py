"""The API keys page: list, create (the new key is shown once, on the answer to the form), revoke."""

from __future__ import annotations

from fastapi import Request

from whosthat.errors import BadInputError
from whosthat.i18n import N_
from whosthat.services import access
from whosthat.services.common import SCOPES
from whosthat.services.errors import AuthenticationError, PermissionDeniedError
from whosthat.web import deps
from whosthat.web.deps import Ctx, CurrentAdmin
from whosthat.web.language import tr
from whosthat.web.pages.common import (
    FormState,
    back_to,
    flash,
    form_state,
    page_router,
    redirect,
    render,
    send_back,
)

router = page_router()
DEFAULT_KEY_SCOPES = ("people:read", "attendance:read")

# The Create key form sent back with errors (post/redirect/get, pages/common.py): its draft and labels.
NEW_FORM = "apikey-new"
LABELS = {"name": N_("Name"), "scopes": N_("Scopes")}  # each field's own label, for its errors


def _keys_page(request: Request, ctx, admin, status_code: int = 200, new_key=None, state=None):
    state = state or FormState()
    # The ticked scopes: what was sent with a refused form (its draft), else the defaults.
    checked = state.value("scopes").split() if state.draft else list(DEFAULT_KEY_SCOPES)
    keys = [
        {
            "id": k.id,
            "name": k.name,
            "prefix": k.prefix,
            "scopes": k.scope_list,
            "created_at": k.created_at,
            "last_used_at": k.last_used_at,
            "revoked": k.revoked_at is not None,
        }
        for k in access.list_api_keys(ctx)
    ]
    return render(
        request,
        "admin/apikeys.html",
        status_code=status_code,
        admin=admin,
        nav="apikeys",
        keys=keys,
        new_key=new_key,
        all_scopes=list(SCOPES),
        checked_scopes=checked,
        state=state,
        can_edit=admin.has("admin"),
    )


@router.get("/admin/apikeys")
def apikeys(request: Request, ctx: Ctx, admin: CurrentAdmin, draft: str = ""):
    return _keys_page(request, ctx, admin, state=form_state(request, ctx, NEW_FORM, draft))


@router.post("/admin/apikeys", dependencies=[deps.VerifyCsrf])
@back_to("/admin/apikeys")
async def apikey_create(request: Request, ctx: Ctx, admin: CurrentAdmin):
    form = await request.form()
    name = str(form.get("name") or "")
    scopes = [str(s) for s in form.getlist("scopes")]
    try:
        row, key = access.create_api_key(ctx, name, scopes, actor=admin)
    except BadInputError as exc:
        if isinstance(exc, PermissionDeniedError | AuthenticationError):
            raise  # not about the form: the error page
        ctx.db.rollback()
        # The form again (303 to its GET page): the error beside its field, the name and scopes kept.
        values = {"name": name[:200], "scopes": " ".join(s for s in scopes if s in SCOPES)}
        return send_back(request, ctx, NEW_FORM, "/admin/apikeys", exc, LABELS, values)
    # Rendered directly (not redirected): the plaintext key must never be stored, not even in the session.
    response = _keys_page(request, ctx, admin, 201, new_key={"name": row.name, "key": key})
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/admin/apikeys/{key_id}/revoke", dependencies=[deps.VerifyCsrf])
@back_to("/admin/apikeys")
def apikey_revoke(request: Request, ctx: Ctx, admin: CurrentAdmin, key_id: int):
    row = access.revoke_api_key(ctx, key_id, actor=admin)
    flash(request, "ok", tr(request, "Key “%(name)s” revoked: it no longer works.", name=row.name))
    return redirect("/admin/apikeys")
