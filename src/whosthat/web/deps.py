"""FastAPI dependencies: database session, services, who is calling, CSRF.

Typical route signatures:

    @router.get("/people")
    def people(svc: Svc, actor: Annotated[Actor, Depends(require_scope("people:read"))]): ...

    @router.post("/admin/people", dependencies=[Depends(verify_csrf)])     # an HTML form
    def add(svc: Svc, admin: CurrentAdmin, ...): ...

    @router.get("/me")
    def me(svc: Svc, person: CurrentEmployee): ...

Authentication: header `X-API-Key` (scopes from the key), or the admin's session cookie (role admin: every
scope; role viewer: read scopes). A session-authenticated request with an unsafe method (POST, PATCH,
PUT, DELETE) to the JSON API must carry the CSRF token in the `X-CSRF-Token` header; HTML forms send it
as the form field `csrf_token` and their routes depend on `verify_csrf`. Templates get the token from
`csrf_token(request)` (base.html puts it in <meta name="csrf-token">).

Session keys (signed cookie, see app.py): "admin_id", "employee_id", "csrf", "at" (login time).
An unauthenticated browser GET outside /api is redirected to /login (admins) or /kiosk (employees)
by the error handler in app.py.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.orm import Session

from whosthat.store.models import Person
from whosthat.web import security
from whosthat.web.errors import AuthenticationError, CsrfError, PermissionDeniedError
from whosthat.web.runtime import Runtime
from whosthat.web.services import Actor, Services

ADMIN_LOGIN_URL = "/login"
EMPLOYEE_LOGIN_URL = "/kiosk"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
ADMIN_SESSION_MAX_AGE_S = 12 * 3600
EMPLOYEE_SESSION_MAX_AGE_S = 30 * 60
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class LoginRequired(AuthenticationError):
    """Not logged in; HTML requests are redirected to `login_url`."""

    def __init__(self, message: str, login_url: str = ADMIN_LOGIN_URL):
        super().__init__(message)
        self.login_url = login_url


# Runtime, database, services ---------------------------------------------------------------------
def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_db(request: Request) -> Iterator[Session]:
    """One SQLAlchemy session per request; rolled back on any error, always closed."""
    session = request.app.state.runtime.database.session()
    try:
        yield session
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


DbSession = Annotated[Session, Depends(get_db)]


def client_address(request: Request) -> str:
    """The caller's IP as seen by the server (behind a proxy, run uvicorn with --proxy-headers)."""
    return request.client.host if request.client else "-"


def get_services(request: Request, db: DbSession) -> Services:
    return Services(request.app.state.runtime, db, address=client_address(request))


Svc = Annotated[Services, Depends(get_services)]


# Sessions ------------------------------------------------------------------------------------------
def csrf_token(request: Request) -> str:
    """The session's CSRF token (created on first use). Put it in forms as `csrf_token`."""
    token = request.session.get("csrf")
    if not token:
        token = security.new_token(24)
        request.session["csrf"] = token
    return token


def login_admin(request: Request, admin) -> None:
    """Start an admin session (fresh session: no fixation; a new CSRF token)."""
    request.session.clear()
    request.session.update({"admin_id": admin.id, "at": int(time.time()), "csrf": security.new_token(24)})


def login_employee(request: Request, person: Person) -> None:
    """Start an employee session (after redeeming a kiosk login ticket). Ends any admin session."""
    request.session.clear()
    request.session.update({"employee_id": person.id, "at": int(time.time()), "csrf": security.new_token(24)})


def logout(request: Request) -> None:
    request.session.clear()


def _session_fresh(request: Request, max_age_s: int) -> bool:
    at = request.session.get("at")
    return isinstance(at, int) and 0 <= time.time() - at <= max_age_s


# Who is calling --------------------------------------------------------------------------------------
def get_optional_admin(request: Request, svc: Svc) -> Actor | None:
    """The admin of the session cookie as an Actor, or None (no session, expired, admin deleted)."""
    admin_id = request.session.get("admin_id")
    if not isinstance(admin_id, int) or not _session_fresh(request, ADMIN_SESSION_MAX_AGE_S):
        return None
    admin = svc.get_admin(admin_id)
    if admin is None:
        request.session.clear()
        return None
    return Actor.for_admin(admin)


OptionalAdmin = Annotated[Actor | None, Depends(get_optional_admin)]


def get_current_admin(admin: OptionalAdmin) -> Actor:
    """The logged-in admin (session cookie); LoginRequired (401, or a redirect for pages) otherwise."""
    if admin is None:
        raise LoginRequired("log in as an administrator first")
    return admin


CurrentAdmin = Annotated[Actor, Depends(get_current_admin)]


def get_api_actor(
    request: Request,
    svc: Svc,
    x_api_key: Annotated[str | None, Header(alias="X-API-Key", include_in_schema=False)] = None,
) -> Actor:
    """The caller of a JSON API route: an API key (X-API-Key) or the admin session cookie.

    A presented but wrong key is rejected (401) even if a session cookie is present. Cookie-authenticated
    unsafe requests must carry X-CSRF-Token.
    """
    if x_api_key is not None:
        key = svc.authenticate_api_key(x_api_key.strip())
        if key is None:
            svc.rt.metrics.inc("whosthat_auth_failures_total", "rejected credentials", kind="api_key")
            raise AuthenticationError("invalid or revoked API key")
        return Actor.for_api_key(key)
    admin = get_optional_admin(request, svc)
    if admin is None:
        raise AuthenticationError("send an X-API-Key header or log in as an administrator")
    if request.method in UNSAFE_METHODS:
        _check_csrf_value(request, request.headers.get(CSRF_HEADER))
    return admin


ApiActor = Annotated[Actor, Depends(get_api_actor)]


def require_scope(scope: str):
    """Dependency factory: the API caller, who must have `scope` (see services.SCOPES)."""

    def dependency(actor: ApiActor) -> Actor:
        if not actor.has(scope):
            raise PermissionDeniedError(f"this needs the '{scope}' scope")
        return actor

    dependency.__name__ = f"require_{scope.replace(':', '_')}"
    return dependency


def get_optional_employee(request: Request, svc: Svc) -> Person | None:
    person_id = request.session.get("employee_id")
    if not isinstance(person_id, int) or not _session_fresh(request, EMPLOYEE_SESSION_MAX_AGE_S):
        return None
    person = svc.db.get(Person, person_id)
    if person is None or not person.active:
        request.session.clear()
        return None
    return person


OptionalEmployee = Annotated[Person | None, Depends(get_optional_employee)]


def get_current_employee(person: OptionalEmployee) -> Person:
    """The employee of the session (opened by a kiosk face login); LoginRequired -> /kiosk otherwise."""
    if person is None:
        raise LoginRequired("log in at the kiosk first", login_url=EMPLOYEE_LOGIN_URL)
    return person


CurrentEmployee = Annotated[Person, Depends(get_current_employee)]


# CSRF ----------------------------------------------------------------------------------------------
def _check_csrf_value(request: Request, presented: str | None) -> None:
    expected = request.session.get("csrf")
    if not expected or not presented or not security.constant_time_equals(str(presented), str(expected)):
        raise CsrfError("missing or wrong CSRF token: reload the page and try again")


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
