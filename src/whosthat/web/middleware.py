"""What wraps every HTTP request: security headers (a Content-Security-Policy that allows no inline
script, no framing, no referrer), the request body size limit enforced before the body is read, and
the request metrics (counts by route template and status class, latency)."""

from __future__ import annotations

import time

from fastapi.responses import JSONResponse

from whosthat.services.runtime import Runtime
from whosthat.web.errors import error_body

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
        state = {"over": False, "answered": False}

        async def limited_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    state["over"] = True
                    raise _BodyTooLarge()
            return message

        async def guarded_send(message):
            # A parser that caught _BodyTooLarge answers 400 ("error parsing the body"): once the body
            # went over the limit, the answer is our 413 instead, whatever the route would have said.
            if state["over"]:
                if not state["answered"]:
                    state["answered"] = True
                    await self._reject(scope, receive, send)
                return
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except _BodyTooLarge:
            pass
        if state["over"] and not state["answered"]:
            state["answered"] = True
            await self._reject(scope, receive, send)

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
