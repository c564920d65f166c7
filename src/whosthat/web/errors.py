"""How errors become responses: JSON `{"error": code, "detail": text}` for the API (4xx for the
caller's mistakes, never a 500 for them), the error page for a browser asking for HTML.

The pages show their own errors first (pages/common.py); these handlers answer everything else:
the API, CSRF failures, unknown paths, request validation, and anything unexpected (logged, 500).
"""

from __future__ import annotations

import logging
import re
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from whosthat.errors import BadInputError, QualityError
from whosthat.i18n import N_, Message
from whosthat.services.errors import BusyError, ConsentRequiredError, DuplicateFaceError, LockedOutError
from whosthat.web.deps import csrf_token
from whosthat.web.language import localise
from whosthat.web.rendering import templates

log = logging.getLogger("whosthat.web")

HTTP_ERROR_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
}


# What the error page says for the statuses whose text comes from the framework (in English only),
# in the reader's language.
PAGE_DETAILS = {
    403: N_("You are not allowed to do that here. Reload the page and try again."),
    404: N_("There is no page at this address."),
    405: N_("This page cannot be used that way."),
    500: N_("Something went wrong on our side; it has been logged. Please try again in a moment."),
}


def error_body(code: str, detail: str, **extra) -> dict:
    return {"error": code, "detail": str(detail), **extra}


def _page_detail(request: Request, status: int, detail: str) -> str:
    if status in PAGE_DETAILS and detail in (HTTPStatus(status).phrase, "internal server error (logged)"):
        return localise(request, PAGE_DETAILS[status])
    return localise(request, detail)


def wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get("accept", "")


def error_response(request: Request, status: int, code: str, detail: str, headers=None, **extra) -> Response:
    """The error page for a browser asking for HTML outside /api, the JSON error body otherwise."""
    if wants_html(request):
        try:
            return templates.TemplateResponse(
                request,
                "error.html",
                {
                    "status": status,
                    "error": code,
                    "detail": _page_detail(request, status, detail),
                    "csrf_token": csrf_token(request),
                },
                status_code=status,
                headers=headers,
            )
        except Exception:  # a broken error page must not hide the error
            log.exception("error.html failed to render")
    return JSONResponse(error_body(code, detail, **extra), status_code=status, headers=headers)


def allowed_methods(request: Request, named: str = "") -> list[str]:
    """Every method the API document declares at this request's path, with those Starlette named."""
    methods = {m.strip().upper() for m in named.split(",") if m.strip()}
    paths = getattr(request.app.state, "openapi_path_methods", None)
    if paths is None:
        paths = []
        for template, item in request.app.openapi().get("paths", {}).items():
            pattern = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$"
            paths.append((re.compile(pattern), {m.upper() for m in item}))
        request.app.state.openapi_path_methods = paths
    for regex, declared in paths:
        if regex.match(request.url.path):
            methods |= declared
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(BadInputError)
    async def bad_input(request: Request, exc: BadInputError):
        headers = None
        extra = {}
        if isinstance(exc, LockedOutError | BusyError):
            headers = {"Retry-After": str(exc.retry_after_s)}
            extra["retry_after"] = exc.retry_after_s
        if isinstance(exc, QualityError):
            extra["reasons"] = exc.reasons
        if isinstance(exc, DuplicateFaceError):
            extra["duplicate_of"] = exc.matches[0].to_dict()
        if isinstance(exc, ConsentRequiredError):
            extra["field"] = exc.field
        status = getattr(exc, "http_status", 400)
        if status == 401:
            headers = {**(headers or {}), "WWW-Authenticate": 'ApiKey header="X-API-Key"'}
        message = exc.args[0] if exc.args and isinstance(exc.args[0], Message) else str(exc)
        return error_response(request, status, exc.code, message, headers, **extra)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return error_response(request, 400, "malformed_json", "the request body is not valid JSON")
        parts = []
        for e in errors[:5]:
            where = ".".join(str(p) for p in e.get("loc", ()) if p != "body")
            parts.append(f"{where}: {e.get('msg')}" if where else str(e.get("msg")))
        return error_response(request, 422, "invalid_request", "; ".join(parts) or "invalid request")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        detail = exc.detail if isinstance(exc.detail, str) else "request failed"
        code = HTTP_ERROR_CODES.get(exc.status_code, "http_error")
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:
            # Starlette names the methods of the first route of the path only; a path served by
            # several routes (GET and POST /people) allows all of theirs.
            named = (headers or {}).get("Allow", "")
            headers = {**(headers or {}), "Allow": ", ".join(allowed_methods(request, named))}
        return error_response(request, exc.status_code, code, detail, headers)

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(request, 500, "internal", "internal server error (logged)")
