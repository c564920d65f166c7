"""The home page, first-run setup (create the first administrator from the printed one-time link),
administrator sign-in and sign-out."""

from __future__ import annotations

from fastapi import Request

from whosthat.errors import BadInputError
from whosthat.services import access
from whosthat.services.credentials import MIN_PASSWORD_LENGTH
from whosthat.services.errors import InvalidSetupTokenError, LockedOutError
from whosthat.web import deps
from whosthat.web.deps import Ctx, OptionalAdmin
from whosthat.web.language import tr
from whosthat.web.pages.common import error_text, flash, on_error, page_router, redirect, render

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


def _setup_form(request: Request, status_code: int, **context):
    return render(request, "setup.html", status_code=status_code, min_password=MIN_PASSWORD_LENGTH, **context)


@router.get("/setup")
def setup_page(request: Request, ctx: Ctx, token: str = ""):
    valid = access.setup_token_valid(ctx, token)
    return _setup_form(request, 200 if valid else 400, invalid=not valid, token=token)


async def _setup_again(request: Request, exc: BadInputError):
    """An invalid link shows "not valid"; any other error the form again with the message."""
    if isinstance(exc, InvalidSetupTokenError):
        return _setup_form(request, 400, invalid=True, token="")
    form = await request.form()
    return _setup_form(
        request,
        exc.http_status,
        token=str(form.get("token") or ""),
        username=str(form.get("username") or ""),
        error=error_text(request, exc),
    )


@router.post("/setup", dependencies=[deps.VerifyCsrf])
@on_error(_setup_again)
async def setup_submit(request: Request, ctx: Ctx):
    form = await request.form()
    admin = access.complete_setup(
        ctx,
        str(form.get("token") or ""),
        str(form.get("username") or ""),
        str(form.get("password") or ""),
        password_again=str(form.get("password2") or ""),
    )
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
def login_page(request: Request, admin: OptionalAdmin, next: str = ""):
    if admin:
        return redirect(safe_next(next))
    return render(request, "login.html", nav="login", next=next)


async def _login_again(request: Request, exc: BadInputError):
    """The form again: "try again in N s" while locked out (429), else one message for every mismatch."""
    form = await request.form()
    again = {"nav": "login", "username": str(form.get("username") or ""), "next": str(form.get("next") or "")}
    if isinstance(exc, LockedOutError):
        error = tr(
            request, "Too many failed sign-ins. Try again in %(seconds)s s.", seconds=exc.retry_after_s
        )
        response = render(request, "login.html", status_code=429, error=error, **again)
        response.headers["Retry-After"] = str(exc.retry_after_s)
        return response
    return render(
        request, "login.html", status_code=401, error=tr(request, "Wrong user name or password."), **again
    )


@router.post("/login", dependencies=[deps.VerifyCsrf])
@on_error(_login_again)
async def login_submit(request: Request, ctx: Ctx):
    form = await request.form()
    admin = access.authenticate_admin(ctx, str(form.get("username") or ""), str(form.get("password") or ""))
    deps.login_admin(request, ctx, admin)
    return redirect(safe_next(str(form.get("next") or "")))


@router.post("/logout", dependencies=[deps.VerifyCsrf])
def logout(request: Request, ctx: Ctx, admin: OptionalAdmin):
    if admin:
        access.record_logout(ctx, admin)
    deps.logout(request, ctx)
    flash(request, "ok", tr(request, "You are signed out."))
    return redirect("/login")
