"""Exceptions that carry a user-facing reason.

`BadInputError` and its subclasses mean "the caller gave us something we cannot use": the command
line exits 2 with the message, the HTTP API answers 4xx with `{"error": code, "detail": message}`.
"""

from __future__ import annotations


class WhosthatError(Exception):
    """Base class for every error this package raises on purpose."""

    code = "error"


class BadInputError(WhosthatError):
    """The input cannot be used; the message says why in one line.

    A form's page shows it beside the field it is about: `field` (the input's name, e.g. "name"; when
    the message is an i18n.M_ message with a `field` value, e.g. M_("%(field)s must not be empty",
    field="name"), the page puts the field's own label there: "First name must not be empty"),
    `refers` (who or what it is about, e.g. ("person", 3, "Alice Smith") for a taken employee code;
    the page links to it). `field_errors`: every field's error when a form had
    several (this one first); the API and the command line show this one's message.
    """

    code = "bad_input"
    http_status = 400
    field: str | None = None
    refers: tuple[str, int, str] | None = None

    def __init__(self, *args, field=None, refers=None):
        super().__init__(*args)
        if field is not None:
            self.field = field
        if refers is not None:
            self.refers = refers

    @property
    def field_errors(self) -> list[BadInputError]:
        return getattr(self, "_field_errors", None) or [self]

    def with_others(self, errors: list[BadInputError]) -> BadInputError:
        """This error, carrying `errors` (all of the form's, this one among them) as field_errors."""
        self._field_errors = [self, *(e for e in errors if e is not self)]
        return self


class ImageError(BadInputError):
    """Not a decodable image, or one outside the size limits."""

    code = "bad_image"
    http_status = 422


class ImageTooLargeError(ImageError):
    code = "image_too_large"
    http_status = 413


class NoFaceError(BadInputError):
    code = "no_face"
    http_status = 422


class MultipleFacesError(BadInputError):
    code = "multiple_faces"
    http_status = 422


class QualityError(BadInputError):
    """A face was found but is not good enough for enrollment; `reasons` lists each failed rule."""

    code = "low_quality"
    http_status = 422

    def __init__(self, message: str, reasons: list[str] | None = None):
        super().__init__(message)
        self.reasons = reasons or []


class UnknownModelError(BadInputError):
    code = "unknown_model"
    http_status = 400
