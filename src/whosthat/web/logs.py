"""Structured logs: one JSON object per line on stderr, each carrying the request id of the request
it belongs to; one access line per HTTP request.

Request ids: a client's `X-Request-ID` is kept when it is 1-64 characters of [A-Za-z0-9._-], else a
new one is made; it is echoed in the response's `X-Request-ID` and in every log line written while the
request is handled (the id lives in a context variable, which FastAPI's thread pool carries along).

What is logged: method, the route *template* (`/api/v1/people/{person_id}`, never the raw path or the
query string, which can hold one-time tokens), status, duration, request id. Never images,
embeddings, names, passwords, API keys or cookies: the services log none, and this module's fields
are the only ones the formatter writes besides the message.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from contextvars import ContextVar

request_id_var: ContextVar[str | None] = ContextVar("whosthat_request_id", default=None)
REQUEST_ID_HEADER = "X-Request-ID"
_VALID_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
FIELDS = ("method", "route", "status", "duration_ms", "kiosk", "event")
access_log = logging.getLogger("whosthat.access")


class JsonFormatter(logging.Formatter):
    """A log record as one JSON line: ts, level, logger, msg, request_id, the FIELDS present, exc."""

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or request_id_var.get(),
        }
        for name in FIELDS:
            if hasattr(record, name):
                out[name] = getattr(record, name)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def log_config(level: str = "info") -> dict:
    """logging.config.dictConfig for `whosthat serve`: uvicorn's and whosthat's loggers as JSON lines
    (uvicorn's own access log is off: it prints raw paths with their query strings)."""
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "whosthat.web.logs.JsonFormatter"}},
        "handlers": {"json": handler},
        "loggers": {
            "uvicorn": {"handlers": ["json"], "level": level.upper(), "propagate": False},
            "uvicorn.error": {"handlers": ["json"], "level": level.upper(), "propagate": False},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
            "whosthat": {"handlers": ["json"], "level": level.upper(), "propagate": False},
        },
    }


def request_id_from(headers: list[tuple[bytes, bytes]]) -> str:
    for key, value in headers:
        if key.lower() == b"x-request-id":
            text = value.decode("latin-1")
            if _VALID_ID.match(text):
                return text
            break
    return uuid.uuid4().hex


class RequestContextMiddleware:
    """Pure ASGI: the request id (context variable, response header) and the access line."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        rid = request_id_from(scope.get("headers") or [])
        token = request_id_var.set(rid)
        start = time.perf_counter()
        status = {"code": None}

        async def send_with_id(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode("latin-1"))]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or (
                "static" if scope["path"].startswith("/static") else "other"
            )
            if scope["type"] == "http":
                access_log.info(
                    "request",
                    extra={
                        "method": scope["method"],
                        "route": template,
                        "status": status["code"] or 500,
                        "duration_ms": round((time.perf_counter() - start) * 1000, 1),
                    },
                )
            request_id_var.reset(token)
