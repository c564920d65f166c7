"""What every service shares: the `Context` a call works in, who is acting (`Actor`, the scopes),
one page of a listing (`Page`), and the input checks (text fields, row ids, paging, images).

Service functions are module-level verbs that take the context first:

    with Context.open(runtime, address="203.0.113.7") as ctx:
        person = people.create_person(ctx, employee_code="E-001", name="Ada", surname="Lovelace", actor=admin)

Rules every service function follows:
- Mutating functions commit their own transaction (`ctx.commit()`); on an error nothing is written.
- Bad input raises a `whosthat.errors.BadInputError` subclass (services/errors.py: NotFoundError,
  ConflictError, ValidationError, AuthenticationError, LockedOutError, ...), carrying `code`,
  `http_status` and a one-line message.
- Entities come back as the ORM objects of store/models.py (attributes stay readable after commit);
  computed results as small dataclasses.
- The audit log records who did what to which target, never images, embeddings or chips.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from whosthat.errors import BadInputError
from whosthat.i18n import M_
from whosthat.services.errors import (
    ConflictError,
    PayloadTooLargeError,
    PermissionDeniedError,
    ValidationError,
)
from whosthat.services.runtime import Runtime
from whosthat.store.models import Admin, ApiKey, Person

# Scopes an API key can carry. An admin session has all of them; a viewer session the read ones.
SCOPES: dict[str, str] = {
    "people:read": "list and read people and their templates' metadata",
    "people:write": "create, edit and delete people; enrol and delete templates",
    "identify": "1:N identification and 1:1 verification",
    "attendance:read": "read attendance and download the CSV report",
    "attendance:write": "record attendance events",
    "audit:read": "read the audit log",
    "admin": "everything, including API keys",
}
READ_SCOPES = frozenset({"people:read", "attendance:read", "audit:read"})
ROLES = ("admin", "viewer")
MAX_ID = 2**31 - 1  # row ids are 32-bit on every backend; larger ones cannot exist
MAX_PAGE_SIZE = 200  # rows per page of a listing, unless a listing says otherwise
MAX_PAGE = 1_000_000  # pages of a listing: the row offset stays far inside a 64-bit integer


def site_timezone(settings) -> ZoneInfo:
    """settings.timezone as a ZoneInfo; UTC when unset or unknown."""
    try:
        return ZoneInfo(getattr(settings, "timezone", "UTC") or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


# The context of a call ---------------------------------------------------------------------------
@dataclass
class Context:
    """One unit of work: the process's Runtime, one database session, and the caller's IP address
    (`address`, for the audit log and the lockouts; "cli" for commands)."""

    runtime: Runtime
    db: Session
    address: str | None = None

    def __post_init__(self) -> None:
        self.address = (self.address or "")[:64] or None

    @classmethod
    @contextmanager
    def open(cls, runtime: Runtime, address: str | None = None) -> Iterator[Context]:
        """A context on a new database session, closed (uncommitted work rolled back) at the end."""
        with runtime.database.session() as db:
            yield cls(runtime, db, address)

    @cached_property
    def tz(self) -> ZoneInfo:
        """The site's time zone: local days and times (see site_timezone)."""
        return site_timezone(self.runtime.settings)

    def commit(self) -> None:
        """Commit; a uniqueness violation becomes ConflictError (and the transaction is rolled back)."""
        try:
            self.db.commit()
        except IntegrityError as exc:
            self.db.rollback()
            raise ConflictError(M_("this conflicts with an existing record (duplicate value)")) from exc


# Who is acting -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Actor:
    """Who makes a request: an admin session, an API key, a kiosk, an employee session or the system.

    kind: "admin" | "apikey" | "kiosk" | "employee" | "system"; id: the row id (admin, API key, person);
    name: username / key name / kiosk name; role: "admin" | "viewer" for admin sessions;
    scopes: what it may do (see SCOPES).
    """

    kind: str
    id: int | None = None
    name: str = ""
    role: str | None = None
    scopes: frozenset[str] = frozenset()

    @property
    def label(self) -> str:
        """How the audit log names this actor, e.g. "admin:alice", "apikey:3:payroll", "kiosk:lobby"."""
        if self.kind == "apikey":
            return f"apikey:{self.id}:{self.name}"[:80]
        return f"{self.kind}:{self.name}"[:80] if self.name else self.kind

    def has(self, scope: str) -> bool:
        return "admin" in self.scopes or scope in self.scopes

    def require(self, scope: str) -> None:
        """Raise PermissionDeniedError unless this actor has `scope`."""
        if not self.has(scope):
            raise PermissionDeniedError(M_("this needs the %(scope)s permission", scope=repr(scope)))

    @classmethod
    def for_admin(cls, admin: Admin) -> Actor:
        scopes = frozenset(SCOPES) if admin.role == "admin" else READ_SCOPES
        return cls("admin", admin.id, admin.username, admin.role, scopes)

    @classmethod
    def for_api_key(cls, key: ApiKey) -> Actor:
        return cls("apikey", key.id, key.name, None, frozenset(key.scope_list))

    @classmethod
    def for_employee(cls, person: Person) -> Actor:
        return cls("employee", person.id, person.employee_code)

    @classmethod
    def for_kiosk(cls, kiosk: str) -> Actor:
        return cls("kiosk", None, kiosk)


SYSTEM = Actor("system", None, "cli", "admin", frozenset(SCOPES))


# Results -----------------------------------------------------------------------------------------
@dataclass
class Page:
    """One page of a listing: items, page (from 1), size, total items, pages."""

    items: list[Any]
    page: int
    size: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def has_prev(self) -> bool:
        return self.page > 1


# Input checks ------------------------------------------------------------------------------------
def clean_text(
    value: Any, what: str, max_len: int, *, required: bool = True, field: str | None = None
) -> str:
    """A text field with runs of whitespace collapsed; ValidationError when missing, empty (if
    required), too long or containing control characters. `field`: the form field the error is about
    (a page then names it by its own label in place of `what`)."""
    if value is None:
        if required:
            raise ValidationError(M_("%(field)s is required", field=what), field=field)
        return ""
    if not isinstance(value, str):
        raise ValidationError(M_("%(field)s must be text", field=what), field=field)
    value = " ".join(value.split())
    if required and not value:
        raise ValidationError(M_("%(field)s must not be empty", field=what), field=field)
    if len(value) > max_len:
        raise ValidationError(
            M_("%(field)s is longer than %(max)d characters", field=what, max=max_len), field=field
        )
    if any(ord(c) < 32 for c in value):
        raise ValidationError(M_("%(field)s contains control characters", field=what), field=field)
    return value


def valid_id(value: Any) -> bool:
    """Whether `value` can be a row id (an int in 1..MAX_ID; bools are not ids)."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID


def check_paging(page: int, size: int, max_size: int = MAX_PAGE_SIZE) -> tuple[int, int]:
    """(page, size) when 1 <= page <= MAX_PAGE and 1 <= size <= max_size; ValidationError otherwise."""
    if not isinstance(page, int) or page < 1:
        raise ValidationError(M_("page starts at 1"))
    if page > MAX_PAGE:
        raise ValidationError(M_("page must be at most %(max)s", max=MAX_PAGE))
    if not isinstance(size, int) or not 1 <= size <= max_size:
        raise ValidationError(M_("size must be between 1 and %(max)s", max=max_size))
    return page, size


def decode_upload(ctx: Context, image: bytes | np.ndarray) -> np.ndarray:
    """bytes (any common image format) -> RGB uint8[H, W, 3]; an array passes through as it is.

    BadInputError when empty, PayloadTooLargeError over settings.max_upload_bytes, ImageError /
    ImageTooLargeError when it does not decode.
    """
    if isinstance(image, np.ndarray):
        return image
    from whosthat.vision.image import decode_image

    if not isinstance(image, bytes | bytearray | memoryview) or len(image) == 0:
        raise BadInputError(M_("empty upload: send an image file"))
    limit = ctx.runtime.settings.max_upload_bytes
    if len(image) > limit:
        raise PayloadTooLargeError(
            M_("upload of %(size)s bytes is over the limit of %(limit)s", size=len(image), limit=limit)
        )
    return decode_image(bytes(image), ctx.runtime.settings.max_image_pixels)


def face_box(detection) -> list[float]:
    """A detection's box as [left, top, right, bottom] pixels, rounded to 0.1."""
    return [round(float(v), 1) for v in detection.box]
