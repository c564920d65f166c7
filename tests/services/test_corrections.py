"""Corrections with a trail: add / edit / void never rewrite an event, the day's hours follow the
corrections (expected values computed by hand in the comments), requests are decided once."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from whosthat.services import attendance, corrections, people
from whosthat.services.common import Actor
from whosthat.services.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationError
from whosthat.store.models import Admin, AttendanceEvent, AuditLog

DAY = date(2026, 3, 2)


def at(hh, mm=0, day=2):
    return datetime(2026, 3, day, hh, mm, tzinfo=UTC)


def _day(ctx, person_id, day=DAY):
    reports = attendance.day_reports(ctx, person_id=person_id, date_from=day, date_to=day)
    return reports[0] if reports else None


def _admin(ctx, role="admin") -> Actor:
    row = Admin(username=f"alice-{role}", password_hash="x", role=role)
    ctx.db.add(row)
    ctx.db.commit()
    return Actor.for_admin(row)


@pytest.fixture
def ada(context):
    ctx = context()
    person = people.create_person(ctx, employee_code="E1", name="Ada", surname="Lovelace")
    # in 08:00, out 12:00, in 13:00, no clock-out: 4 h counted, missing clock-out flagged.
    for t in (at(8), at(12), at(13)):
        attendance.clock(ctx, person.id, kiosk="lobby", at=t)
    return ctx, person


def test_adding_the_forgotten_clock_out_counts_the_afternoon(ada):
    ctx, person = ada
    admin = _admin(ctx)
    assert _day(ctx, person.id).worked_hours == 4.0 and _day(ctx, person.id).missing_clock_out
    row = corrections.add_event(
        ctx, person.id, kind="out", at=at(17, 30), reason="forgot to clock out", actor=admin
    )
    day = _day(ctx, person.id)
    # 08:00-12:00 = 4 h, 13:00-17:30 = 4.5 h: 8.5 h
    assert day.worked_hours == 8.5 and not day.missing_clock_out
    assert day.corrected and [c.id for c in day.corrections] == [row.id]
    assert row.by == "admin:alice-admin" and row.event.source == "correction"
    # and the next kiosk event of the day is an "in" again (the correction is in effect for clocking)
    assert attendance.clock(ctx, person.id, at=at(18)).kind == "in"


def test_editing_keeps_the_original_and_counts_the_new_time(ada):
    ctx, person = ada
    admin = _admin(ctx)
    first_in = _day(ctx, person.id).events[0]
    row = corrections.edit_event(ctx, first_in.id, at=at(7, 45), reason="kiosk was down at 7:45", actor=admin)
    # 07:45-12:00 = 4.25 h (the 13:00 in is still open)
    assert _day(ctx, person.id).worked_hours == 4.25
    original = ctx.db.get(AttendanceEvent, first_in.id)
    assert original.at == at(8) and original.kind == "in"  # never rewritten
    assert row.replaces.id == first_in.id and row.event.at == at(7, 45)
    assert ctx.db.execute(select(func.count()).select_from(AttendanceEvent)).scalar_one() == 4
    with pytest.raises(ConflictError):  # replaced once; the newer event is the one to correct
        corrections.void_event(ctx, first_in.id, reason="second try", actor=admin)
    corrections.edit_event(ctx, row.event.id, at=at(7, 50), reason="it was 7:50", actor=admin)
    # 07:50-12:00 = 4 h 10 min = 4.17 h (rounded to 2 places)
    assert _day(ctx, person.id).worked_seconds == 4 * 3600 + 10 * 60


def test_voiding_a_wrong_match_and_the_audit_log_names_who(ada):
    ctx, person = ada
    admin = _admin(ctx)
    day = _day(ctx, person.id)
    out_noon = day.events[1]
    corrections.void_event(ctx, out_noon.id, reason="not Ada: wrong match", actor=admin)
    day = _day(ctx, person.id)
    # in 08:00, (voided out 12:00), in 13:00: one open interval from 08:00, nothing counted
    assert day.worked_hours == 0.0 and day.missing_clock_out
    assert [e.id for e in day.events] == [day.events[0].id, day.events[1].id] and len(day.events) == 2
    entry = ctx.db.execute(select(AuditLog).where(AuditLog.action == "attendance.correct.void")).scalar_one()
    assert entry.actor == "admin:alice-admin" and entry.detail["reason"] == "not Ada: wrong match"
    assert entry.detail["replaces"]["id"] == out_noon.id


def test_a_day_whose_only_event_was_voided_still_shows_the_correction(context):
    ctx = context()
    admin = _admin(ctx)
    bob = people.create_person(ctx, employee_code="E2", name="Bob", surname="Babbage")
    ev = attendance.clock(ctx, bob.id, at=at(9))
    corrections.void_event(ctx, ev.id, reason="Bob was on holiday", actor=admin)
    day = _day(ctx, bob.id)
    assert day.events == [] and day.worked_hours == 0.0 and day.corrected
    assert "voided in 09:00 (Bob was on holiday) by admin:alice-admin" in attendance.csv_report(ctx)


def test_corrections_need_a_reason_a_writer_and_sane_input(ada):
    ctx, person = ada
    admin, viewer = _admin(ctx), _admin(ctx, "viewer")
    ev = _day(ctx, person.id).events[0]
    before = ctx.db.execute(select(func.count()).select_from(AttendanceEvent)).scalar_one()
    bad = [
        dict(action="void", event_id=ev.id, reason="  "),
        dict(action="void", event_id=ev.id, reason="ok"),
        dict(action="add", person_id=person.id, kind="sideways", at=at(17), reason="forgot it"),
        dict(action="add", person_id=person.id, kind="out", at=datetime(2026, 3, 2, 17), reason="naive"),
        dict(action="add", person_id=person.id, kind="out", reason="no time given"),
        dict(
            action="add",
            person_id=person.id,
            kind="out",
            at=datetime.now(UTC) + timedelta(hours=1),
            reason="future",
        ),
        dict(action="edit", event_id=ev.id, reason="same as before"),
        dict(action="rewrite", event_id=ev.id, reason="not an action"),
    ]
    for fields in bad:
        with pytest.raises(ValidationError):
            corrections.correct(ctx, actor=admin, **fields)
    with pytest.raises(NotFoundError):
        corrections.void_event(ctx, 999999, reason="no such event", actor=admin)
    with pytest.raises(PermissionDeniedError):
        corrections.void_event(ctx, ev.id, reason="viewer tries", actor=viewer)
    assert ctx.db.execute(select(func.count()).select_from(AttendanceEvent)).scalar_one() == before
    assert corrections.corrections_in(ctx, since=None, until=None) == []


def test_an_employee_request_is_approved_once_and_then_counts(ada):
    ctx, person = ada
    admin = _admin(ctx)
    req = corrections.request_correction(
        ctx, person.id, action="add", kind="out", at=at(17, 30), reason="I forgot to clock out at 17:30"
    )
    assert req.status == "pending" and _day(ctx, person.id).worked_hours == 4.0  # not before approval
    assert [r.id for r in corrections.list_requests(ctx, actor=admin).items] == [req.id]
    corrections.decide_request(ctx, req.id, approve=True, actor=admin)
    # 4 h + 13:00-17:30 = 8.5 h
    day = _day(ctx, person.id)
    assert day.worked_hours == 8.5 and day.corrections[0].request_id == req.id
    assert day.corrections[0].reason == "I forgot to clock out at 17:30"
    with pytest.raises(ConflictError):
        corrections.decide_request(ctx, req.id, approve=False, note="changed my mind", actor=admin)
    assert corrections.list_requests(ctx, actor=admin).items == []


def test_a_rejected_request_changes_nothing_and_needs_a_note(ada):
    ctx, person = ada
    admin = _admin(ctx)
    ev = _day(ctx, person.id).events[1]
    req = corrections.request_correction(
        ctx, person.id, action="void", event_id=ev.id, reason="that was not me"
    )
    with pytest.raises(ValidationError):
        corrections.decide_request(ctx, req.id, approve=False, actor=admin)
    corrections.decide_request(ctx, req.id, approve=False, note="camera shows you", actor=admin)
    assert _day(ctx, person.id).worked_hours == 4.0 and not _day(ctx, person.id).corrected
    assert corrections.my_requests(ctx, person.id)[0].status == "rejected"


def test_an_employee_cannot_request_about_someone_elses_event(ada, context):
    ctx, person = ada
    eve = people.create_person(ctx, employee_code="E3", name="Eve", surname="Spy")
    ev = _day(ctx, person.id).events[0]
    with pytest.raises(NotFoundError):
        corrections.request_correction(
            ctx, eve.id, action="void", event_id=ev.id, reason="delete Ada's hours"
        )
    assert corrections.my_requests(ctx, eve.id) == []


def test_a_night_shift_corrected_across_midnight_counts_on_each_local_day(context):
    ctx = context()
    admin = _admin(ctx)
    nia = people.create_person(ctx, employee_code="E4", name="Nia", surname="Night")
    attendance.clock(ctx, nia.id, at=at(22))  # in 22:00 on the 2nd, the clock-out was forgotten
    corrections.add_event(ctx, nia.id, kind="out", at=at(23, 59), reason="left at midnight", actor=admin)
    # 22:00-23:59 = 1 h 59 min
    assert _day(ctx, nia.id).worked_seconds == 119 * 60
