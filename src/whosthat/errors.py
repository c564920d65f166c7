"""Exceptions that carry a user-facing reason.

`BadInputError` and its subclasses mean "the caller gave us something we cannot use": the command
line exits 2 with the message, the HTTP API answers 4xx with `{"error": code, "detail": message}`.
"""

from __future__ import annotations


class WhosthatError(Exception):
    """Base class for every error this package raises on purpose."""

    code = "error"


class BadInputError(WhosthatError):
    """The input cannot be used; the message says why in one line."""

    code = "bad_input"
    http_status = 400


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
