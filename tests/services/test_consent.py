"""Consent and retention: withdrawal deletes templates and every stored face image at once (and says
how many), the attendance stays; retention deletes old attendance and the chips of long-inactive
people, with an audit entry."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from sqlalchemy import select, update

from whosthat.services import attendance, consent, people, reviews
from whosthat.services.errors import ConflictError, ValidationError
from whosthat.store import repositories as repo
from whosthat.store.models import AuditLog, FaceTemplate, Person, utcnow


def _template(ctx, person_id, seed):
    vec = np.random.default_rng(seed).normal(size=128).astype(np.float32)
    repo.templates.add(
        ctx.db,
        ctx.runtime.cipher,
        person_id,
        embedder="dlib",
        embedding=vec / np.linalg.norm(vec),
        chip=np.full((150, 150, 3), seed, np.uint8),
        quality=1.0,
        source="upload",
    )
    ctx.commit()


def test_withdrawing_consent_deletes_templates_and_images_now(context):
    ctx = context()
    ada = people.create_person(ctx, employee_code="C1", name="Ada", surname="Lovelace")
    row = consent.record_consent(ctx, ada.id)
    assert row.text_version == consent.CURRENT_VERSION and row.taken_by == "system:cli"
    for seed in (1, 2):
        _template(ctx, ada.id, seed)
    threshold, _ = ctx.runtime.operating_point()
    event = attendance.clock(ctx, ada.id, kiosk="lobby", match_distance=0.95 * threshold)
    reviews.flag_if_needed(ctx, event, np.zeros((150, 150, 3), np.uint8), None)
    done = consent.withdraw(ctx, ada.id)
    assert (done.templates_deleted, done.images_deleted) == (2, 1)
    assert ctx.db.execute(select(FaceTemplate).where(FaceTemplate.person_id == ada.id)).first() is None
    assert repo.reviews.page(ctx.db, status=None, page=1, size=5)[0][0].chip is None
    assert consent.current(ctx, ada.id) is None and consent.history(ctx, ada.id)[0].withdrawn_at is not None
    assert attendance.list_events(ctx, person_id=ada.id).total == 1  # the hours stay
    with pytest.raises(ConflictError):
        consent.withdraw(ctx, ada.id)  # nothing left to withdraw
    with pytest.raises(ValidationError):
        consent.record_consent(ctx, ada.id, text_version="1999-01")


def test_retention_deletes_old_attendance_and_chips_of_long_inactive_people(context, runtime):
    ctx = context()
    runtime.settings.retention_attendance_months = 12
    runtime.settings.retention_inactive_chip_days = 30
    old = people.create_person(ctx, employee_code="C2", name="Old", surname="Timer")
    now = people.create_person(ctx, employee_code="C3", name="New", surname="Comer")
    _template(ctx, old.id, 3)
    _template(ctx, now.id, 4)
    attendance.clock(ctx, now.id, at=utcnow() - timedelta(days=400))
    attendance.clock(ctx, now.id, at=utcnow() - timedelta(days=10))
    # Old was deactivated 40 days ago, New is active
    ctx.db.execute(
        update(Person)
        .where(Person.id == old.id)
        .values(active=False, updated_at=utcnow() - timedelta(days=40))
    )
    ctx.commit()
    done = consent.run_retention(ctx)
    assert (done.events_deleted, done.chips_deleted) == (1, 1)
    chips = dict(ctx.db.execute(select(FaceTemplate.person_id, FaceTemplate.chip)).all())
    assert chips[old.id] is None and chips[now.id] is not None
    entry = ctx.db.execute(select(AuditLog).where(AuditLog.action == "retention.run")).scalar_one()
    assert entry.detail["events_deleted"] == 1 and entry.detail["chips_deleted"] == 1
    runtime.settings.retention_attendance_months = runtime.settings.retention_inactive_chip_days = 0
    assert consent.run_retention(ctx) is None


def test_the_schedule_runs_retention_with_an_audit_entry(context, runtime):
    import time

    runtime.settings.retention_attendance_months = 1
    schedule = consent.RetentionSchedule(runtime).start()
    try:
        deadline = time.time() + 10
        ctx = context()
        while time.time() < deadline:
            ctx.db.expire_all()
            if ctx.db.execute(select(AuditLog).where(AuditLog.action == "retention.run")).first():
                break
            time.sleep(0.1)
        else:
            raise AssertionError("the scheduled retention run left no audit entry")
    finally:
        schedule.stop()
        runtime.settings.retention_attendance_months = 0


def test_no_template_is_stored_without_consent_in_force(context, astronaut):
    """The library call behind every enrolment path refuses before any face work, and stores nothing."""
    from whosthat.services import templates
    from whosthat.services.errors import ConsentRequiredError
    from whosthat.vision.image import encode_jpeg

    ctx = context()
    eve = people.create_person(ctx, employee_code="C9", name="Eve", surname="Nobody")
    photo = encode_jpeg(astronaut)
    with pytest.raises(ConsentRequiredError, match="no consent on record") as refused:
        templates.enroll_template(ctx, eve.id, photo)
    assert refused.value.field == "consent_version" and refused.value.http_status == 422
    with pytest.raises(ConsentRequiredError, match="^consent: "):
        templates.enroll_photos(ctx, eve.id, [templates.Photo("p", photo, "upload")], consent_field="consent")
    with pytest.raises(ConsentRequiredError):
        templates.enroll_new_person(
            ctx,
            employee_code="C10",
            name="New",
            surname="One",
            photos=[templates.Photo("p", photo, "upload")],
        )
    assert people.list_people(ctx).total == 1 and repo.templates.counts(ctx.db, [eve.id]) == {}
    assert consent.history(ctx, eve.id) == []
