"""The operations behind both the JSON API and the HTML pages.

Build one `Services` per request (deps.py's `Svc` dependency does it) or per command:

    svc = Services(runtime, db_session, address="203.0.113.7")
    page = svc.list_people(q="ada", page=1, size=20)
    person = svc.create_person(employee_code="E-001", name="Ada", surname="Lovelace", actor=admin)
    template = svc.enroll_template(person.id, image_bytes, source="upload", actor=admin)

Rules every method follows:
- Mutating methods commit their own transaction; on an error nothing is written.
- Bad input raises a `whosthat.errors.BadInputError` subclass (see web/errors.py for NotFoundError,
  ConflictError, ValidationError, AuthenticationError, LockedOutError, ...), carrying `code`,
  `http_status` and a one-line message.
- Entities come back as the ORM objects of store/models.py (attributes stay readable after commit);
  computed results as the dataclasses below.
- The audit log records who did what to which target, never images, embeddings or chips.
"""

from __future__ import annotations

import csv
import io
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from whosthat.errors import BadInputError, MultipleFacesError, NoFaceError
from whosthat.gallery.threshold import is_match
from whosthat.store import repositories as repo
from whosthat.store.crypto import DecryptionError
from whosthat.store.models import (
    Admin,
    ApiKey,
    AttendanceEvent,
    AuditLog,
    FaceTemplate,
    LoginTicket,
    Person,
    SetupToken,
    utcnow,
)
from whosthat.web import security
from whosthat.web.errors import (
    AuthenticationError,
    ConflictError,
    LockedOutError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from whosthat.web.runtime import Runtime

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
LOGIN_TICKET_TTL_S = 60
SETUP_TOKEN_TTL_S = 24 * 3600


# Who is acting ------------------------------------------------------------------------------------
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
            raise PermissionDeniedError(f"this needs the '{scope}' permission")

    @classmethod
    def for_admin(cls, admin: Admin) -> Actor:
        scopes = frozenset(SCOPES) if admin.role == "admin" else READ_SCOPES
        return cls("admin", admin.id, admin.username, admin.role, scopes)

    @classmethod
    def for_api_key(cls, key: ApiKey) -> Actor:
        return cls("apikey", key.id, key.name, None, frozenset(key.scope_list))


SYSTEM = Actor("system", None, "cli", "admin", frozenset(SCOPES))


# Results ----------------------------------------------------------------------------------------------
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


@dataclass
class QualityReport:
    """Live feedback on one frame: ok when exactly one face passes every enrollment rule.

    reasons: human-readable, actionable; box: [left, top, right, bottom] pixels of the face judged,
    or None; measures: the quality numbers (face_px, sharpness, yaw_deg, ...) when a face was found.
    """

    ok: bool
    reasons: list[str]
    box: list[float] | None = None
    faces: int = 0
    measures: dict | None = None
    width: int = 0
    height: int = 0

    def to_dict(self) -> dict:
        return {
            "ok": self.ok,
            "reasons": self.reasons,
            "box": self.box,
            "faces": self.faces,
            "quality": self.measures,
            "width": self.width,
            "height": self.height,
        }


@dataclass
class IdentifyResult:
    """1:N result. match is None for an unknown face (nearest distance above the threshold)."""

    person: Person | None
    distance: float | None
    threshold: float
    model: str
    box: list[float]
    server_ms: float = 0.0

    def to_dict(self) -> dict:
        match = None
        if self.person is not None:
            match = {
                "person_id": self.person.id,
                "employee_code": self.person.employee_code,
                "name": self.person.name,
                "surname": self.person.surname,
                "distance": round(float(self.distance), 4),
            }
        return {
            "match": match,
            "threshold": round(self.threshold, 4),
            "model": self.model,
            "face": {"box": self.box},
        }


@dataclass
class DayReport:
    """A person's attendance on one local day: events in time order, worked time from in->out pairs.

    missing_clock_out: the day ends with an "in" that has no "out" (flagged, never guessed; that open
    interval is not counted). unmatched_out: an "out" without a preceding "in" (not counted either).
    """

    person: Person
    day: date
    events: list[AttendanceEvent]
    worked_seconds: float
    missing_clock_out: bool
    unmatched_out: bool
    first_in: datetime | None
    last_out: datetime | None

    @property
    def worked_hours(self) -> float:
        return round(self.worked_seconds / 3600.0, 2)


@dataclass
class WeekSummary:
    """The employee page: this ISO week's days (Monday first) and the total hours worked."""

    start: date
    days: list[DayReport]
    total_seconds: float
    open_since: datetime | None = None  # clocked in and not yet out (today)

    @property
    def total_hours(self) -> float:
        return round(self.total_seconds / 3600.0, 2)


@dataclass
class KioskLogin:
    """The outcome of a passed liveness challenge: who, which event, the session ticket, the message."""

    person: Person
    event: AttendanceEvent
    ticket: str
    message: str
    distance: float


@dataclass
class ReembedReport:
    to_model: str
    people: int = 0
    templates: int = 0
    skipped_no_chip: int = 0
    removed_old: int = 0
    errors: list[str] = field(default_factory=list)


# Validation helpers -----------------------------------------------------------------------------------
def _clean(value: Any, what: str, max_len: int, *, required: bool = True) -> str:
    if value is None:
        if required:
            raise ValidationError(f"{what} is required")
        return ""
    if not isinstance(value, str):
        raise ValidationError(f"{what} must be text")
    value = " ".join(value.split())
    if required and not value:
        raise ValidationError(f"{what} must not be empty")
    if len(value) > max_len:
        raise ValidationError(f"{what} is longer than {max_len} characters")
    if any(ord(c) < 32 for c in value):
        raise ValidationError(f"{what} contains control characters")
    return value


MAX_ID = 2**31 - 1  # row ids are 32-bit on every backend; larger ones cannot exist


def _valid_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID


def _box(detection) -> list[float]:
    return [round(float(v), 1) for v in detection.box]


def _csv_safe(value: Any) -> str:
    """Spreadsheet-formula injection guard for CSV cells."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


# The services -------------------------------------------------------------------------------------------
class Services:
    """Operations on one database session. `address` is the client's IP (for the audit log and limits)."""

    def __init__(self, runtime: Runtime, db: Session, address: str | None = None):
        self.rt = runtime
        self.db = db
        self.address = (address or "")[:64] or None
        try:
            self.tz = ZoneInfo(getattr(runtime.settings, "timezone", "UTC") or "UTC")
        except (ZoneInfoNotFoundError, ValueError):
            self.tz = ZoneInfo("UTC")

    # -- audit -------------------------------------------------------------------------------------------
    def audit(self, actor: Actor, action: str, target: str | None = None, detail: dict | None = None) -> None:
        """Add an audit row to the current transaction (the caller commits). Never pass biometric data."""
        self.db.add(
            AuditLog(
                actor=actor.label,
                action=action,
                target=(target or None) and target[:120],
                address=self.address,
                detail=detail,
            )
        )

    def list_audit(
        self, *, page: int = 1, size: int = 50, action: str | None = None, actor: str | None = None
    ) -> Page:
        """Audit rows, newest first; filter by exact action or actor label prefix."""
        page, size = self._paging(page, size)
        stmt = select(AuditLog)
        if action:
            stmt = stmt.where(AuditLog.action == action)
        if actor:
            stmt = stmt.where(AuditLog.actor.like(f"{actor}%"))
        total = self.db.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
        rows = (
            self.db.execute(
                stmt.order_by(AuditLog.at.desc(), AuditLog.id.desc()).offset((page - 1) * size).limit(size)
            )
            .scalars()
            .all()
        )
        return Page(list(rows), page, size, int(total))

    @staticmethod
    def _paging(page: int, size: int, max_size: int = 200) -> tuple[int, int]:
        if not isinstance(page, int) or page < 1:
            raise ValidationError("page starts at 1")
        if not isinstance(size, int) or not 1 <= size <= max_size:
            raise ValidationError(f"size must be between 1 and {max_size}")
        return page, size

    def _commit(self) -> None:
        try:
            self.db.commit()
        except IntegrityError as exc:
            self.db.rollback()
            raise ConflictError("this conflicts with an existing record (duplicate value)") from exc

    # -- people ------------------------------------------------------------------------------------------
    def list_people(
        self, q: str | None = None, *, page: int = 1, size: int = 20, active: bool | None = None
    ) -> Page:
        """People matching `q` (code, name or surname, case-insensitive), sorted by surname.

        Each item is a Person with an extra attribute `template_count`.
        """
        page, size = self._paging(page, size)
        if q is not None and len(q) > 120:
            raise ValidationError("the search text is too long")
        people, total = repo.people.search(self.db, q, page=page, size=size, active=active)
        counts = repo.templates.counts(self.db, [p.id for p in people])
        for p in people:
            p.template_count = counts.get(p.id, 0)
        return Page(people, page, size, total)

    def get_person(self, person_id: int) -> Person:
        """The person, with `template_count` set; NotFoundError when absent."""
        person = self.db.get(Person, person_id) if _valid_id(person_id) else None
        if person is None:
            raise NotFoundError(f"no person with id {person_id}")
        person.template_count = repo.templates.counts(self.db, [person.id]).get(person.id, 0)
        return person

    def create_person(
        self, *, employee_code: str, name: str, surname: str, active: bool = True, actor: Actor = SYSTEM
    ) -> Person:
        """Add a person (no templates yet). ConflictError when the employee code is taken."""
        actor.require("people:write")
        code = _clean(employee_code, "employee_code", 64)
        person = Person(
            employee_code=code,
            name=_clean(name, "name", 120),
            surname=_clean(surname, "surname", 120),
            active=bool(active),
        )
        if self.db.execute(select(Person.id).where(Person.employee_code == code)).first():
            raise ConflictError(f"employee code {code!r} is already used")
        self.db.add(person)
        try:
            self.db.flush()
        except IntegrityError as exc:
            self.db.rollback()
            raise ConflictError(f"employee code {code!r} is already used") from exc
        self.audit(actor, "person.create", f"person:{person.id}", {"employee_code": code})
        self._commit()
        person.template_count = 0
        return person

    def update_person(self, person_id: int, *, actor: Actor = SYSTEM, **fields: Any) -> Person:
        """Change any of employee_code, name, surname, active. Deactivated people are not recognised."""
        actor.require("people:write")
        person = self.get_person(person_id)
        allowed = {"employee_code": 64, "name": 120, "surname": 120, "active": None}
        unknown = set(fields) - set(allowed)
        if unknown:
            raise ValidationError(f"unknown field(s): {', '.join(sorted(unknown))}")
        changed: list[str] = []
        for key, value in fields.items():
            if key == "active":
                if not isinstance(value, bool):
                    raise ValidationError("active must be true or false")
            else:
                value = _clean(value, key, allowed[key])
            if getattr(person, key) != value:
                if (
                    key == "employee_code"
                    and self.db.execute(
                        select(Person.id).where(Person.employee_code == value, Person.id != person.id)
                    ).first()
                ):
                    raise ConflictError(f"employee code {value!r} is already used")
                setattr(person, key, value)
                changed.append(key)
        if changed:
            if "active" in changed:
                repo.counters.bump_gallery_version(self.db)
            self.audit(actor, "person.update", f"person:{person.id}", {"fields": changed})
            self._commit()
        return person

    def delete_person(self, person_id: int, *, actor: Actor = SYSTEM) -> None:
        """Delete the person with their templates, chips, attendance and tickets, for real."""
        actor.require("people:write")
        person = self.get_person(person_id)
        n_templates = person.template_count
        code = person.employee_code
        pid = person.id
        # Explicit deletes first: correct even where the database ignores ON DELETE CASCADE.
        self.db.execute(delete(FaceTemplate).where(FaceTemplate.person_id == pid))
        self.db.execute(delete(AttendanceEvent).where(AttendanceEvent.person_id == pid))
        self.db.execute(delete(LoginTicket).where(LoginTicket.person_id == pid))
        self.db.execute(delete(Person).where(Person.id == pid))
        self.db.expunge(person)
        repo.counters.bump_gallery_version(self.db)
        self.audit(actor, "person.delete", f"person:{pid}", {"employee_code": code, "templates": n_templates})
        self._commit()

    # -- templates -------------------------------------------------------------------------------------
    def list_templates(self, person_id: int) -> list[FaceTemplate]:
        """Template rows of a person (metadata: id, embedder, dim, quality, source, created_at)."""
        self.get_person(person_id)
        return list(
            self.db.execute(
                select(FaceTemplate).where(FaceTemplate.person_id == person_id).order_by(FaceTemplate.id)
            ).scalars()
        )

    def decode(self, image: bytes | np.ndarray) -> np.ndarray:
        """bytes (any common image format) -> RGB uint8; ImageError / ImageTooLargeError when unusable."""
        if isinstance(image, np.ndarray):
            return image
        from whosthat.vision.image import decode_image

        if not isinstance(image, bytes | bytearray | memoryview) or len(image) == 0:
            raise BadInputError("empty upload: send an image file")
        if len(image) > self.rt.settings.max_upload_bytes:
            from whosthat.web.errors import PayloadTooLargeError

            raise PayloadTooLargeError(
                f"upload of {len(image)} bytes is over the limit of {self.rt.settings.max_upload_bytes}"
            )
        return decode_image(bytes(image))

    def check_quality(self, image: bytes | np.ndarray) -> QualityReport:
        """Live enrollment feedback for one frame (no embedding computed, ~10-30 ms).

        Raises only for undecodable input; "no face", "several faces" and failed quality rules come back
        as ok=False with reasons.
        """
        rgb = self.decode(image)
        pipeline = self.rt.pipeline()
        detections = pipeline.detect(rgb)
        h, w = rgb.shape[:2]
        try:
            detection = pipeline.dominant_face(detections)
        except (NoFaceError, MultipleFacesError) as exc:
            box = _box(detections[0]) if detections else None
            return QualityReport(False, [str(exc)], box, len(detections), None, w, h)
        from whosthat.vision.quality import assess_quality

        landmarks, chip = pipeline.align(rgb, detection)
        if chip.shape[0] != 150:
            from whosthat.vision.pipeline import dlib_chip_like

            chip = dlib_chip_like(chip)
        quality = assess_quality(detection.size, landmarks, chip, "enroll")
        return QualityReport(
            quality.ok, list(quality.reasons), _box(detection), len(detections), quality.to_dict(), w, h
        )

    def enroll_template(
        self, person_id: int, image: bytes | np.ndarray, *, source: str = "upload", actor: Actor = SYSTEM
    ) -> FaceTemplate:
        """Embed the one face of `image` and store it (encrypted) as a new template of the person.

        source: "upload" | "webcam" | "api" | "cli". Raises NoFaceError, MultipleFacesError, QualityError
        (with `.reasons`), ImageError; nothing is stored then. The chip is kept unless
        settings.keep_chips is false. The returned row has an extra attribute `quality_detail` (dict).
        """
        actor.require("people:write")
        person = self.get_person(person_id)
        rgb = self.decode(image)
        pipeline = self.rt.pipeline()
        face = pipeline.embed_single(rgb, purpose="enroll")
        row = repo.templates.add(
            self.db,
            self.rt.cipher,
            person.id,
            embedder=face.model,
            embedding=face.embedding,
            chip=face.chip if self.rt.settings.keep_chips else None,
            quality=face.quality.score,
            source=_clean(source, "source", 32),
        )
        self.audit(
            actor,
            "template.create",
            f"person:{person.id}",
            {"template_id": row.id, "source": row.source, "model": face.model},
        )
        self._commit()
        row.quality_detail = face.quality.to_dict()
        row.box = _box(face.detection)
        return row

    def delete_template(self, person_id: int, template_id: int, *, actor: Actor = SYSTEM) -> None:
        """Delete one template (and its chip)."""
        actor.require("people:write")
        row = self.db.get(FaceTemplate, template_id) if _valid_id(template_id) else None
        if row is None or row.person_id != person_id:
            raise NotFoundError(f"person {person_id} has no template {template_id}")
        self.db.delete(row)
        self.db.flush()
        repo.counters.bump_gallery_version(self.db)
        self.audit(actor, "template.delete", f"person:{person_id}", {"template_id": template_id})
        self._commit()

    def template_chip(self, person_id: int, template_id: int) -> np.ndarray | None:
        """The decrypted aligned face chip of a template (for an admin's thumbnail), or None if not kept."""
        row = self.db.get(FaceTemplate, template_id) if _valid_id(template_id) else None
        if row is None or row.person_id != person_id:
            raise NotFoundError(f"person {person_id} has no template {template_id}")
        if row.chip is None:
            return None
        try:
            return self.rt.cipher.decrypt_chip(row.chip, row.person_id)
        except DecryptionError:
            return None

    # -- recognition -------------------------------------------------------------------------------------
    def identify(self, image: bytes | np.ndarray) -> IdentifyResult:
        """1:N: the enrolled person whose best template is nearest, if within the threshold.

        Raises NoFaceError / MultipleFacesError / QualityError (face too small) / ImageError.
        """
        t0 = time.perf_counter()
        rgb = self.decode(image)
        pipeline = self.rt.pipeline()
        face = pipeline.embed_single(rgb, purpose="login")
        threshold = self.rt.threshold(pipeline)
        match, _nearest = self.rt.gallery.identify(self.db, face.model, face.embedding, threshold)
        person = self.db.get(Person, match.person_id) if match else None
        result = IdentifyResult(
            person, match.distance if match else None, threshold, face.model, _box(face.detection)
        )
        result.server_ms = (time.perf_counter() - t0) * 1000
        self.rt.metrics.observe(
            "whosthat_identify_seconds", "server time of one identification", result.server_ms / 1000
        )
        return result

    def verify(self, person_id: int, image: bytes | np.ndarray) -> dict:
        """1:1: is the face in `image` this person? {"same", "distance", "threshold", "model", "person_id"}."""
        person = self.get_person(person_id)
        rgb = self.decode(image)
        pipeline = self.rt.pipeline()
        face = pipeline.embed_single(rgb, purpose="login")
        threshold = self.rt.threshold(pipeline)
        index = self.rt.gallery.index(self.db, face.model)
        tids, pids, matrix = index.vectors()
        mine = matrix[pids == person.id]
        if len(mine) == 0:
            raise ValidationError(f"person {person.id} has no {face.model} template to compare with")
        distance = float(np.min(np.linalg.norm(mine - face.embedding[None, :], axis=1)))
        return {
            "person_id": person.id,
            "same": is_match(distance, threshold),
            "distance": round(distance, 4),
            "threshold": round(threshold, 4),
            "model": face.model,
        }

    # -- attendance ----------------------------------------------------------------------------------
    def _local_day_bounds(self, day: date) -> tuple[datetime, datetime]:
        start = datetime(day.year, day.month, day.day, tzinfo=self.tz)
        return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)

    def local_day(self, at: datetime) -> date:
        return at.astimezone(self.tz).date()

    def clock(
        self,
        person_id: int,
        *,
        kiosk: str | None = None,
        distance: float | None = None,
        liveness: dict | None = None,
        source: str = "kiosk",
        at: datetime | None = None,
        actor: Actor = SYSTEM,
    ) -> AttendanceEvent:
        """Record the person's next event: "in" if their last event of that local day is not an "in",
        else "out" (so events alternate per person per day). Inactive people cannot clock."""
        if not _valid_id(person_id):
            raise NotFoundError(f"no person with id {person_id}")
        person = self.db.execute(
            select(Person).where(Person.id == person_id).with_for_update()
        ).scalar_one_or_none()
        if person is None:
            raise NotFoundError(f"no person with id {person_id}")
        if not person.active:
            raise ValidationError(f"{person.full_name} is not active")
        at = at or utcnow()
        if at.tzinfo is None:
            raise ValidationError("the event time needs a time zone")
        start, end = self._local_day_bounds(self.local_day(at))
        last = self.db.execute(
            select(AttendanceEvent.kind)
            .where(
                AttendanceEvent.person_id == person.id, AttendanceEvent.at >= start, AttendanceEvent.at < at
            )
            .order_by(AttendanceEvent.at.desc(), AttendanceEvent.id.desc())
            .limit(1)
        ).scalar_one_or_none()
        kind = "out" if last == "in" else "in"
        event = AttendanceEvent(
            person_id=person.id,
            kind=kind,
            at=at,
            distance=distance,
            liveness_passed=None if liveness is None else bool(liveness.get("passed")),
            liveness=liveness,
            kiosk=(kiosk or None) and kiosk[:64],
            source=source,
        )
        self.db.add(event)
        self.db.flush()
        self.audit(actor, f"attendance.{kind}", f"person:{person.id}", {"kiosk": kiosk, "source": source})
        self._commit()
        event.person = person
        return event

    def _parse_range(
        self, date_from: date | None, date_to: date | None
    ) -> tuple[datetime | None, datetime | None]:
        if date_from and date_to and date_from > date_to:
            raise ValidationError("'from' is after 'to'")
        lo = self._local_day_bounds(date_from)[0] if date_from else None
        hi = self._local_day_bounds(date_to)[1] if date_to else None
        return lo, hi

    def list_attendance(
        self,
        *,
        person_id: int | None = None,
        date_from: date | None = None,
        date_to: date | None = None,
        page: int = 1,
        size: int = 100,
    ) -> Page:
        """Events (with .person loaded), newest first, between local days date_from..date_to inclusive."""
        page, size = self._paging(page, size, max_size=1000)
        lo, hi = self._parse_range(date_from, date_to)
        stmt = select(AttendanceEvent).options(selectinload(AttendanceEvent.person))
        if person_id is not None:
            if not _valid_id(person_id):
                return Page([], page, size, 0)
            stmt = stmt.where(AttendanceEvent.person_id == person_id)
        if lo:
            stmt = stmt.where(AttendanceEvent.at >= lo)
        if hi:
            stmt = stmt.where(AttendanceEvent.at < hi)
        total = self.db.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
        rows = (
            self.db.execute(
                stmt.order_by(AttendanceEvent.at.desc(), AttendanceEvent.id.desc())
                .offset((page - 1) * size)
                .limit(size)
            )
            .scalars()
            .all()
        )
        return Page(list(rows), page, size, int(total))

    def attendance_days(
        self, *, person_id: int | None = None, date_from: date | None = None, date_to: date | None = None
    ) -> list[DayReport]:
        """One DayReport per person and local day with events, sorted by day then surname."""
        lo, hi = self._parse_range(date_from, date_to)
        stmt = select(AttendanceEvent).options(selectinload(AttendanceEvent.person))
        if person_id is not None:
            if not _valid_id(person_id):
                return []
            stmt = stmt.where(AttendanceEvent.person_id == person_id)
        if lo:
            stmt = stmt.where(AttendanceEvent.at >= lo)
        if hi:
            stmt = stmt.where(AttendanceEvent.at < hi)
        events = self.db.execute(stmt.order_by(AttendanceEvent.at, AttendanceEvent.id)).scalars().all()
        groups: dict[tuple[int, date], list[AttendanceEvent]] = {}
        for ev in events:
            groups.setdefault((ev.person_id, self.local_day(ev.at)), []).append(ev)
        reports = [self._day_report(evs[0].person, day, evs) for (_, day), evs in groups.items()]
        reports.sort(key=lambda r: (r.day, r.person.surname.lower(), r.person.name.lower(), r.person.id))
        return reports

    @staticmethod
    def _day_report(person: Person, day: date, events: list[AttendanceEvent]) -> DayReport:
        worked = 0.0
        open_in: datetime | None = None
        unmatched_out = False
        first_in = last_out = None
        for ev in events:
            if ev.kind == "in":
                if open_in is None:
                    open_in = ev.at
                first_in = first_in or ev.at
            else:
                if open_in is not None:
                    worked += (ev.at - open_in).total_seconds()
                    open_in = None
                    last_out = ev.at
                else:
                    unmatched_out = True
        return DayReport(person, day, events, worked, open_in is not None, unmatched_out, first_in, last_out)

    def attendance_csv(
        self, *, person_id: int | None = None, date_from: date | None = None, date_to: date | None = None
    ) -> str:
        """The day report as CSV (header + one line per person and day; local times, hours as decimals)."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(
            [
                "date",
                "employee_code",
                "name",
                "surname",
                "first_in",
                "last_out",
                "worked_hours",
                "missing_clock_out",
                "unmatched_clock_out",
                "events",
            ]
        )
        fmt = "%H:%M:%S"
        for r in self.attendance_days(person_id=person_id, date_from=date_from, date_to=date_to):
            writer.writerow(
                [
                    r.day.isoformat(),
                    _csv_safe(r.person.employee_code),
                    _csv_safe(r.person.name),
                    _csv_safe(r.person.surname),
                    r.first_in.astimezone(self.tz).strftime(fmt) if r.first_in else "",
                    r.last_out.astimezone(self.tz).strftime(fmt) if r.last_out else "",
                    f"{r.worked_hours:.2f}",
                    "yes" if r.missing_clock_out else "no",
                    "yes" if r.unmatched_out else "no",
                    " ".join(f"{e.kind}@{e.at.astimezone(self.tz).strftime(fmt)}" for e in r.events),
                ]
            )
        return out.getvalue()

    def week_summary(self, person_id: int, today: date | None = None) -> WeekSummary:
        """This ISO week (Monday..today) of one person, for the employee page."""
        person = self.get_person(person_id)
        today = today or self.local_day(utcnow())
        start = today - timedelta(days=today.weekday())
        days = self.attendance_days(person_id=person.id, date_from=start, date_to=start + timedelta(days=6))
        open_since = None
        for d in days:
            if d.day == today and d.missing_clock_out:
                open_since = next((e.at for e in reversed(d.events) if e.kind == "in"), None)
        return WeekSummary(start, days, sum(d.worked_seconds for d in days), open_since)

    # -- kiosk face login ----------------------------------------------------------------------------
    def _face_keys(self, kiosk: str) -> list[str]:
        return [f"kiosk:{kiosk}", f"address:{self.address or '-'}"]

    def face_login_check(self, kiosk: str) -> None:
        """Raise LockedOutError while this kiosk or this address is locked out after failed face logins."""
        for key in self._face_keys(kiosk):
            state = self.rt.face_limiter.check(key)
            if state.locked:
                raise LockedOutError(
                    f"too many failed face logins: try again in {state.retry_after_s} s", state.retry_after_s
                )

    def face_login_failed(self, kiosk: str, reason: str, detail: dict | None = None) -> None:
        """Count a failed face login toward the lockout, and audit it (no biometric data)."""
        for key in self._face_keys(kiosk):
            self.rt.face_limiter.failure(key)
        self.rt.metrics.inc("whosthat_face_logins_total", "kiosk face logins by outcome", outcome=reason[:32])
        self.audit(
            Actor("kiosk", None, kiosk), "face_login.failed", None, {"reason": reason, **(detail or {})}
        )
        self._commit()

    def complete_kiosk_login(
        self, *, kiosk: str, embedding: np.ndarray, model: str, liveness: dict | None
    ) -> KioskLogin | None:
        """After a PASSED liveness challenge: search the gallery with the challenge's embedding; when a
        person matches, clock them in/out (liveness summary stored with the event) and issue a one-time
        login ticket. Returns None when nobody matches (the caller reports "not_recognised" and calls
        face_login_failed)."""
        threshold = self.rt.threshold(self.rt.pipeline(model) if model else None)
        match, _ = self.rt.gallery.identify(self.db, model, embedding, threshold)
        if match is None:
            return None
        person = self.db.get(Person, match.person_id)
        if person is None or not person.active:
            return None
        event = self.clock(
            person.id,
            kiosk=kiosk,
            distance=match.distance,
            liveness=liveness,
            source="kiosk",
            actor=Actor("kiosk", None, kiosk),
        )
        for key in self._face_keys(kiosk):
            self.rt.face_limiter.success(key)
        ticket = self.issue_login_ticket(person.id)
        local = event.at.astimezone(self.tz).strftime("%H:%M")
        verb = "clocked in" if event.kind == "in" else "clocked out"
        self.rt.metrics.inc("whosthat_face_logins_total", "kiosk face logins by outcome", outcome="passed")
        return KioskLogin(person, event, ticket, f"Welcome, {person.name}: {verb} at {local}", match.distance)

    def issue_login_ticket(self, person_id: int, ttl_s: int = LOGIN_TICKET_TTL_S) -> str:
        """A random single-use ticket (valid `ttl_s`) that /me/enter exchanges for an employee session."""
        token = security.new_token()
        self.db.execute(delete(LoginTicket).where(LoginTicket.expires_at < utcnow()))
        self.db.add(
            LoginTicket(
                token_hash=security.token_hash(token),
                person_id=person_id,
                expires_at=utcnow() + timedelta(seconds=ttl_s),
            )
        )
        self._commit()
        return token

    def redeem_login_ticket(self, ticket: str) -> Person:
        """Consume a ticket (atomically: it works once) and return its person; AuthenticationError otherwise."""
        if not ticket or not isinstance(ticket, str) or len(ticket) > 200:
            raise AuthenticationError("invalid login link")
        now = utcnow()
        h = security.token_hash(ticket)
        result = self.db.execute(
            update(LoginTicket)
            .where(LoginTicket.token_hash == h, LoginTicket.used_at.is_(None), LoginTicket.expires_at > now)
            .values(used_at=now)
        )
        if result.rowcount != 1:
            self.db.rollback()
            raise AuthenticationError(
                "this login link is invalid, used or expired: log in at the kiosk again"
            )
        person_id = self.db.execute(
            select(LoginTicket.person_id).where(LoginTicket.token_hash == h)
        ).scalar_one()
        person = self.db.get(Person, person_id)
        self.audit(
            Actor("employee", person_id, person.employee_code if person else str(person_id)),
            "employee.session",
            f"person:{person_id}",
        )
        self._commit()
        if person is None or not person.active:
            raise AuthenticationError("this person is not active")
        return person

    # -- administrators --------------------------------------------------------------------------
    def admin_exists(self) -> bool:
        return self.db.execute(select(Admin.id).limit(1)).first() is not None

    def get_admin(self, admin_id: int) -> Admin | None:
        return self.db.get(Admin, admin_id) if _valid_id(admin_id) else None

    def list_admins(self) -> list[Admin]:
        return list(self.db.execute(select(Admin).order_by(Admin.username)).scalars())

    def create_admin(
        self, username: str, password: str, *, role: str = "admin", actor: Actor = SYSTEM
    ) -> Admin:
        """Create an administrator (argon2id hash). ValidationError for weak passwords, ConflictError if taken."""
        actor.require("admin")
        username = _clean(username, "username", 64)
        if role not in ROLES:
            raise ValidationError(f"role must be one of {', '.join(ROLES)}")
        problem = security.password_problem(password or "")
        if problem:
            raise ValidationError(problem)
        if self.db.execute(select(Admin.id).where(Admin.username == username)).first():
            raise ConflictError(f"administrator {username!r} already exists")
        admin = Admin(username=username, password_hash=security.hash_password(password), role=role)
        self.db.add(admin)
        self.db.flush()
        self.audit(actor, "admin.create", f"admin:{username}", {"role": role})
        self._commit()
        return admin

    def authenticate_admin(self, username: str, password: str) -> Admin:
        """Check a password login. AuthenticationError on a mismatch (same message for an unknown user),
        LockedOutError after too many failures per (username, address) or per address."""
        username = (username or "").strip()[:64]
        keys = [
            (self.rt.password_limiter, f"{username.lower()}|{self.address}"),
            (self.rt.password_address_limiter, f"{self.address}"),
        ]
        for limiter, key in keys:
            state = limiter.check(key)
            if state.locked:
                raise LockedOutError(
                    f"too many failed logins: try again in {state.retry_after_s} s", state.retry_after_s
                )
        admin = self.db.execute(select(Admin).where(Admin.username == username)).scalar_one_or_none()
        if not security.verify_password(admin.password_hash if admin else None, password or ""):
            locked = [limiter.failure(key) for limiter, key in keys]
            self.audit(Actor("admin", None, username or "?"), "admin.login_failed", f"admin:{username}")
            self._commit()
            state = next((s for s in locked if s.locked), None)
            if state:
                raise LockedOutError(
                    f"too many failed logins: try again in {state.retry_after_s} s", state.retry_after_s
                )
            raise AuthenticationError("wrong username or password")
        self.rt.password_limiter.success(keys[0][1])
        if security.password_needs_rehash(admin.password_hash):
            admin.password_hash = security.hash_password(password)
        admin.last_login_at = utcnow()
        self.audit(Actor.for_admin(admin), "admin.login", f"admin:{admin.username}")
        self._commit()
        return admin

    def record_logout(self, actor: Actor) -> None:
        self.audit(actor, "admin.logout" if actor.kind == "admin" else "employee.logout")
        self._commit()

    # -- first-run setup -----------------------------------------------------------------------------
    def ensure_setup_token(self) -> str | None:
        """When no administrator exists: a new one-time setup token (older ones are revoked), else None.

        The caller prints the setup link `/setup?token=<token>`; complete_setup() consumes it.
        """
        if self.admin_exists():
            return None
        self.db.execute(delete(SetupToken))
        token = security.new_token()
        self.db.add(
            SetupToken(
                token_hash=security.token_hash(token),
                expires_at=utcnow() + timedelta(seconds=SETUP_TOKEN_TTL_S),
            )
        )
        self._commit()
        return token

    def setup_token_valid(self, token: str) -> bool:
        """True while `token` is an unused, unexpired setup token and no administrator exists yet."""
        if not token or not isinstance(token, str) or len(token) > 200 or self.admin_exists():
            return False
        row = self.db.get(SetupToken, security.token_hash(token))
        return row is not None and row.used_at is None and row.expires_at > utcnow()

    def complete_setup(self, token: str, username: str, password: str) -> Admin:
        """Create the first administrator with a valid setup token (which is then used up)."""
        if not self.setup_token_valid(token):
            raise AuthenticationError(
                "this setup link is invalid or used: restart the server for a new one, "
                "or run `whosthat admin create`"
            )
        now = utcnow()
        result = self.db.execute(
            update(SetupToken)
            .where(SetupToken.token_hash == security.token_hash(token), SetupToken.used_at.is_(None))
            .values(used_at=now)
        )
        if result.rowcount != 1:
            self.db.rollback()
            raise AuthenticationError("this setup link was just used")
        try:
            return self.create_admin(
                username,
                password,
                role="admin",
                actor=Actor("system", None, "setup", "admin", frozenset(SCOPES)),
            )
        except BadInputError:
            self.db.rollback()  # the token stays usable after a rejected password
            raise

    # -- API keys ------------------------------------------------------------------------------------
    def create_api_key(
        self, name: str, scopes: list[str] | str, *, actor: Actor = SYSTEM
    ) -> tuple[ApiKey, str]:
        """(row, plaintext key). The plaintext is shown once; only its sha256 is stored."""
        actor.require("admin")
        name = _clean(name, "name", 64)
        if isinstance(scopes, str):
            scopes = scopes.replace(",", " ").split()
        scopes = sorted(set(scopes or []))
        if not scopes:
            raise ValidationError("give at least one scope: " + ", ".join(SCOPES))
        unknown = [s for s in scopes if s not in SCOPES]
        if unknown:
            raise ValidationError(f"unknown scope(s) {', '.join(unknown)}; known: {', '.join(SCOPES)}")
        key, prefix, digest = security.new_api_key()
        row = ApiKey(
            name=name, prefix=prefix, key_hash=digest, scopes=" ".join(scopes), created_by=actor.label
        )
        self.db.add(row)
        self.db.flush()
        self.audit(actor, "apikey.create", f"apikey:{row.id}", {"name": name, "scopes": scopes})
        self._commit()
        return row, key

    def list_api_keys(self, include_revoked: bool = True) -> list[ApiKey]:
        stmt = select(ApiKey).order_by(ApiKey.id)
        if not include_revoked:
            stmt = stmt.where(ApiKey.revoked_at.is_(None))
        return list(self.db.execute(stmt).scalars())

    def revoke_api_key(self, key_id: int, *, actor: Actor = SYSTEM) -> ApiKey:
        actor.require("admin")
        row = self.db.get(ApiKey, key_id) if _valid_id(key_id) else None
        if row is None:
            raise NotFoundError(f"no API key with id {key_id}")
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            self.audit(actor, "apikey.revoke", f"apikey:{row.id}", {"name": row.name})
            self._commit()
        return row

    def authenticate_api_key(self, key: str) -> ApiKey | None:
        """The active key row for a presented plaintext key, or None."""
        if (
            not key
            or not isinstance(key, str)
            or len(key) > 200
            or not key.startswith(security.API_KEY_PREFIX)
        ):
            return None
        row = self.db.execute(
            select(ApiKey).where(ApiKey.key_hash == security.token_hash(key))
        ).scalar_one_or_none()
        if row is None or row.revoked_at is not None:
            return None
        now = utcnow()
        if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=1):
            row.last_used_at = now  # at most one write a minute per key
            self.db.commit()
        return row

    # -- re-embedding ------------------------------------------------------------------------------
    def reembed(
        self, to_model: str, *, keep_old: bool = False, actor: Actor = SYSTEM, progress=None
    ) -> ReembedReport:
        """Re-embed every stored chip with `to_model` and add the new templates; unless keep_old, remove
        the templates of other embedders that were re-embedded (templates without a chip are kept and
        counted in skipped_no_chip: those people must enrol again for the new model)."""
        actor.require("admin")
        pipeline = self.rt.pipeline(to_model)
        report = ReembedReport(to_model=pipeline.model)
        rows = self.db.execute(
            select(
                FaceTemplate.id,
                FaceTemplate.person_id,
                FaceTemplate.chip,
                FaceTemplate.quality,
                FaceTemplate.source,
            )
            .where(FaceTemplate.embedder != pipeline.model)
            .order_by(FaceTemplate.id)
        ).all()
        people: set[int] = set()
        done_ids: list[int] = []
        batch: list[tuple[int, int, np.ndarray, float, str, bytes]] = []

        def flush_batch() -> None:
            if not batch:
                return
            vectors = pipeline.embed_chips(np.stack([item[2] for item in batch]))
            for (tid, pid, _chip, quality, source, blob), vec in zip(batch, vectors, strict=True):
                # The chip ciphertext is bound to the person, not the embedder: it moves as is.
                self.db.add(
                    FaceTemplate(
                        person_id=pid,
                        embedder=pipeline.model,
                        dim=int(vec.shape[0]),
                        embedding=self.rt.cipher.encrypt_embedding(vec, pid, pipeline.model),
                        chip=blob,
                        quality=quality,
                        source=source,
                    )
                )
                done_ids.append(tid)
                people.add(pid)
                report.templates += 1
            batch.clear()
            if progress:
                progress(report.templates)

        for tid, pid, blob, quality, source in rows:
            if blob is None:
                report.skipped_no_chip += 1
                continue
            try:
                chip = self.rt.cipher.decrypt_chip(blob, pid)
            except DecryptionError:
                report.errors.append(f"template {tid}: chip did not decrypt (other key?)")
                continue
            batch.append((tid, pid, chip, quality, source, blob))
            if len(batch) >= 64:
                flush_batch()
        flush_batch()
        if not keep_old and done_ids:
            for start in range(0, len(done_ids), 500):
                report.removed_old += self.db.execute(
                    delete(FaceTemplate).where(FaceTemplate.id.in_(done_ids[start : start + 500]))
                ).rowcount
        report.people = len(people)
        repo.counters.bump_gallery_version(self.db)
        self.audit(
            actor,
            "templates.reembed",
            None,
            {"to": report.to_model, "templates": report.templates, "removed_old": report.removed_old},
        )
        self._commit()
        return report

    # -- health ----------------------------------------------------------------------------------------
    def ready(self) -> dict:
        """Readiness: the database answers and the gallery loads. {"database", "gallery", "templates"}."""
        version = repo.counters.gallery_version(self.db)
        return {"database": "ok", "gallery_version": version, "gallery_sizes": self.rt.gallery.sizes()}
