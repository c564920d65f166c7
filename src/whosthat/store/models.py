"""Database tables (SQLAlchemy 2 declarative models).

The schema itself is created and upgraded by the Alembic migrations in `store/migrations/`; these
classes must stay in step with them (tests/store/test_migrations.py compares the two).

Biometric data (embeddings, face chips) lives only in `face_templates`, always AES-GCM encrypted
(see `store/crypto.py`); deleting a person deletes their templates, chips and attendance rows.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class Person(Base):
    __tablename__ = "people"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    employee_code: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    surname: Mapped[str] = mapped_column(String(120), nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    # The kiosk's fallback login (employee code + PIN): an argon2id hash (services.credentials), NULL
    # when no PIN is set. Never shown, never exported.
    pin_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    templates: Mapped[list[FaceTemplate]] = relationship(
        back_populates="person", cascade="all, delete-orphan", passive_deletes=True
    )
    events: Mapped[list[AttendanceEvent]] = relationship(
        back_populates="person", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def full_name(self) -> str:
        return f"{self.name} {self.surname}".strip()


class FaceTemplate(Base):
    __tablename__ = "face_templates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), nullable=False, index=True
    )
    embedder: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    dim: Mapped[int] = mapped_column(Integer, nullable=False)
    embedding: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)  # AES-GCM ciphertext
    chip: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # AES-GCM ciphertext or None
    quality: Mapped[float] = mapped_column(Float, nullable=False)
    source: Mapped[str] = mapped_column(String(32), nullable=False, default="upload")
    # How the embedder's input was placed, for embedders that place it from the photo: "yunet", or
    # "chip-map" (from the kept dlib chip: YuNet found no face, or `whosthat reembed`); NULL otherwise.
    alignment: Mapped[str | None] = mapped_column(String(16), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    person: Mapped[Person] = relationship(back_populates="templates")


class AttendanceEvent(Base):
    __tablename__ = "attendance_events"
    __table_args__ = (Index("ix_attendance_person_at", "person_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), nullable=False)
    kind: Mapped[str] = mapped_column(String(3), nullable=False)  # "in" | "out"
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow, index=True)
    # How the face matched (kiosk events; NULL for manual and API ones): the distance to the person's
    # closest template, and how far the second-best person was behind (NULL with one person enrolled).
    match_distance: Mapped[float | None] = mapped_column(Float, nullable=True)
    match_margin: Mapped[float | None] = mapped_column(Float, nullable=True)
    liveness_passed: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    liveness: Mapped[dict | None] = mapped_column(JSON, nullable=True)  # challenge summary, no images
    kiosk: Mapped[str | None] = mapped_column(String(64), nullable=True)
    source: Mapped[str] = mapped_column(
        String(16), nullable=False, default="kiosk"
    )  # kiosk | pin | api | manual

    person: Mapped[Person] = relationship(back_populates="events")


class AttendanceCorrection(Base):
    """An administrator's correction: a new event ("add"), a new event that supersedes another ("edit"),
    or a void marker on an event ("void"). Events are never rewritten; an event that some correction
    replaces (replaces_event_id) no longer counts. Each event can be replaced once (unique)."""

    __tablename__ = "attendance_corrections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), nullable=False, index=True
    )
    action: Mapped[str] = mapped_column(String(8), nullable=False)  # add | edit | void
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("attendance_events.id", ondelete="CASCADE"), nullable=True, index=True
    )  # the event this correction created (add, edit)
    replaces_event_id: Mapped[int | None] = mapped_column(
        ForeignKey("attendance_events.id", ondelete="CASCADE"), nullable=True, unique=True
    )  # the event it supersedes (edit) or voids (void)
    reason: Mapped[str] = mapped_column(String(500), nullable=False)
    by: Mapped[str] = mapped_column(String(80), nullable=False)  # actor label, e.g. "admin:alice"
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("correction_requests.id", ondelete="SET NULL"), nullable=True
    )  # the employee's request it granted, if any

    person: Mapped[Person] = relationship()
    event: Mapped[AttendanceEvent | None] = relationship(foreign_keys=[event_id])
    replaces: Mapped[AttendanceEvent | None] = relationship(foreign_keys=[replaces_event_id])


class CorrectionRequest(Base):
    """An employee's request for a correction ("I forgot to clock out at 17:30"), decided by an admin."""

    __tablename__ = "correction_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), nullable=False, index=True
    )
    action: Mapped[str] = mapped_column(String(8), nullable=False)  # add | edit | void
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("attendance_events.id", ondelete="CASCADE"), nullable=True
    )  # the event to edit or void
    kind: Mapped[str | None] = mapped_column(String(3), nullable=True)  # add, edit: "in" | "out"
    event_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)  # add, edit
    reason: Mapped[str] = mapped_column(String(500), nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="pending", index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(80), nullable=True)
    decision_note: Mapped[str | None] = mapped_column(String(500), nullable=True)

    person: Mapped[Person] = relationship()
    event: Mapped[AttendanceEvent | None] = relationship()


class Schedule(Base):
    """A weekly working pattern in a time zone, with its rules (services/timesheets.py applies them).

    week: 7 entries, Monday first, each None (a day off) or {"start": "HH:MM", "end": "HH:MM",
    "break_min": int}; an end at or before the start ends on the next day (a night shift)."""

    __tablename__ = "schedules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True, nullable=False)
    timezone: Mapped[str] = mapped_column(String(64), nullable=False)
    week: Mapped[list] = mapped_column(JSON, nullable=False)
    grace_late_min: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    grace_early_min: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    half_day_below_pct: Mapped[int] = mapped_column(Integer, nullable=False, default=75)
    absent_below_pct: Mapped[int] = mapped_column(Integer, nullable=False, default=25)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class WorkGroup(Base):
    """A named group of people (a team, a site) that a schedule can be assigned to."""

    __tablename__ = "work_groups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True, nullable=False)


class WorkGroupMember(Base):
    __tablename__ = "work_group_members"

    group_id: Mapped[int] = mapped_column(ForeignKey("work_groups.id", ondelete="CASCADE"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), primary_key=True)


class ScheduleAssignment(Base):
    """From valid_from on, the schedule applies to one person or to every member of one group; a
    person's own assignment wins over their groups', the latest valid_from over older ones."""

    __tablename__ = "schedule_assignments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    schedule_id: Mapped[int] = mapped_column(
        ForeignKey("schedules.id", ondelete="CASCADE"), nullable=False, index=True
    )
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), nullable=True, index=True
    )
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("work_groups.id", ondelete="CASCADE"), nullable=True, index=True
    )
    valid_from: Mapped[date] = mapped_column(Date, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class Holiday(Base):
    """A public holiday (no one is scheduled; work that day is overtime)."""

    __tablename__ = "holidays"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(120), nullable=False)


class PeriodLock(Base):
    """Work days date_from..date_to are locked (e.g. exported to payroll): no correction changes them
    until an administrator unlocks the period with a reason (kept here and in the audit log)."""

    __tablename__ = "period_locks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    date_from: Mapped[date] = mapped_column(Date, nullable=False)
    date_to: Mapped[date] = mapped_column(Date, nullable=False)
    note: Mapped[str | None] = mapped_column(String(200), nullable=True)
    locked_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    locked_by: Mapped[str] = mapped_column(String(80), nullable=False)
    unlocked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    unlocked_by: Mapped[str | None] = mapped_column(String(80), nullable=True)
    unlock_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)


class Admin(Base):
    __tablename__ = "admins"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)  # argon2id
    role: Mapped[str] = mapped_column(String(16), nullable=False, default="admin")  # admin | viewer
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), nullable=False)
    prefix: Mapped[str] = mapped_column(String(16), nullable=False, index=True)  # shown to admins
    key_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)  # sha256 hex
    scopes: Mapped[str] = mapped_column(String(255), nullable=False)  # space-separated
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(80), nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    @property
    def scope_list(self) -> list[str]:
        return self.scopes.split()


class AuditLog(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(
        String(80), nullable=False
    )  # "admin:alice", "apikey:3:ci", "kiosk:lobby"
    action: Mapped[str] = mapped_column(String(64), nullable=False)
    target: Mapped[str | None] = mapped_column(String(120), nullable=True)  # "person:2", "kiosk:1"
    # The target's name at the time of the action ("Ada Lovelace (E042)", "Lobby", "ci"); a deleted
    # person's rows keep only the employee code ("E042 (deleted)"): the name leaves with the person.
    target_label: Mapped[str | None] = mapped_column(String(160), nullable=True)
    address: Mapped[str | None] = mapped_column(String(64), nullable=True)
    detail: Mapped[dict | None] = mapped_column(JSON, nullable=True)  # never biometric data


class Kiosk(Base):
    """A kiosk an administrator registered: a one-time pairing code (hash, expiry) turns one browser
    into this kiosk, which then holds a device credential (cookie; only its hash is stored). Face
    logins and liveness sessions come only from a paired, unrevoked kiosk."""

    __tablename__ = "kiosks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)  # the kiosk-name rule
    site: Mapped[str] = mapped_column(String(120), nullable=False, default="")
    timezone: Mapped[str] = mapped_column(String(64), nullable=False)
    # The kiosk's own language (i18n.LANGUAGES); None: the browser's choice, then the site default.
    language: Mapped[str | None] = mapped_column(String(8), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(80), nullable=False)
    pairing_code_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    pairing_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    device_token_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    paired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_address: Mapped[str | None] = mapped_column(String(64), nullable=True)


class ReviewItem(Base):
    """A kiosk event an administrator should look at (a weak face match, a liveness warning), with the
    attempt's face chip (AES-GCM, bound to the person like template chips) kept only until the decision."""

    __tablename__ = "review_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(
        ForeignKey("attendance_events.id", ondelete="CASCADE"), nullable=False, unique=True
    )
    person_id: Mapped[int] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), nullable=False, index=True
    )
    reasons: Mapped[list] = mapped_column(JSON, nullable=False)  # "weak_match", "liveness_warning"
    chip: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # ciphertext; NULL once decided
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="pending", index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(80), nullable=True)
    note: Mapped[str | None] = mapped_column(String(500), nullable=True)

    event: Mapped[AttendanceEvent] = relationship()
    person: Mapped[Person] = relationship()


class ConsentRecord(Base):
    """A person's consent to face login: which text (version) they agreed to, in which language, when,
    who took it; and when it was withdrawn (their templates and chips are deleted then) and by whom."""

    __tablename__ = "consent_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), nullable=False, index=True
    )
    text_version: Mapped[str] = mapped_column(String(32), nullable=False)
    # The language the text was shown in (en, de, it, fr); NULL: not recorded (records before 0016).
    language: Mapped[str | None] = mapped_column(String(8), nullable=True)
    given_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    taken_by: Mapped[str] = mapped_column(String(80), nullable=False)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    withdrawn_by: Mapped[str | None] = mapped_column(String(80), nullable=True)


class LoginTicket(Base):
    """One-time ticket that turns a passed kiosk login into an employee session (hash stored only)."""

    __tablename__ = "login_tickets"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class WebSession(Base):
    """A signed-in browser session (hash of its token only): the cookie names it, logout deletes it, a
    password change deletes every session of that administrator, and it is worthless after expires_at."""

    __tablename__ = "web_sessions"
    __table_args__ = (Index("ix_web_sessions_subject", "kind", "subject_id"),)

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)  # admin | employee
    subject_id: Mapped[int] = mapped_column(Integer, nullable=False)  # the admin's or the person's id
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)


class FormDraft(Base):
    """A page form sent back with errors, kept for the form's next GET (post/redirect/get): the entered
    values and errors, encrypted (AES-GCM, bound to the draft), only for the browser session that sent it
    (hash of its session token), until expires_at or until the form is sent again. Hashes of the draft's
    token only."""

    __tablename__ = "form_drafts"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    session_hash: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    form: Mapped[str] = mapped_column(String(40), nullable=False)
    payload: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)  # ciphertext of JSON
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)


class FormDraftPhoto(Base):
    """A photo chosen in a draft's form (its label, source and image bytes, all in one AES-GCM
    ciphertext bound to the draft and position: never in clear), deleted with the draft."""

    __tablename__ = "form_draft_photos"

    draft_hash: Mapped[str] = mapped_column(
        ForeignKey("form_drafts.token_hash", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)


class SetupToken(Base):
    """One-time token for creating the first administrator from the browser (hash stored only)."""

    __tablename__ = "setup_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Counter(Base):
    """Named monotonically increasing counters; `gallery` moves on every template/person change."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)


class GalleryChange(Base):
    """Which people's face search changed at each value of the gallery counter (person_id NULL: anyone,
    reload everything). A replica that last applied version V reads the rows after V and reloads only
    those people's templates; old rows are pruned (`counters.CHANGE_LOG_KEEP`)."""

    __tablename__ = "gallery_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, nullable=False, index=True)
    person_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class LimitState(Base):
    """Shared failure and rate counters (services/limits.py, when replicas share the database): one row
    per (limiter, key) holding the recent event times (epoch seconds) and any lockout end."""

    __tablename__ = "limit_states"

    limiter: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    events: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    locked_until: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    updated_at: Mapped[float] = mapped_column(Float, nullable=False, index=True)


class LivenessSession(Base):
    """A kiosk liveness challenge as created (shared so the kiosk's WebSocket may reach any replica):
    its steps and expiry, the hash of its nonce, and whether a WebSocket has claimed it (once only)."""

    __tablename__ = "liveness_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    nonce_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    kiosk: Mapped[str] = mapped_column(String(64), nullable=False)
    steps: Mapped[list] = mapped_column(JSON, nullable=False)
    adaptive_turns: Mapped[list] = mapped_column(JSON, nullable=False)
    timeout_s: Mapped[float] = mapped_column(Float, nullable=False)
    pad_mode: Mapped[str] = mapped_column(String(16), nullable=False)
    created_at: Mapped[float] = mapped_column(Float, nullable=False)
    expires_at: Mapped[float] = mapped_column(Float, nullable=False, index=True)
    claimed: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


# Row ids are never reused: on SQLite an INTEGER PRIMARY KEY without AUTOINCREMENT takes max(id) + 1,
# so deleting the newest person would hand their id (and its audit references) to the next one.
# PostgreSQL's sequences never go back. Every table with an integer `id` gets AUTOINCREMENT (migration
# 0007 rebuilt the tables that existed then; a new table's migration passes sqlite_autoincrement=True,
# tests/store/test_files.py checks).
def integer_id_tables(metadata) -> list[str]:
    """Names of the tables whose primary key is one integer column `id`."""
    out = []
    for table in metadata.tables.values():
        pk = list(table.primary_key.columns)
        if len(pk) == 1 and pk[0].name == "id" and isinstance(pk[0].type, Integer):
            out.append(table.name)
    return sorted(out)


for _name in integer_id_tables(Base.metadata):
    Base.metadata.tables[_name].dialect_kwargs["sqlite_autoincrement"] = True
