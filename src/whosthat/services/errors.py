"""Errors the services raise for the caller's mistakes, each with an error code and HTTP status.

All subclass `whosthat.errors.BadInputError`, so the command line turns them into exit 2 and the
API into `{"error": code, "detail": text}` with `http_status`; the pages show the text.
"""

from __future__ import annotations

from whosthat.errors import BadInputError
from whosthat.i18n import M_


class NotFoundError(BadInputError):
    code = "not_found"
    http_status = 404


class ConflictError(BadInputError):
    code = "conflict"
    http_status = 409


class DuplicateFaceError(ConflictError):
    """The face being enrolled already matches another enrolled person (within the match threshold);
    nothing was stored. `matches` (services.templates.DuplicateMatch): which photo matched whom. The
    caller repeats the request with confirm_duplicate to enrol anyway."""

    code = "duplicate_face"

    def __init__(self, matches: list):
        first = matches[0]
        distance = f"{first.distance:.3f}"
        super().__init__(
            M_(
                "%(photo)s already matches %(name)s (%(code)s, id %(id)s) at distance %(distance)s: the "
                "same face would be recognised as two people; confirm to enrol anyway",
                photo=first.label,
                name=first.full_name,
                code=first.employee_code,
                id=first.person_id,
                distance=distance,
            )
        )
        self.matches = matches


class ValidationError(BadInputError):
    code = "invalid"
    http_status = 422


class PhotosRejectedError(ValidationError):
    """Enrolment photos that failed the checks, nothing stored; `lines` says, per photo, what was wrong
    (already sentences), and the last line what happened to the whole batch. A form shows it beside
    its photos (field "photos")."""

    field = "photos"

    def __init__(self, lines: list[str]):
        super().__init__(" ".join(lines))
        self.lines = lines


class ConsentRequiredError(ValidationError):
    """A face template would be stored for a person without consent in force (never given, or
    withdrawn); nothing was stored. `field`: the form or API field that records the consent."""

    code = "consent_required"

    def __init__(self, message: str, field: str = "consent_version"):
        super().__init__(message, field=field)


class ConfirmationError(ValidationError):
    """A destructive action was not confirmed as asked (e.g. the employee code retyped); nothing changed."""


class AuthenticationError(BadInputError):
    """No or wrong credentials."""

    code = "unauthenticated"
    http_status = 401


class InvalidSetupTokenError(AuthenticationError):
    """The first-run setup link is invalid, used or expired, or an administrator exists already."""


class PermissionDeniedError(BadInputError):
    """Authenticated, but the role or the API key's scopes do not allow this."""

    code = "forbidden"
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


class BusyError(UnavailableError):
    """The face-work pool is full (services.limits.WorkPool); `retry_after_s` says when to try again."""

    code = "busy"

    def __init__(self, message: str, retry_after_s: int):
        super().__init__(message)
        self.retry_after_s = retry_after_s


class PayloadTooLargeError(BadInputError):
    code = "payload_too_large"
    http_status = 413
