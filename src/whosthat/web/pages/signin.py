"""The home page, first-run setup (create the first administrator from the printed one-time link),
administrator sign-in and sign-out."""

from __future__ import annotations

import math
import time

from fastapi import Request

from whosthat.errors import BadInputError
from whosthat.i18n import N_
from whosthat.services import access, drafts
from whosthat.services.credentials import MIN_PASSWORD_LENGTH
from whosthat.services.errors import InvalidSetupTokenError, LockedOutError
from whosthat.web import deps
from whosthat.web.deps import Ctx, OptionalAdmin
from whosthat.web.language import tr
from whosthat.web.pages.common import (
    FormState,
    discard_draft,
    draft_session,
    flash,
    form_message,
    form_state,
    page_router,
    redirect,
    render,
    send_back,
    send_back_draft,
)

router = page_router()
AFTER_SIGN_IN = "/admin/people"


def safe_next(value: str | None) -> str:
    """Only local paths are followed after sign-in (no open redirect)."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return AFTER_SIGN_IN


@router.get("/")
def home(request: Request, admin: OptionalAdmin):
    if admin:
        return redirect(AFTER_SIGN_IN)
    return render(request, "home.html")


# Both forms are sent back (post/redirect/get, pages/common.py): a refused one answers 303 to its GET
# page with a draft holding the user name (and the setup link's token), never a password.
LOGIN_FORM = "login"
SETUP_FORM = "setup"
SETUP_LABELS = {
    "username": N_("User name"),
    "password": N_("Password"),
    "password2": N_("Repeat the password"),
}


def _text(form, name: str, limit: int = 200) -> str:
    value = form.get(name)
    return value[:limit] if isinstance(value, str) else ""


def _setup_form(request: Request, status_code: int, **context):
    return render(request, "setup.html", status_code=status_code, min_password=MIN_PASSWORD_LENGTH, **context)


@router.get("/setup")
def setup_page(request: Request, ctx: Ctx, token: str = "", draft: str = ""):
    state = form_state(request, ctx, SETUP_FORM, draft)
    token = state.value("token") or token
    valid = access.setup_token_valid(ctx, token)
    if not valid:
        return _setup_form(request, 400, invalid=True, token="", state=FormState())
    return _setup_form(request, 200, invalid=False, token=token, state=state)


@router.post("/setup", dependencies=[deps.VerifyCsrf])
async def setup_submit(request: Request, ctx: Ctx):
    form = await request.form()
    discard_draft(request, ctx, SETUP_FORM, form.get("draft"))
    token, username = _text(form, "token"), _text(form, "username")
    try:
        admin = access.complete_setup(
            ctx,
            token,
            username,
            _text(form, "password", 4096),
            password_again=_text(form, "password2", 4096),
        )
    except InvalidSetupTokenError:
        return redirect("/setup")  # says the link is not valid
    except BadInputError as exc:
        ctx.db.rollback()
        values = {"token": token, "username": username}  # never the passwords
        return send_back(request, ctx, SETUP_FORM, "/setup", exc, SETUP_LABELS, values)
    drafts.end_session(ctx, draft_session(request))  # this browser's drafts from before the sign-in
    deps.login_admin(request, ctx, admin)
    flash(
        request,
        "ok",
        tr(
            request,
            "Administrator %(name)s created. Next: add the people who will use the kiosk.",
            name=admin.username,
        ),
    )
    return redirect(AFTER_SIGN_IN)


@router.get("/login")
def login_page(request: Request, ctx: Ctx, admin: OptionalAdmin, next: str = "", draft: str = ""):
    """The sign-in form; with ?draft= the form sent back: the user name kept, "wrong user name or
    password" beside the password (one message whether or not the account exists), or while the
    sign-in is locked out the time left (429 with Retry-After)."""
    if admin:
        return redirect(safe_next(next))
    state = form_state(request, ctx, LOGIN_FORM, draft)
    status_code, left = 200, 0
    until = state.data.get("locked_until")
    if isinstance(until, int | float):
        left = math.ceil(until - time.time())
        if left > 0:
            status_code = 429
            text = tr(request, "Too many failed sign-ins. Try again in %(seconds)s s.", seconds=left)
            state.summary = [form_message(None, text)]
    response = render(
        request,
        "login.html",
        status_code=status_code,
        nav="login",
        next=state.value("next") or next,
        state=state,
    )
    if status_code == 429:
        response.headers["Retry-After"] = str(left)
    return response


@router.post("/login", dependencies=[deps.VerifyCsrf])
async def login_submit(request: Request, ctx: Ctx):
    """A refused sign-in is sent back (303 to /login with a draft of the user name and the next
    page; the password is never kept); the lockout counts exactly as before (services/access.py)."""
    form = await request.form()
    discard_draft(request, ctx, LOGIN_FORM, form.get("draft"))
    username, next_page = _text(form, "username"), _text(form, "next", 500)
    try:
        admin = access.authenticate_admin(ctx, username, _text(form, "password", 4096))
    except LockedOutError as exc:
        ctx.db.rollback()
        data = {"values": {"username": username, "next": next_page}, "errors": []}
        data["locked_until"] = time.time() + exc.retry_after_s
        return send_back_draft(request, ctx, LOGIN_FORM, "/login", data)
    except BadInputError:
        ctx.db.rollback()
        message = form_message("password", tr(request, "Wrong user name or password."))
        data = {"values": {"username": username, "next": next_page}, "errors": [message]}
        return send_back_draft(request, ctx, LOGIN_FORM, "/login", data)
    drafts.end_session(ctx, draft_session(request))  # this browser's drafts from before the sign-in
    deps.login_admin(request, ctx, admin)
    return redirect(safe_next(next_page))


@router.post("/logout", dependencies=[deps.VerifyCsrf])
def logout(request: Request, ctx: Ctx, admin: OptionalAdmin):
    if admin:
        access.record_logout(ctx, admin)
    deps.logout(request, ctx)
    flash(request, "ok", tr(request, "You are signed out."))
    return redirect("/login")
