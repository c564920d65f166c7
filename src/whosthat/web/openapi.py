"""The OpenAPI document as the server really answers: every operation declares the error statuses
the error handlers (web/errors.py) can send, each with the one error body
`{"error": code, "detail": text, ...}`, instead of FastAPI's default 422 schema that nothing sends.
429 and 503 declare `Retry-After`. Checked by the schema fuzz (tests/fuzz/test_schema_fuzz.py)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

ERROR_BODY = {
    "title": "Error",
    "type": "object",
    "required": ["error", "detail"],
    "properties": {
        "error": {"type": "string", "description": "a stable code, e.g. invalid_request, not_found, no_face"},
        "detail": {"type": "string", "description": "one line for a person"},
        "retry_after": {"type": "integer", "description": "429 and 503: seconds until a retry may succeed"},
        "reasons": {
            "type": "array",
            "items": {"type": "string"},
            "description": "low_quality: each failed rule",
        },
        "field": {"type": "string", "description": "consent_required: the field that records the consent"},
    },
    "additionalProperties": True,
}
ERROR_STATUSES = {
    "400": "bad input (malformed JSON, an empty upload, a bad kiosk name, ...)",
    "401": "no or wrong credentials",
    "403": "missing scope or CSRF token",
    "404": "no such resource",
    "405": "method not allowed",
    "409": "conflicts with an existing record",
    "413": "the body or the image is too large",
    "422": "a field is missing or invalid, or the image cannot be used",
    "429": "too many attempts: locked out for a while",
    "503": "a part is unavailable or the face-work pool is full",
}
RETRY_AFTER = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}}


def _error_response(description: str, status: str) -> dict:
    out = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    if status in ("429", "503"):
        out["headers"] = RETRY_AFTER
    return out


def declare_errors(document: dict) -> dict:
    """Add the error responses to every operation of an OpenAPI document (in place; returned)."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR_BODY
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    for path_item in document.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            responses = operation.setdefault("responses", {})
            for status, description in ERROR_STATUSES.items():
                responses[status] = _error_response(
                    responses.get(status, {}).get("description") or description, status
                )
    return document


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict:
        if app.openapi_schema is None:
            app.openapi_schema = declare_errors(
                get_openapi(
                    title=app.title, version=app.version, description=app.description, routes=app.routes
                )
            )
        return app.openapi_schema

    app.openapi = openapi
