"""FastAPI dependencies: the service Context of a request, who is calling, CSRF, uploaded images.

Typical route signatures:

    @router.get("/people")                                          # JSON API
    def people(ctx: Ctx, actor: PeopleRead) -> PeoplePage: ...

    @router.post("/admin/people/new", dependencies=[VerifyCsrf])    # an HTML form
    async def add(request: Request, ctx: Ctx, admin: CurrentAdmin): ...

    @router.get("/me")
    def me(request: Request, ctx: Ctx, person: CurrentEmployee): ...

Authentication: header `X-API-Key` (scopes from the key), or the admin's session cookie (role admin: every
scope; role viewer: read scopes). A session-authenticated request with an unsafe method (POST, PATCH,
PUT, DELETE) to the JSON API must carry the CSRF token in the `X-CSRF-Token` header; HTML forms send it
as the form field `csrf_token` and their routes depend on `VerifyCsrf`. Templates get the token from
`csrf_token(request)` (base.html puts it in <meta name="csrf-token">).

Session keys (signed cookie, see app.py): "admin_id", "employee_id", "csrf", "at" (login time), "sid"
(the server-side session's token: logout and a password change delete that row, so a copied cookie
stops working at once; services.access.start_session).
A page that needs a signed-in admin or employee raises LoginRequired; the page routes turn it into a
redirect to /login (admins, coming back afterwards) or /kiosk (employees), see pages/common.py.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, File, Header, Path, Request, UploadFile

from whosthat.errors import BadInputError
from whosthat.i18n import M_
from whosthat.services import access, drafts, kiosks, people
from whosthat.services.common import MAX_ID, Actor, Context
from whosthat.services.credentials import constant_time_equals, new_token
from whosthat.services.errors import AuthenticationError, PayloadTooLargeError, PermissionDeniedError
from whosthat.store.models import Kiosk, Person

ADMIN_LOGIN_URL = "/login"
EMPLOYEE_LOGIN_URL = "/kiosk"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
ADMIN_SESSION_MAX_AGE_S = 12 * 3600
EMPLOYEE_SESSION_MAX_AGE_S = 30 * 60
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class LoginRequired(AuthenticationError):
    """Not signed in. A page answers with a redirect to `login_url`; with `come_back`, the sign-in page
    is told (as ?next=) where to return afterwards."""

    def __init__(self, message: str, login_url: str = ADMIN_LOGIN_URL, come_back: bool = True):
        super().__init__(message)
        self.login_url = login_url
        self.come_back = come_back

    def redirect_url(self, request: Request) -> str:
        if not self.come_back:
            return self.login_url
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return self.login_url + "?" + urlencode({"next": target})


class CsrfError(BadInputError):
    code = "csrf_failed"
    http_status = 403


# The service context -----------------------------------------------------------------------------
def client_address(request: Request) -> str:
    """The caller's IP as seen by the server (behind a proxy, run uvicorn with --proxy-headers)."""
    return request.client.host if request.client else "-"


def get_context(request: Request) -> Iterator[Context]:
    """One service Context (one database session) per request; rolled back on any error, always closed."""
    session = request.app.state.runtime.database.session()
    try:
        yield Context(request.app.state.runtime, session, client_address(request))
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


Ctx = Annotated[Context, Depends(get_context)]
RowId = Annotated[int, Path(ge=1, le=MAX_ID)]  # a row id in the path: 422 for what cannot be one


# Sessions ------------------------------------------------------------------------------------------
def csrf_token(request: Request) -> str:
    """The session's CSRF token (created on first use). Put it in forms as `csrf_token`."""
    token = request.session.get("csrf")
    if not token:
        token = new_token(24)
        request.session["csrf"] = token
    return token


def login_admin(request: Request, ctx: Context, admin) -> None:
    """Start an admin session (fresh session: no fixation; a new CSRF token; a new server-side session)."""
    _end_server_session(request, ctx)
    request.session.clear()
    sid = access.start_session(ctx, "admin", admin.id, ADMIN_SESSION_MAX_AGE_S)
    request.session.update({"admin_id": admin.id, "at": int(time.time()), "csrf": new_token(24), "sid": sid})


def login_employee(request: Request, ctx: Context, person: Person) -> None:
    """Start an employee session (after redeeming a kiosk login ticket). Ends any admin session."""
    _end_server_session(request, ctx)
    request.session.clear()
    sid = access.start_session(ctx, "employee", person.id, EMPLOYEE_SESSION_MAX_AGE_S)
    request.session.update(
        {"employee_id": person.id, "at": int(time.time()), "csrf": new_token(24), "sid": sid}
    )


def logout(request: Request, ctx: Context) -> None:
    """End the session: the server-side row is deleted, so the cookie is worthless even if copied."""
    _end_server_session(request, ctx)
    request.session.clear()


def _end_server_session(request: Request, ctx: Context) -> None:
    sid = request.session.get("sid")
    if sid:
        access.end_session(ctx, sid)
        drafts.end_session(ctx, sid)


def _session_live(request: Request, ctx: Context, kind: str, subject_id: int) -> bool:
    """The cookie's server-side session exists, is unexpired, and belongs to this admin or person."""
    return access.session_subject(ctx, request.session.get("sid"), kind) == subject_id


def _session_fresh(request: Request, max_age_s: int) -> bool:
    at = request.session.get("at")
    return isinstance(at, int) and 0 <= time.time() - at <= max_age_s


# Who is calling --------------------------------------------------------------------------------------
def get_optional_admin(request: Request, ctx: Ctx) -> Actor | None:
    """The admin of the session cookie as an Actor, or None (no session, expired, admin deleted).

    Also kept as `request.state.admin`, so that a page's error view shows the same navigation."""
    request.state.admin = None
    admin_id = request.session.get("admin_id")
    if not isinstance(admin_id, int) or not _session_fresh(request, ADMIN_SESSION_MAX_AGE_S):
        return None
    if not _session_live(request, ctx, "admin", admin_id):
        request.session.clear()
        return None
    admin = access.admin_session_actor(ctx, admin_id)
    if admin is None:
        request.session.clear()
    request.state.admin = admin
    return admin


OptionalAdmin = Annotated[Actor | None, Depends(get_optional_admin)]


def get_current_admin(admin: OptionalAdmin) -> Actor:
    """The signed-in admin (session cookie); LoginRequired otherwise."""
    if admin is None:
        raise LoginRequired(M_("log in as an administrator first"))
    return admin


CurrentAdmin = Annotated[Actor, Depends(get_current_admin)]


def get_api_actor(
    request: Request,
    ctx: Ctx,
    x_api_key: Annotated[str | None, Header(alias="X-API-Key", include_in_schema=False)] = None,
) -> Actor:
    """The caller of a JSON API route: an API key (X-API-Key) or the admin session cookie.

    A presented but wrong key is rejected (401) even if a session cookie is present. Cookie-authenticated
    unsafe requests must carry X-CSRF-Token.
    """
    if x_api_key is not None:
        return access.api_key_actor(ctx, x_api_key.strip())
    admin = get_optional_admin(request, ctx)
    if admin is None:
        raise AuthenticationError(M_("send an X-API-Key header or log in as an administrator"))
    if request.method in UNSAFE_METHODS:
        _check_csrf_value(request, request.headers.get(CSRF_HEADER))
    return admin


ApiActor = Annotated[Actor, Depends(get_api_actor)]


def require_scope(scope: str):
    """Dependency factory: the API caller, who must have `scope` (see services.common.SCOPES)."""

    def dependency(actor: ApiActor) -> Actor:
        if not actor.has(scope):
            raise PermissionDeniedError(M_("this needs the '%(scope)s' scope", scope=scope))
        return actor

    dependency.__name__ = f"require_{scope.replace(':', '_')}"
    dependency.scope = scope  # /docs lists each endpoint's scope from this
    return dependency


PeopleRead = Annotated[Actor, Depends(require_scope("people:read"))]
PeopleWrite = Annotated[Actor, Depends(require_scope("people:write"))]
Identify = Annotated[Actor, Depends(require_scope("identify"))]
AttendanceRead = Annotated[Actor, Depends(require_scope("attendance:read"))]
AttendanceWrite = Annotated[Actor, Depends(require_scope("attendance:write"))]
AuditRead = Annotated[Actor, Depends(require_scope("audit:read"))]
AdminScope = Annotated[Actor, Depends(require_scope("admin"))]


def get_optional_employee(request: Request, ctx: Ctx) -> Person | None:
    """The employee of the session cookie (opened by a kiosk face login), or None."""
    person_id = request.session.get("employee_id")
    if not isinstance(person_id, int) or not _session_fresh(request, EMPLOYEE_SESSION_MAX_AGE_S):
        return None
    if not _session_live(request, ctx, "employee", person_id):
        request.session.clear()
        return None
    person = people.find_active_person(ctx, person_id)
    if person is None:
        request.session.clear()
    return person


OptionalEmployee = Annotated[Person | None, Depends(get_optional_employee)]


def get_current_employee(person: OptionalEmployee) -> Person:
    """The employee of the session; LoginRequired (back to the kiosk) otherwise."""
    if person is None:
        raise LoginRequired(M_("log in at the kiosk first"), login_url=EMPLOYEE_LOGIN_URL, come_back=False)
    return person


CurrentEmployee = Annotated[Person, Depends(get_current_employee)]


# Paired kiosks -----------------------------------------------------------------------------------
def get_optional_kiosk(request: Request, ctx: Ctx) -> Kiosk | None:
    """The paired kiosk whose device cookie this browser holds (services/kiosks.py), or None."""
    return kiosks.kiosk_for_device(ctx, request.cookies.get(kiosks.DEVICE_COOKIE))


OptionalKiosk = Annotated[Kiosk | None, Depends(get_optional_kiosk)]


def get_paired_kiosk(kiosk: OptionalKiosk) -> Kiosk:
    """The paired kiosk; 403 kiosk_not_paired (saying how to pair) otherwise."""
    if kiosk is None:
        raise kiosks.KioskNotPairedError(kiosks.NOT_PAIRED)
    return kiosk


PairedKiosk = Annotated[Kiosk, Depends(get_paired_kiosk)]


def set_kiosk_cookie(request: Request, response, token: str) -> None:
    """The device credential: HttpOnly, SameSite=Strict, Secure under HTTPS, for the whole site."""
    response.set_cookie(
        kiosks.DEVICE_COOKIE,
        token,
        max_age=kiosks.DEVICE_COOKIE_MAX_AGE_S,
        httponly=True,
        samesite="strict",
        secure=bool(request.app.state.runtime.settings.session_https_only),
        path="/",
    )


# Uploaded images ---------------------------------------------------------------------------------
def read_image(
    ctx: Ctx, image: Annotated[UploadFile, File(description="an image file (JPEG, PNG, WebP, ...)")]
) -> bytes:
    """The multipart field `image` as bytes, refusing more than the upload limit without reading it all."""
    limit = ctx.runtime.settings.max_upload_bytes
    data = image.file.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLargeError(M_("image is over the upload limit of %(limit)s bytes", limit=limit))
    if not data:
        raise BadInputError(M_("the uploaded file is empty"))
    return data


ImageBytes = Annotated[bytes, Depends(read_image)]


# CSRF ----------------------------------------------------------------------------------------------
def _check_csrf_value(request: Request, presented: str | None) -> None:
    expected = request.session.get("csrf")
    if not expected or not presented or not constant_time_equals(str(presented), str(expected)):
        raise CsrfError(M_("missing or wrong CSRF token: reload the page and try again"))


async def verify_csrf(request: Request) -> None:
    """For HTML form routes: the `csrf_token` form field (or the X-CSRF-Token header) must match the session."""
    presented = request.headers.get(CSRF_HEADER)
    if presented is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()  # cached by Starlette: the route can still read it
            value = form.get(CSRF_FIELD)
            presented = value if isinstance(value, str) else None
    _check_csrf_value(request, presented)


VerifyCsrf = Depends(verify_csrf)
