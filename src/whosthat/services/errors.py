"""Errors of the web layer, each with an error code and HTTP status.

All subclass `whosthat.errors.BadInputError`, so the command line turns them into exit 2 and the
API into `{"error": code, "detail": text}` with `http_status`.
"""

from __future__ import annotations

from whosthat.errors import BadInputError


class NotFoundError(BadInputError):
    code = "not_found"
    http_status = 404


class ConflictError(BadInputError):
    code = "conflict"
    http_status = 409


class ValidationError(BadInputError):
    code = "invalid"
    http_status = 422


class AuthenticationError(BadInputError):
    """No or wrong credentials."""

    code = "unauthenticated"
    http_status = 401


class PermissionDeniedError(BadInputError):
    """Authenticated, but the role or the API key's scopes do not allow this."""

    code = "forbidden"
    http_status = 403


class CsrfError(BadInputError):
    code = "csrf_failed"
    http_status = 403


class LockedOutError(BadInputError):
    """Too many failures or requests; `retry_after_s` says when to try again."""

    code = "too_many_attempts"
    http_status = 429

    def __init__(self, message: str, retry_after_s: int):
        super().__init__(message)
        self.retry_after_s = retry_after_s


class UnavailableError(BadInputError):
    """A part the request needs is not available on this server (e.g. liveness not installed)."""

    code = "unavailable"
    http_status = 503


class PayloadTooLargeError(BadInputError):
    code = "payload_too_large"
    http_status = 413
