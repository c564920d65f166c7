"""The API keys page: list, create (the new key is shown once, on the answer to the form), revoke."""

from __future__ import annotations

from fastapi import Request

from whosthat.errors import BadInputError
from whosthat.services import access
from whosthat.services.common import SCOPES
from whosthat.web import deps
from whosthat.web.deps import Ctx, CurrentAdmin
from whosthat.web.language import localise, tr
from whosthat.web.pages.common import back_to, flash, on_error, page_router, redirect, render

router = page_router()
DEFAULT_KEY_SCOPES = ("people:read", "attendance:read")


def _keys_page(request: Request, ctx, admin, status_code: int = 200, new_key=None):
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
        default_scopes=DEFAULT_KEY_SCOPES,
        can_edit=admin.has("admin"),
    )


@router.get("/admin/apikeys")
def apikeys(request: Request, ctx: Ctx, admin: CurrentAdmin):
    return _keys_page(request, ctx, admin)


def _not_created(request: Request, exc: BadInputError):
    flash(
        request,
        "error",
        tr(
            request,
            "No key created: %(reason)s.",
            reason=localise(request, exc.args[0] if exc.args else str(exc)).rstrip("."),
        ),
    )
    return redirect("/admin/apikeys")


@router.post("/admin/apikeys", dependencies=[deps.VerifyCsrf])
@on_error(_not_created)
async def apikey_create(request: Request, ctx: Ctx, admin: CurrentAdmin):
    form = await request.form()
    row, key = access.create_api_key(
        ctx, str(form.get("name") or ""), [str(s) for s in form.getlist("scopes")], actor=admin
    )
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
