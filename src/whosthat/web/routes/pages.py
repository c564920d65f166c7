"""Server-rendered HTML pages: first-run setup, admin sign-in, people, attendance, audit log, API keys,
the kiosk and the employee's own page.

Every operation goes through `whosthat.web.services.Services` (the same code the JSON API uses); this
module only parses forms, checks the session and the CSRF token, and renders Jinja2 templates from
`web/templates`. No page has inline script or style: the scripts are files under `web/static/js`.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from starlette.datastructures import UploadFile

from whosthat.errors import BadInputError, QualityError
from whosthat.web import deps
from whosthat.web.errors import LockedOutError
from whosthat.web.security import MIN_PASSWORD_LENGTH
from whosthat.web.services import SCOPES, Actor, Services

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).resolve().parent.parent / "templates"))

KIOSK_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
MAX_PHOTOS = 10
PEOPLE_PAGE_SIZE = 20
AUDIT_PAGE_SIZE = 50
KIOSK_RESET_MS = 6000
EMPLOYEE_IDLE_LOGOUT_S = 30  # a shared kiosk screen signs the employee out by itself
DEFAULT_KEY_SCOPES = ("people:read", "attendance:read")
QUALITY_URL = "/api/v1/quality"  # the live enrollment quality check (JSON API, admin session + CSRF header)


# Template filters: times are shown in the app's time zone (settings.timezone), passed as `tz`.
def _local(value: datetime, tz) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(tz or UTC)


def _time_filter(fmt: str):
    @pass_context
    def render_time(ctx, value) -> str:
        return _local(value, ctx.get("tz")).strftime(fmt) if value else "–"

    return render_time


def _hours(seconds: float | None) -> str:
    """Worked time as H:MM (e.g. 7:45)."""
    minutes = int(round((seconds or 0) / 60))
    return f"{minutes // 60}:{minutes % 60:02d}"


templates.env.filters.update(
    dt=_time_filter("%Y-%m-%d %H:%M"), hm=_time_filter("%H:%M"), day=_time_filter("%a %d %b"), hours=_hours
)


# Services and session ---------------------------------------------------------------------------------
def _render(request: Request, svc: Services, name: str, status_code: int = 200, **context) -> HTMLResponse:
    context.setdefault("admin", None)
    context.setdefault("flashes", _pop_flashes(request))
    context["csrf_token"] = deps.csrf_token(request)
    context["tz"] = svc.tz
    context["tzname"] = str(svc.tz)
    context["max_upload_bytes"] = svc.rt.settings.max_upload_bytes
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def _flash(request: Request, kind: str, text: str) -> None:
    request.session.setdefault("flashes", [])
    request.session["flashes"] = [*request.session["flashes"], [kind, text]][-5:]


def _pop_flashes(request: Request) -> list[tuple[str, str]]:
    return [tuple(x) for x in request.session.pop("flashes", [])]


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _safe_next(value: str | None) -> str:
    """Only local paths are followed after sign-in (no open redirect)."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/admin/people"


def _page_admin(request: Request, svc: Services) -> Actor | None:
    """The signed-in administrator (as an Actor: name, role, scopes), or None."""
    return deps.get_optional_admin(request, svc)


def _to_login(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return _redirect("/login?" + urlencode({"next": target}))


async def _form(request: Request):
    """The posted form. Every POST route here depends on deps.verify_csrf, which has checked the
    form's csrf_token against the session already (CsrfError -> 403 page)."""
    return await request.form()


def _error_page(request: Request, svc: Services, exc: BadInputError, back: str = "/") -> HTMLResponse:
    return _render(
        request,
        svc,
        "error.html",
        status_code=getattr(exc, "http_status", 400),
        title="That did not work",
        detail=_sentence(str(exc)),
        back=back,
    )


def _sentence(text: str) -> str:
    """A service message ("employee code 'E1' is already used") as a sentence for a page."""
    text = text.strip()
    return (text[:1].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")) if text else text


def _reasons(exc: BadInputError) -> str:
    if isinstance(exc, QualityError) and exc.reasons:
        return "; ".join(exc.reasons)
    return str(exc)


# Home, setup, sign-in ----------------------------------------------------------------------------------
@router.get("/", response_class=HTMLResponse)
def home(request: Request, svc: deps.Svc):
    if _page_admin(request, svc):
        return _redirect("/admin/people")
    return _render(request, svc, "home.html")


@router.get("/setup", response_class=HTMLResponse)
def setup_page(request: Request, svc: deps.Svc, token: str = ""):
    valid = svc.setup_token_valid(token)
    return _render(
        request,
        svc,
        "setup.html",
        status_code=200 if valid else 400,
        invalid=not valid,
        token=token,
        min_password=MIN_PASSWORD_LENGTH,
    )


@router.post("/setup", response_class=HTMLResponse, dependencies=[deps.VerifyCsrf])
async def setup_submit(request: Request, svc: deps.Svc):
    form = await _form(request)
    token = str(form.get("token") or "")
    username = str(form.get("username") or "")
    password = str(form.get("password") or "")
    if not svc.setup_token_valid(token):
        return _render(
            request,
            svc,
            "setup.html",
            status_code=400,
            invalid=True,
            token="",
            min_password=MIN_PASSWORD_LENGTH,
        )
    if password != str(form.get("password2") or ""):
        return _render(
            request,
            svc,
            "setup.html",
            status_code=422,
            token=token,
            username=username,
            error="The two passwords differ.",
            min_password=MIN_PASSWORD_LENGTH,
        )
    try:
        admin = svc.complete_setup(token, username, password)
    except BadInputError as exc:
        return _render(
            request,
            svc,
            "setup.html",
            status_code=exc.http_status,
            token=token,
            username=username,
            error=_sentence(str(exc)),
            min_password=MIN_PASSWORD_LENGTH,
        )
    deps.login_admin(request, admin)
    _flash(
        request, "ok", f"Administrator {admin.username} created. Next: add the people who will use the kiosk."
    )
    return _redirect("/admin/people")


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, svc: deps.Svc, next: str = ""):
    if _page_admin(request, svc):
        return _redirect(_safe_next(next))
    return _render(request, svc, "login.html", nav="login", next=next)


@router.post("/login", response_class=HTMLResponse, dependencies=[deps.VerifyCsrf])
async def login_submit(request: Request, svc: deps.Svc):
    form = await _form(request)
    username = str(form.get("username") or "")
    next_url = str(form.get("next") or "")
    try:
        admin = svc.authenticate_admin(username, str(form.get("password") or ""))
    except LockedOutError as exc:
        response = _render(
            request,
            svc,
            "login.html",
            status_code=429,
            nav="login",
            username=username,
            next=next_url,
            error=f"Too many failed sign-ins. Try again in {exc.retry_after_s} s.",
        )
        response.headers["Retry-After"] = str(exc.retry_after_s)
        return response
    except BadInputError:
        return _render(
            request,
            svc,
            "login.html",
            status_code=401,
            nav="login",
            username=username,
            next=next_url,
            error="Wrong user name or password.",
        )
    deps.login_admin(request, admin)
    return _redirect(_safe_next(next_url))


@router.post("/logout", dependencies=[deps.VerifyCsrf])
async def logout(request: Request, svc: deps.Svc):
    await _form(request)
    admin = _page_admin(request, svc)
    if admin:
        svc.record_logout(admin)
    deps.logout(request)
    _flash(request, "ok", "You are signed out.")
    return _redirect("/login")


# People -----------------------------------------------------------------------------------------------
@router.get("/admin/people", response_class=HTMLResponse)
def people_list(request: Request, svc: deps.Svc, q: str = "", page: int = 1):
    admin = _page_admin(request, svc)
    if not admin:
        return _to_login(request)
    q = q.strip()[:120]
    try:
        result = svc.list_people(q or None, page=max(1, page), size=PEOPLE_PAGE_SIZE)
    except BadInputError as exc:
        return _error_page(request, svc, exc, "/admin/people")

    def qs(**changes) -> str:
        params = {"q": q, "page": result.page, **changes}
        return urlencode({k: v for k, v in params.items() if v})

    return _render(
        request,
        svc,
        "admin/people.html",
        admin=admin,
        nav="people",
        people=result.items,
        q=q,
        page=result.page,
        pages=result.pages,
        total=result.total,
        qs=qs,
        can_edit=admin.has("people:write"),
    )


def _photos(form) -> list[tuple[UploadFile, str]]:
    """(file, source) for every non-empty file in the form: "photos" are uploads, "captured" webcam shots."""
    items = []
    for field, source in (("photos", "upload"), ("captured", "webcam")):
        for f in form.getlist(field):
            if isinstance(f, UploadFile) and (f.filename or f.size):
                items.append((f, source))
    return items


async def _read_photos(svc: Services, photos: list[tuple[UploadFile, str]]) -> tuple[list, list[str]]:
    """Read each photo and run the enrollment quality check on it, before anything is stored.

    Returns ([(label, bytes, source)], [error lines]); any error line means nothing should be saved.
    """
    limit = svc.rt.settings.max_upload_bytes
    good, errors = [], []
    if len(photos) > MAX_PHOTOS:
        return [], [f"At most {MAX_PHOTOS} photos at once."]
    for i, (f, source) in enumerate(photos, 1):
        label = f.filename if source == "upload" and f.filename else f"camera photo {i}"
        data = await f.read(limit + 1)
        if len(data) > limit:
            errors.append(f"{label}: larger than {limit // (1024 * 1024)} MB.")
            continue
        try:
            report = svc.check_quality(data)
        except BadInputError as exc:
            errors.append(f"{label}: {exc}.")
            continue
        if not report.ok:
            errors.append(f"{label}: " + "; ".join(report.reasons) + ".")
            continue
        good.append((label, data, source))
    return good, errors


def _enroll_all(svc: Services, person_id: int, photos: list, actor: Actor) -> tuple[int, list[str]]:
    added, errors = 0, []
    for label, data, source in photos:
        try:
            svc.enroll_template(person_id, data, source=source, actor=actor)
            added += 1
        except BadInputError as exc:
            errors.append(f"{label}: {_reasons(exc)}.")
    return added, errors


@router.get("/admin/people/new", response_class=HTMLResponse)
def person_new(request: Request, svc: deps.Svc):
    admin = _page_admin(request, svc)
    if not admin:
        return _to_login(request)
    return _render(
        request, svc, "admin/person_new.html", admin=admin, nav="people", form={}, quality_url=QUALITY_URL
    )


@router.post("/admin/people/new", response_class=HTMLResponse, dependencies=[deps.VerifyCsrf])
async def person_create(request: Request, svc: deps.Svc):
    admin = _page_admin(request, svc)
    if not admin:
        return _to_login(request)
    form = await _form(request)
    actor = admin
    fields = {k: str(form.get(k) or "") for k in ("employee_code", "name", "surname")}

    def again(errors: list[str], status: int = 422) -> HTMLResponse:
        return _render(
            request,
            svc,
            "admin/person_new.html",
            status_code=status,
            admin=admin,
            nav="people",
            form=fields,
            errors=errors,
            quality_url=QUALITY_URL,
        )

    try:
        actor.require("people:write")
    except BadInputError as exc:
        return again([str(exc)], exc.http_status)
    photos, errors = await _read_photos(svc, _photos(form))
    if errors:  # nothing is stored when a photo is unusable: fix it and send the form again
        return again(errors + ["Nothing was saved; choose the photos again."])
    try:
        person = svc.create_person(**fields, actor=actor)
    except BadInputError as exc:
        return again([_sentence(str(exc))], exc.http_status)
    added, errors = _enroll_all(svc, person.id, photos, actor)
    _flash(request, "ok", f"{person.full_name} added with {added} face template{'s' if added != 1 else ''}.")
    for e in errors:
        _flash(request, "error", e)
    return _redirect(f"/admin/people/{person.id}")


def _person_page(
    request: Request,
    svc: Services,
    admin,
    person_id: int,
    status_code: int = 200,
    errors: list[str] | None = None,
) -> HTMLResponse:
    person = svc.get_person(person_id)
    return _render(
        request,
        svc,
        "admin/person_detail.html",
        status_code=status_code,
        admin=admin,
        nav="people",
        person=person,
        templates=svc.list_templates(person_id),
        errors=errors,
        can_edit=admin.has("people:write"),
        quality_url=QUALITY_URL,
    )


@router.get("/admin/people/{person_id}", response_class=HTMLResponse)
def person_detail(request: Request, svc: deps.Svc, person_id: int):
    admin = _page_admin(request, svc)
    if not admin:
        return _to_login(request)
    try:
        return _person_page(request, svc, admin, person_id)
    except BadInputError as exc:
        return _error_page(request, svc, exc, "/admin/people")


@router.post("/admin/people/{person_id}", response_class=HTMLResponse, dependencies=[deps.VerifyCsrf])
async def person_update(request: Request, svc: deps.Svc, person_id: int):
    admin = _page_admin(request, svc)
    if not admin:
        return _to_login(request)
    form = await _form(request)
    fields = {k: str(form.get(k) or "") for k in ("employee_code", "name", "surname")}
    try:
        svc.update_person(person_id, actor=admin, active=form.get("active") == "1", **fields)
    except BadInputError as exc:
        try:
            return _person_page(request, svc, admin, person_id, exc.http_status, [_sentence(str(exc))])
        except BadInputError:
            return _error_page(request, svc, exc, "/admin/people")
    _flash(request, "ok", "Saved.")
    return _redirect(f"/admin/people/{person_id}")


@router.post(
    "/admin/people/{person_id}/templates", response_class=HTMLResponse, dependencies=[deps.VerifyCsrf]
)
async def person_add_photos(request: Request, svc: deps.Svc, person_id: int):
    admin = _page_admin(request, svc)
    if not admin:
        return _to_login(request)
    form = await _form(request)
    actor = admin
    try:
        actor.require("people:write")
        svc.get_person(person_id)
    except BadInputError as exc:
        return _error_page(request, svc, exc, "/admin/people")
    items = _photos(form)
    if not items:
        return _person_page(request, svc, admin, person_id, 422, ["Choose or take at least one photo."])
    photos, errors = await _read_photos(svc, items)
    if errors:
        return _person_page(request, svc, admin, person_id, 422, errors + ["No photo was added."])
    added, errors = _enroll_all(svc, person_id, photos, actor)
    _flash(request, "ok", f"{added} face template{'s' if added != 1 else ''} added.")
    for e in errors:
        _flash(request, "error", e)
    return _redirect(f"/admin/people/{person_id}")


@router.post("/admin/people/{person_id}/templates/{template_id}/delete", dependencies=[deps.VerifyCsrf])
async def template_delete(request: Request, svc: deps.Svc, person_id: int, template_id: int):
    admin = _page_admin(request, svc)
    if not admin:
        return _to_login(request)
    await _form(request)
    try:
        svc.delete_template(person_id, template_id, actor=admin)
    except BadInputError as exc:
        return _error_page(request, svc, exc, f"/admin/people/{person_id}")
    _flash(request, "ok", "Face template removed.")
    return _redirect(f"/admin/people/{person_id}")


@router.get("/admin/people/{person_id}/templates/{template_id}/chip.png")
def template_chip(request: Request, svc: deps.Svc, person_id: int, template_id: int):
    """The aligned face chip kept with a template (decrypted), as a PNG for the admin's person page."""
    admin = _page_admin(request, svc)
    if not admin:
        return Response(status_code=401)
    try:
        admin.require("people:read")
        chip = svc.template_chip(person_id, template_id)
    except BadInputError as exc:
        return Response(status_code=exc.http_status)
    if chip is None:
        return Response(status_code=404)
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(chip).save(buf, "PNG")
    return Response(buf.getvalue(), media_type="image/png", headers={"Cache-Control": "no-store, private"})


@router.get("/admin/people/{person_id}/delete", response_class=HTMLResponse)
def person_delete_confirm(request: Request, svc: deps.Svc, person_id: int):
    admin = _page_admin(request, svc)
    if not admin:
        return _to_login(request)
    try:
        person = svc.get_person(person_id)
    except BadInputError as exc:
        return _error_page(request, svc, exc, "/admin/people")
    return _render(request, svc, "admin/person_delete.html", admin=admin, nav="people", person=person)


@router.post("/admin/people/{person_id}/delete", response_class=HTMLResponse, dependencies=[deps.VerifyCsrf])
async def person_delete(request: Request, svc: deps.Svc, person_id: int):
    admin = _page_admin(request, svc)
    if not admin:
        return _to_login(request)
    form = await _form(request)
    try:
        person = svc.get_person(person_id)
        if str(form.get("confirm") or "").strip() != person.employee_code:
            _flash(request, "error", "The employee code you typed does not match: nothing was deleted.")
            return _redirect(f"/admin/people/{person_id}/delete")
        name = person.full_name
        svc.delete_person(person_id, actor=admin)
    except BadInputError as exc:
        return _error_page(request, svc, exc, "/admin/people")
    _flash(request, "ok", f"{name} and all their face data were deleted.")
    return _redirect("/admin/people")


# Attendance, audit, API keys ---------------------------------------------------------------------------
def _parse_day(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _day_rows(svc: Services, reports) -> list[dict]:
    """DayReports -> rows for the templates: in/out intervals (end None = no clock-out). An open
    interval today means "still in"; on an earlier day it is a missing clock-out (flagged, not guessed)."""
    today = svc.local_day(datetime.now(UTC))
    rows = []
    for r in reports:
        intervals, start = [], None
        for ev in r.events:
            if ev.kind == "in" and start is None:
                start = ev.at
            elif ev.kind == "out" and start is not None:
                intervals.append({"start": start, "end": ev.at})
                start = None
        if start is not None:
            intervals.append({"start": start, "end": None})
        rows.append(
            {
                "day": r.day.isoformat(),
                "person_id": r.person.id,
                "name": r.person.full_name,
                "intervals": intervals,
                "worked": r.worked_seconds,
                "missing_out": r.missing_clock_out and r.day != today,
                "still_in": r.missing_clock_out and r.day == today,
            }
        )
    return rows


@router.get("/admin/attendance", response_class=HTMLResponse)
def attendance(request: Request, svc: deps.Svc):
    admin = _page_admin(request, svc)
    if not admin:
        return _to_login(request)
    params = request.query_params
    today = svc.local_day(datetime.now(UTC))
    date_to = _parse_day(params.get("to")) or today
    date_from = _parse_day(params.get("from")) or date_to - timedelta(days=6)
    person = None
    person_id = params.get("person")
    try:
        if person_id:
            person = svc.get_person(int(person_id)) if person_id.isdigit() else None
        if date_from > date_to:
            date_from, date_to = date_to, date_from
        pid = person.id if person else None
        days = svc.attendance_days(person_id=pid, date_from=date_from, date_to=date_to)
        events = svc.list_attendance(person_id=pid, date_from=date_from, date_to=date_to, size=500).items
        people = svc.list_people(None, page=1, size=200).items
    except BadInputError as exc:
        return _error_page(request, svc, exc, "/admin/attendance")
    csv_params = {"from": date_from.isoformat(), "to": date_to.isoformat()}
    if person:
        csv_params["person"] = person.id
    event_rows = [
        {
            "at": e.at,
            "name": e.person.full_name,
            "kind": e.kind,
            "kiosk": e.kiosk,
            "distance": e.distance,
            "liveness": None if e.liveness_passed is None else ("passed" if e.liveness_passed else "failed"),
        }
        for e in events
    ]
    return _render(
        request,
        svc,
        "admin/attendance.html",
        admin=admin,
        nav="attendance",
        person=person,
        people=people,
        days=_day_rows(svc, days),
        events=event_rows,
        date_from=date_from.isoformat(),
        date_to=date_to.isoformat(),
        csv_url="/admin/attendance/report.csv?" + urlencode(csv_params),
    )


@router.get("/admin/attendance/report.csv")
def attendance_csv(request: Request, svc: deps.Svc):
    admin = _page_admin(request, svc)
    if not admin:
        return _to_login(request)
    params = request.query_params
    person_id = params.get("person")
    try:
        admin.require("attendance:read")
        body = svc.attendance_csv(
            person_id=int(person_id) if person_id and person_id.isdigit() else None,
            date_from=_parse_day(params.get("from")),
            date_to=_parse_day(params.get("to")),
        )
    except BadInputError as exc:
        return _error_page(request, svc, exc, "/admin/attendance")
    name = f"attendance-{params.get('from') or 'all'}-{params.get('to') or 'all'}.csv"
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/admin/audit", response_class=HTMLResponse)
def audit(request: Request, svc: deps.Svc, page: int = 1):
    admin = _page_admin(request, svc)
    if not admin:
        return _to_login(request)
    try:
        admin.require("audit:read")
        result = svc.list_audit(page=max(1, page), size=AUDIT_PAGE_SIZE)
    except BadInputError as exc:
        return _error_page(request, svc, exc, "/admin/people")
    return _render(
        request,
        svc,
        "admin/audit.html",
        admin=admin,
        nav="audit",
        entries=result.items,
        page=result.page,
        pages=result.pages,
    )


def _keys_page(request: Request, svc: Services, admin, status_code: int = 200, new_key=None) -> HTMLResponse:
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
        for k in svc.list_api_keys()
    ]
    return _render(
        request,
        svc,
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


@router.get("/admin/apikeys", response_class=HTMLResponse)
def apikeys(request: Request, svc: deps.Svc):
    admin = _page_admin(request, svc)
    if not admin:
        return _to_login(request)
    return _keys_page(request, svc, admin)


@router.post("/admin/apikeys", response_class=HTMLResponse, dependencies=[deps.VerifyCsrf])
async def apikey_create(request: Request, svc: deps.Svc):
    admin = _page_admin(request, svc)
    if not admin:
        return _to_login(request)
    form = await _form(request)
    try:
        row, key = svc.create_api_key(
            str(form.get("name") or ""), [str(s) for s in form.getlist("scopes")], actor=admin
        )
    except BadInputError as exc:
        _flash(request, "error", f"No key created: {exc}.")
        return _redirect("/admin/apikeys")
    # Rendered directly (not redirected): the plaintext key must never be stored, not even in the session.
    response = _keys_page(request, svc, admin, 201, new_key={"name": row.name, "key": key})
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/admin/apikeys/{key_id}/revoke", dependencies=[deps.VerifyCsrf])
async def apikey_revoke(request: Request, svc: deps.Svc, key_id: int):
    admin = _page_admin(request, svc)
    if not admin:
        return _to_login(request)
    await _form(request)
    try:
        row = svc.revoke_api_key(key_id, actor=admin)
    except BadInputError as exc:
        return _error_page(request, svc, exc, "/admin/apikeys")
    _flash(request, "ok", f"Key “{row.name}” revoked: it no longer works.")
    return _redirect("/admin/apikeys")


# Kiosk and employee ------------------------------------------------------------------------------------
def _kiosk_name(value: str | None) -> str:
    return value if value and KIOSK_NAME.match(value) else "kiosk"


@router.get("/kiosk", response_class=HTMLResponse)
def kiosk(request: Request, svc: deps.Svc, name: str = "kiosk"):
    return _render(request, svc, "kiosk/kiosk.html", kiosk=_kiosk_name(name), reset_ms=KIOSK_RESET_MS)


@router.get("/me/enter")
def employee_enter(request: Request, svc: deps.Svc, ticket: str = "", kiosk: str = ""):
    """Exchange the one-time ticket from a passed kiosk login for an employee session."""
    try:
        person = svc.redeem_login_ticket(ticket)
    except BadInputError as exc:
        return _render(
            request,
            svc,
            "error.html",
            status_code=exc.http_status,
            title="Sign-in link not valid",
            detail=_sentence(str(exc)),
            back=f"/kiosk?name={_kiosk_name(kiosk)}",
        )
    deps.login_employee(request, person)
    if kiosk:
        request.session["kiosk_return"] = _kiosk_name(kiosk)
    return _redirect("/me")


@router.get("/me", response_class=HTMLResponse)
def employee_page(request: Request, svc: deps.Svc):
    person = deps.get_optional_employee(request, svc)
    if person is None:
        return _redirect("/kiosk")
    week = svc.week_summary(person.id)
    events = svc.list_attendance(person_id=person.id, size=20).items
    last = events[0] if events else None
    if week.open_since:
        status_text = "In since " + _local(week.open_since, svc.tz).strftime("%H:%M")
    elif last is not None and last.kind == "out":
        status_text = "Out"
    else:
        status_text = "Not in yet"
    kiosk_return = request.session.get("kiosk_return")
    return _render(
        request,
        svc,
        "employee/me.html",
        person=person,
        week_days=_day_rows(svc, week.days),
        week_total=week.total_seconds,
        week_start=week.start.isoformat(),
        week_end=(week.start + timedelta(days=6)).isoformat(),
        status_text=status_text,
        events=events,
        last_event=last,
        kiosk_return=f"/kiosk?name={kiosk_return}" if kiosk_return else None,
        idle_logout_s=EMPLOYEE_IDLE_LOGOUT_S,
    )


@router.post("/me/logout", dependencies=[deps.VerifyCsrf])
async def employee_logout(request: Request, svc: deps.Svc):
    await _form(request)
    person = deps.get_optional_employee(request, svc)
    kiosk_return = request.session.get("kiosk_return")
    if person is not None:
        svc.record_logout(Actor("employee", person.id, person.employee_code))
    deps.logout(request)
    return _redirect(f"/kiosk?name={kiosk_return}" if kiosk_return else "/")
