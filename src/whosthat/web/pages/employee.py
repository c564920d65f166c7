"""The employee's own page, opened by a kiosk face login: this week's worked hours and the latest
events, and a form to ask for a correction; it signs out by itself after a short idle time (a shared
kiosk screen)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import Request

from whosthat import i18n
from whosthat.errors import BadInputError
from whosthat.i18n import M_, N_
from whosthat.services import access, attendance, corrections, kiosk_login, kiosks, pin_login
from whosthat.services.common import Actor
from whosthat.services.errors import PermissionDeniedError
from whosthat.web import deps
from whosthat.web.deps import Ctx, CurrentEmployee, OptionalEmployee
from whosthat.web.language import request_language, tr, use_language
from whosthat.web.pages.attendance import day_rows
from whosthat.web.pages.common import (
    discard_draft,
    error_page,
    flash,
    form_state,
    on_error,
    page_router,
    redirect,
    render,
    send_back,
)
from whosthat.web.pages.kiosk import kiosk_url

router = page_router()
EMPLOYEE_IDLE_LOGOUT_S = 30  # a shared kiosk screen signs the employee out by itself
MY_REQUESTS = 10  # the employee's latest correction requests on their page

# Both forms of /me are sent back (post/redirect/get, pages/common.py): a refused one answers 303 to
# /me?draft=<token>, the error beside its field. The request form's values are kept; the PIN form
# keeps nothing (a PIN is a secret: never in a draft).
PIN_FORM = "me-pin"
REQUEST_FORM = "me-request"
PIN_LABELS = {"pin": N_("New PIN (6 to 12 digits)"), "pin2": N_("The same PIN again")}
REQUEST_LABELS = {
    "action": N_("I want to"),
    "event": N_("Event (to change or remove)"),
    "kind": N_("In or out"),
    "day": N_("Date"),
    "time": N_("Time"),
    "reason": N_("What happened"),
}
REQUEST_FIELDS = tuple(REQUEST_LABELS)


def _link_not_valid(request: Request, exc: BadInputError):
    back = kiosk_url(request.query_params.get("kiosk"))
    return error_page(request, exc, back, title=tr(request, "Sign-in link not valid"))


@router.get("/me/enter")
@on_error(_link_not_valid)
def employee_enter(request: Request, ctx: Ctx, ticket: str = "", kiosk: str = ""):
    """Exchange the one-time ticket from a passed kiosk login for an employee session."""
    person = kiosk_login.redeem_login_ticket(ctx, ticket)
    deps.login_employee(request, ctx, person)
    if kiosk:
        request.session["kiosk_return"] = kiosk_login.kiosk_name(kiosk) or kiosk_login.DEFAULT_KIOSK
    return redirect("/me")


def _status(request: Request, week: attendance.WeekSummary, tz) -> str:
    last = week.recent[0] if week.recent else None
    if week.open_since:
        return tr(
            request,
            "In since %(time)s",
            time=i18n.format_time(week.open_since, request_language(request), tz),
        )
    if last is not None and last.kind == "out":
        return tr(request, "Out")
    return tr(request, "Not in yet")


def _kiosk_language(request: Request, ctx, kiosk_return: str | None) -> None:
    """Opened from a kiosk with a language of its own: the page speaks it too."""
    if kiosk_return:
        row = kiosks.by_name(ctx, kiosk_return)
        if row is not None:
            use_language(request, row.language)


@router.get("/me")
def employee_page(request: Request, ctx: Ctx, person: CurrentEmployee, draft: str = ""):
    week = attendance.week_summary(ctx, person.id)
    kiosk_return = request.session.get("kiosk_return")
    _kiosk_language(request, ctx, kiosk_return)
    return render(
        request,
        "employee/me.html",
        person=person,
        week_days=day_rows(week.days, week.today, ctx.tz),
        week_total=week.total_seconds,  # with the open shift's running time
        week_running=week.running_seconds,
        week_start=week.start,
        week_end=week.start + timedelta(days=6),
        status_text=_status(request, week, ctx.tz),
        events=week.recent,
        last_event=week.recent[0] if week.recent else None,
        kiosk_return=kiosk_url(kiosk_return) if kiosk_return else None,
        idle_logout_s=EMPLOYEE_IDLE_LOGOUT_S,
        my_requests=corrections.my_requests(ctx, person.id, size=MY_REQUESTS),
        today=week.today.isoformat(),
        pin_state=form_state(request, ctx, PIN_FORM, draft),
        request_state=form_state(request, ctx, REQUEST_FORM, draft),
    )


def _form_refused(exc: BadInputError) -> bool:
    """An error about what was typed (sent back to the form), not a refusal of the person."""
    return not isinstance(exc, PermissionDeniedError)


@router.post("/me/requests", dependencies=[deps.VerifyCsrf])
@on_error(lambda request, exc: error_page(request, exc, "/me", title=tr(request, "Request not sent")))
async def employee_request(request: Request, ctx: Ctx, person: CurrentEmployee):
    """Ask an administrator for a correction: a missing event, another time for an event, or "not me"."""
    form = await request.form()
    discard_draft(request, ctx, REQUEST_FORM, form.get("draft"))

    def text(name: str) -> str:
        value = form.get(name)
        return value.strip()[:600] if isinstance(value, str) else ""

    values = {name: text(name) for name in REQUEST_FIELDS}
    action, event = values["action"], values["event"]
    try:
        at = (
            corrections.local_moment(ctx, values["day"], values["time"])
            if action in ("add", "edit")
            else None
        )
        corrections.request_correction(
            ctx,
            person.id,
            action=action,
            event_id=int(event) if event.isdigit() else None,
            kind=values["kind"] or None,
            at=at,
            reason=values["reason"],
        )
    except BadInputError as exc:
        if not _form_refused(exc):
            raise
        ctx.db.rollback()
        return send_back(request, ctx, REQUEST_FORM, "/me", exc, REQUEST_LABELS, values)
    flash(request, "ok", tr(request, "Your request was sent; an administrator will decide on it."))
    return redirect("/me")


@router.post("/me/pin", dependencies=[deps.VerifyCsrf])
@on_error(lambda request, exc: error_page(request, exc, "/me"))
async def employee_pin(request: Request, ctx: Ctx, person: CurrentEmployee):
    """The employee sets their own kiosk PIN (the fallback when the face login fails)."""
    form = await request.form()
    discard_draft(request, ctx, PIN_FORM, form.get("draft"))
    pin, again = str(form.get("pin") or "")[:64], str(form.get("pin2") or "")[:64]
    try:
        problem = pin_login.pin_problem(pin)
        if problem:
            raise BadInputError(problem, field="pin")
        if pin != again:
            raise BadInputError(M_("the two PINs differ"), field="pin2")
        pin_login.set_pin(ctx, person.id, pin, actor=Actor.for_employee(person))
    except BadInputError as exc:
        if not _form_refused(exc):
            raise
        ctx.db.rollback()
        return send_back(request, ctx, PIN_FORM, "/me", exc, PIN_LABELS, {})  # never the PINs
    flash(
        request,
        "ok",
        tr(
            request,
            "Your PIN is set. Use it at the kiosk with your employee code if your face is not recognised.",
        ),
    )
    return redirect("/me")


@router.post("/me/logout", dependencies=[deps.VerifyCsrf])
def employee_logout(request: Request, ctx: Ctx, person: OptionalEmployee):
    kiosk_return = request.session.get("kiosk_return")
    if person is not None:
        access.record_logout(ctx, Actor.for_employee(person))
    deps.logout(request, ctx)
    return redirect(kiosk_url(kiosk_return) if kiosk_return else "/")
