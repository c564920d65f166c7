"""The web application: `create_app()` wires settings, database, middleware, error handlers, the JSON API,
the liveness WebSocket, static assets, templates and (when present) the HTML pages.

Security defaults: signed session cookie (HttpOnly, SameSite=Lax, Secure when
WHOSTHAT_SESSION_HTTPS_ONLY=true), a Content-Security-Policy that allows no inline script, no framing,
strict referrer policy, upload size limit enforced before the body is read, and JSON errors
`{"error": code, "detail": text}` (4xx for the caller's mistakes, never a 500 for them).
"""

from __future__ import annotations

import html
import importlib
import json
import logging
import sys
import time
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from whosthat.config import Settings, get_settings
from whosthat.errors import BadInputError, QualityError
from whosthat.web.deps import ADMIN_SESSION_MAX_AGE_S, LoginRequired, csrf_token
from whosthat.web.errors import LockedOutError
from whosthat.web.runtime import Runtime

log = logging.getLogger("whosthat.web")
WEB_DIR = Path(__file__).parent
SESSION_COOKIE = "whosthat_session"
# A request body may carry a few images (the admin form uploads several photos at once); each image is
# still held to settings.max_upload_bytes on its own. Multipart framing is small.
IMAGES_PER_REQUEST = 3
MULTIPART_SLACK_BYTES = 64 * 1024

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob: mediastream:",
        "connect-src 'self' ws: wss:",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"permissions-policy", b"camera=(self), microphone=(), geolocation=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
]


def error_body(code: str, detail: str, **extra) -> dict:
    return {"error": code, "detail": detail, **extra}


class SecurityHeadersMiddleware:
    """Adds the security headers (and HSTS under HTTPS) to every HTTP response."""

    def __init__(self, app, https_only: bool):
        self.app = app
        self.headers = list(SECURITY_HEADERS)
        if https_only:
            self.headers.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + [
                    h for h in self.headers if h[0] not in present
                ]
                if scope["path"].startswith("/api/") and b"cache-control" not in present:
                    message["headers"].append((b"cache-control", b"no-store"))
            await send(message)

        return await self.app(scope, receive, send_with_headers)


class BodySizeLimitMiddleware:
    """Answers 413 before reading a body whose Content-Length is over the limit, and stops streaming
    (chunked) bodies as soon as they pass it."""

    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None:
            try:
                too_big = int(length) > self.max_bytes
            except ValueError:
                response = JSONResponse(
                    error_body("bad_request", "invalid Content-Length header"), status_code=400
                )
                return await response(scope, receive, send)
            if too_big:
                return await self._reject(scope, receive, send)
        seen = 0

        async def limited_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _BodyTooLarge()
            return message

        try:
            return await self.app(scope, limited_receive, send)
        except _BodyTooLarge:
            return await self._reject(scope, receive, send)

    async def _reject(self, scope, receive, send):
        response = JSONResponse(
            error_body("payload_too_large", f"request body is over the limit of {self.max_bytes} bytes"),
            status_code=413,
            headers={"connection": "close"},
        )
        await response(scope, receive, send)


class _BodyTooLarge(Exception):
    pass


class MetricsMiddleware:
    """Counts requests by route template and status class, and observes their latency."""

    def __init__(self, app, runtime: Runtime):
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start = time.perf_counter()
        status = {"code": 500}

        async def send_status(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None) or (
                "static" if scope["path"].startswith("/static") else "other"
            )
            m = self.runtime.metrics
            m.inc(
                "whosthat_http_requests_total",
                "HTTP requests",
                method=scope["method"],
                route=path,
                status=f"{status['code'] // 100}xx",
            )
            m.observe(
                "whosthat_http_request_seconds",
                "HTTP request latency",
                time.perf_counter() - start,
                route=path,
            )


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get("accept", "")


def _install_error_handlers(app: FastAPI) -> None:
    templates: Jinja2Templates = app.state.templates

    def render(request: Request, status: int, code: str, detail: str, headers=None, **extra) -> Response:
        if _wants_html(request) and (WEB_DIR / "templates" / "error.html").exists():
            try:
                return templates.TemplateResponse(
                    request,
                    "error.html",
                    {"status": status, "error": code, "detail": detail, "csrf_token": csrf_token(request)},
                    status_code=status,
                    headers=headers,
                )
            except Exception:  # a broken error page must not hide the error
                log.exception("error.html failed to render")
        return JSONResponse(error_body(code, detail, **extra), status_code=status, headers=headers)

    @app.exception_handler(BadInputError)
    async def bad_input(request: Request, exc: BadInputError):
        if isinstance(exc, LoginRequired) and _wants_html(request) and request.method == "GET":
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"{exc.login_url}?next={quote(target, safe='')}", status_code=303)
        headers = None
        extra = {}
        if isinstance(exc, LockedOutError):
            headers = {"Retry-After": str(exc.retry_after_s)}
            extra["retry_after"] = exc.retry_after_s
        if isinstance(exc, QualityError):
            extra["reasons"] = exc.reasons
        status = getattr(exc, "http_status", 400)
        if status == 401:
            headers = {**(headers or {}), "WWW-Authenticate": 'ApiKey header="X-API-Key"'}
        return render(request, status, exc.code, str(exc), headers, **extra)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return render(request, 400, "malformed_json", "the request body is not valid JSON")
        parts = []
        for e in errors[:5]:
            where = ".".join(str(p) for p in e.get("loc", ()) if p != "body")
            parts.append(f"{where}: {e.get('msg')}" if where else str(e.get("msg")))
        return render(request, 422, "invalid_request", "; ".join(parts) or "invalid request")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        codes = {
            404: "not_found",
            405: "method_not_allowed",
            401: "unauthenticated",
            403: "forbidden",
            413: "payload_too_large",
            400: "bad_request",
        }
        detail = exc.detail if isinstance(exc.detail, str) else "request failed"
        return render(
            request,
            exc.status_code,
            codes.get(exc.status_code, "http_error"),
            detail,
            getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return render(request, 500, "internal", "internal server error (logged)")


def _docs_page(app: FastAPI) -> str:
    """A self-contained HTML rendering of the OpenAPI document (no CDN: works offline)."""
    spec = app.openapi()
    rows = []
    for path, methods in spec.get("paths", {}).items():
        for method, op in methods.items():
            params = ", ".join(p["name"] for p in op.get("parameters", []))
            rows.append(
                f"<tr><td><code>{method.upper()}</code></td><td><code>{html.escape(path)}</code></td>"
                f"<td>{html.escape(op.get('summary', ''))}<br><small>{html.escape(op.get('description', '') or '')[:400]}"
                f"</small></td><td>{html.escape(params)}</td></tr>"
            )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>whosthat API</title>"
        "<link rel='stylesheet' href='/static/css/app.css'></head><body><main class='panel'>"
        f"<h1>{html.escape(spec['info']['title'])} {html.escape(spec['info']['version'])}</h1>"
        "<p>Machine-readable: <a href='/openapi.json'>/openapi.json</a>. Guide: docs/api.md.</p>"
        "<table><thead><tr><th>Method</th><th>Path</th><th>What</th><th>Parameters</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></main></body></html>"
    )


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    """Build the app. Opens (and migrates) the database now; the face pipeline loads on first use."""
    settings = settings or get_settings()
    runtime = runtime or Runtime.from_settings(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        from whosthat.web.services import Services

        with runtime.database.session() as db:
            token = Services(runtime, db).ensure_setup_token()
        app.state.setup_token = token
        if token:
            base = getattr(app.state, "public_url", None) or "http://127.0.0.1:8000"
            print(
                "\nwhosthat: no administrator yet. Create one with\n"
                "    whosthat admin create NAME --password-stdin\n"
                f"or open this one-time setup link:\n    {base}/setup?token={token}\n",
                file=sys.stderr,
                flush=True,
            )
        yield
        if getattr(app.state, "owns_runtime", False):
            runtime.close()

    app = FastAPI(
        title="whosthat",
        version="1",
        description="Face login and attendance. JSON API under /api/v1; see docs/api.md.",
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    app.state.settings = settings
    app.state.setup_token = None
    app.state.templates = Jinja2Templates(directory=str(WEB_DIR / "templates"))
    app.state.templates.env.globals["csrf_token"] = csrf_token

    _install_error_handlers(app)

    # Middleware: the last added runs first (outermost).
    app.add_middleware(
        SessionMiddleware,
        secret_key=runtime.cipher.signing_key,
        session_cookie=SESSION_COOKIE,
        max_age=ADMIN_SESSION_MAX_AGE_S,
        same_site="lax",
        https_only=settings.session_https_only,
    )
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=settings.max_upload_bytes * IMAGES_PER_REQUEST + MULTIPART_SLACK_BYTES,
    )
    app.add_middleware(MetricsMiddleware, runtime=runtime)
    app.add_middleware(SecurityHeadersMiddleware, https_only=settings.session_https_only)

    static_dir = WEB_DIR / "static"
    static_dir.mkdir(exist_ok=True)
    app.mount("/static", StaticFiles(directory=str(static_dir)), name="static")

    from whosthat.web.routes import api, health, liveness

    app.include_router(health.router)
    app.include_router(api.router)
    app.include_router(liveness.router)
    try:
        pages = importlib.import_module("whosthat.web.routes.pages")
    except ModuleNotFoundError as exc:
        if exc.name != "whosthat.web.routes.pages":
            raise
    else:
        app.include_router(pages.router)

    @app.get("/docs", include_in_schema=False, response_class=HTMLResponse)
    def docs() -> HTMLResponse:
        return HTMLResponse(_docs_page(app))

    @app.get("/api/v1", include_in_schema=False)
    def api_root() -> Response:
        return Response(
            json.dumps({"openapi": "/openapi.json", "docs": "/docs"}), media_type="application/json"
        )

    return app
