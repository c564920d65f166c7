"""The web application: `create_app()` wires settings, the runtime, middleware, error handlers, the
JSON API (web/api), the HTML pages (web/pages) and the static assets.

Security defaults: signed session cookie (HttpOnly, SameSite=Lax, Secure when
WHOSTHAT_SESSION_HTTPS_ONLY=true), the security headers and body size limit of middleware.py, and
JSON errors `{"error": code, "detail": text}` (errors.py).
"""

from __future__ import annotations

import sys
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from whosthat.config import Settings, get_settings
from whosthat.services import access, consent, reembed
from whosthat.services.common import Context
from whosthat.services.runtime import Runtime
from whosthat.web.api import (
    apikeys,
    attendance,
    audit,
    auth,
    corrections,
    docs,
    health,
    kiosks,
    liveness,
    people,
    pin,
    recognition,
    schedules,
    templates,
    timesheets,
)
from whosthat.web.api import (
    consent as consent_api,
)
from whosthat.web.deps import ADMIN_SESSION_MAX_AGE_S
from whosthat.web.errors import install_error_handlers
from whosthat.web.logs import RequestContextMiddleware
from whosthat.web.middleware import BodySizeLimitMiddleware, MetricsMiddleware, SecurityHeadersMiddleware
from whosthat.web.openapi import install_openapi
from whosthat.web.pages import PAGE_ROUTERS

STATIC_DIR = Path(__file__).with_name("static")
SESSION_COOKIE = "whosthat_session"
# A request body may carry a few images (the admin form uploads several photos at once); each image is
# still held to settings.max_upload_bytes on its own. Multipart framing is small.
IMAGES_PER_REQUEST = 3
MULTIPART_SLACK_BYTES = 64 * 1024
API_ROUTERS = [
    health.router,
    people.router,
    consent_api.router,
    templates.router,
    recognition.router,
    attendance.router,
    corrections.router,
    schedules.router,
    timesheets.router,
    apikeys.router,
    audit.router,
    auth.router,
    liveness.router,
    kiosks.router,
    pin.router,
    docs.router,
]


def limit_malloc_arenas(arenas: int) -> bool:
    """glibc: at most `arenas` malloc arenas from now on (mallopt M_ARENA_MAX), so that memory freed by
    one request thread is reused by the next instead of each thread keeping its own peak. Returns
    whether it was applied (not on other C libraries, or with arenas=0)."""
    if arenas <= 0 or not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(-8, int(arenas)))  # M_ARENA_MAX
    except (OSError, AttributeError):
        return False


def admin_create_command(settings: Settings) -> str:
    """The exact command that creates the first administrator of this server: its own `whosthat`
    executable (e.g. .venv/bin/whosthat, which is not on the PATH) and its WHOSTHAT_HOME (and database,
    when set), so the account lands in this server's database and not in ./var."""
    import shlex
    from pathlib import Path

    exe = Path(sys.executable).parent / "whosthat"
    if exe.exists():
        try:
            exe = exe.relative_to(Path.cwd())
        except ValueError:
            pass
        command = str(exe) if exe.is_absolute() or "/" in str(exe) else f"./{exe}"
    else:
        command = "whosthat"
    env = f"WHOSTHAT_HOME={shlex.quote(str(settings.home.resolve()))}"
    if settings.database_url:
        env += (
            " WHOSTHAT_DATABASE_URL=..."  # the same URL the server uses (not printed: it may hold a password)
        )
    return f"{env} {command} admin create NAME --password-stdin"


def api_version() -> str:
    """The OpenAPI document's version: the API's (v1, the path prefix) and the installed package's."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"v1 (whosthat {version('whosthat')})"
    except PackageNotFoundError:
        return "v1"


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    """Build the app. Opens (and migrates) the database now; the face pipeline loads on first use."""
    settings = settings or get_settings()
    limit_malloc_arenas(settings.malloc_arenas)
    runtime = runtime or Runtime.from_settings(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        with Context.open(runtime) as ctx:
            token = access.ensure_setup_token(ctx)
            hints = [reembed.migration_hint(ctx), reembed.gallery_size_hint(ctx)]
        for hint in filter(None, hints):
            print(f"\nwhosthat: {hint}\n", file=sys.stderr, flush=True)
        app.state.setup_token = token
        if getattr(app.state, "warm_up", False):  # `whosthat serve`: load the gallery before traffic
            runtime.warm_up()
        if token:
            base = getattr(app.state, "public_url", None) or "http://127.0.0.1:8000"
            print(
                "\nwhosthat: no administrator yet. Create one with (the same home, or it lands elsewhere)\n"
                f"    {admin_create_command(runtime.settings)}\n"
                f"or open this one-time setup link:\n    {base}/setup?token={token}\n",
                file=sys.stderr,
                flush=True,
            )
        retention = consent.RetentionSchedule(runtime).start()  # only when a retention setting is on
        yield
        retention.stop()
        if getattr(app.state, "owns_runtime", False):
            runtime.close()  # checkpoints the WAL first
        else:
            runtime.database.checkpoint()

    app = FastAPI(
        title="whosthat HTTP API",
        version=api_version(),
        description="Face login and attendance. JSON API under /api/v1; see docs/api.md.",
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    app.state.settings = settings
    app.state.setup_token = None

    install_error_handlers(app)
    install_openapi(app)

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
    app.add_middleware(RequestContextMiddleware)  # outermost: every log line knows its request id

    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    for router in API_ROUTERS + PAGE_ROUTERS:
        app.include_router(router)
    app.state.api_routers = API_ROUTERS  # /docs reads each endpoint's required scope from them
    return app
