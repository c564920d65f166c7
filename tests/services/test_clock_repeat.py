"""The repeat window (WHOSTHAT_CLOCK_REPEAT_S): a clocking less than the window after the person's last
event, from any kiosk or source, records nothing (the payroll bug: clocked in at one kiosk, walked past
a second one, clocked OUT 38 s later). The login still goes ahead; corrections are not limited."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.store.backends import make_settings
from whosthat.services import attendance, corrections, kiosk_login, people, pin_login, reviews
from whosthat.services.common import SYSTEM, Actor, Context
from whosthat.services.runtime import Runtime
from whosthat.store import repositories as repo
from whosthat.store.models import Admin, AuditLog

T0 = datetime(2026, 3, 2, 9, 2, tzinfo=UTC)


def _events(ctx, person_id):
    ctx.db.rollback()  # a fresh snapshot
    return repo.attendance.oldest_first(ctx.db, person_id=person_id, since=None, until=None)


def _repeats(ctx) -> list[AuditLog]:
    return list(ctx.db.execute(select(AuditLog).where(AuditLog.action == "attendance.repeat")).scalars())


@pytest.fixture
def ada(context):
    ctx = context()
    return ctx, people.create_person(ctx, employee_code="E1", name="Ada", surname="Lovelace")


def test_a_second_kiosk_inside_the_window_records_nothing(runtime, ada):
    ctx, person = ada
    assert runtime.settings.clock_repeat_s == 90  # the default
    first = attendance.clock_or_repeat(ctx, person.id, kiosk="lobby", at=T0, actor=Actor.for_kiosk("lobby"))
    assert first.recorded and first.event.kind == "in"
    # 38 s later, the second kiosk on the way in: not a clock-out.
    again = attendance.clock_or_repeat(
        ctx, person.id, kiosk="hall", at=T0 + timedelta(seconds=38), actor=Actor.for_kiosk("hall")
    )
    assert not again.recorded and again.window_s == 90
    assert again.event.id == first.event.id and again.event.kind == "in" and again.event.at == T0
    assert [(e.kind, e.kiosk) for e in _events(ctx, person.id)] == [("in", "lobby")]
    [entry] = _repeats(ctx)
    assert entry.actor == "kiosk:hall" and entry.target == f"person:{person.id}"
    assert entry.detail == {
        "kiosk": "hall",
        "source": "kiosk",
        "last_event": first.event.id,
        "last_kind": "in",
        "last_at": T0.isoformat(),
        "last_kiosk": "lobby",
        "last_source": "kiosk",
        "window_s": 90.0,
    }
    # the day is one open interval from 09:02, as if the second kiosk had not been passed
    [day] = attendance.day_reports(ctx, person_id=person.id, date_from=T0.date(), date_to=T0.date())
    assert [e.id for e in day.events] == [first.event.id] and day.first_in == T0


def test_outside_the_window_the_next_event_is_recorded(ada):
    ctx, person = ada
    attendance.clock(ctx, person.id, kiosk="lobby", at=T0)
    inside = attendance.clock_or_repeat(ctx, person.id, kiosk="hall", at=T0 + timedelta(seconds=89.9))
    assert not inside.recorded
    # the window counts from the last event recorded, not from the repeat
    out = attendance.clock_or_repeat(ctx, person.id, kiosk="hall", at=T0 + timedelta(seconds=90))
    assert out.recorded and out.event.kind == "out" and out.event.kiosk == "hall"
    assert [e.kind for e in _events(ctx, person.id)] == ["in", "out"]
    assert not attendance.clock_or_repeat(ctx, person.id, at=T0 + timedelta(seconds=150)).recorded
    assert attendance.clock_or_repeat(ctx, person.id, at=T0 + timedelta(seconds=181)).event.kind == "in"


def test_a_pin_login_inside_the_window_signs_in_but_records_nothing(ada):
    ctx, person = ada
    pin_login.set_pin(ctx, person.id, "480151", actor=SYSTEM)
    face = attendance.clock(ctx, person.id, kiosk="lobby", source="kiosk")  # now, by face at the lobby
    done = pin_login.pin_login(ctx, "hall", "E1", "480151")
    assert not done.recorded and done.event.id == face.id and done.event.kind == "in"
    assert done.message.startswith("Hello, Ada: already clocked in at ") and "nothing changed" in done.message
    assert "review" not in done.message
    assert reviews.list_items(ctx).items == []  # no PIN event, so nothing to review
    assert kiosk_login.redeem_login_ticket(ctx, done.ticket).id == person.id  # the employee page opens
    assert [(e.kind, e.source) for e in _events(ctx, person.id)] == [("in", "kiosk")]
    [entry] = _repeats(ctx)
    assert entry.detail["source"] == "pin" and entry.detail["last_source"] == "kiosk"
    # and the other way round: a PIN clock-in, then the face at another kiosk
    bob = people.create_person(ctx, employee_code="E2", name="Bob", surname="Other")
    pin_login.set_pin(ctx, bob.id, "730264", actor=SYSTEM)
    assert pin_login.pin_login(ctx, "hall", "E2", "730264").recorded
    assert not attendance.clock_or_repeat(ctx, bob.id, kiosk="lobby", source="kiosk").recorded


def test_window_zero_turns_it_off(tmp_path):
    runtime = Runtime.from_settings(make_settings("sqlite", tmp_path, clock_repeat_s=0))
    try:
        with Context.open(runtime, "192.0.2.1") as ctx:
            person = people.create_person(ctx, employee_code="E1", name="Ada", surname="Lovelace")
            kinds = [
                attendance.clock_or_repeat(ctx, person.id, kiosk=k, at=T0 + timedelta(seconds=s))
                for k, s in (("lobby", 0), ("hall", 1), ("hall", 2))
            ]
            assert [(c.recorded, c.event.kind) for c in kinds] == [(True, "in"), (True, "out"), (True, "in")]
            assert _repeats(ctx) == []
    finally:
        runtime.close()


def test_the_window_setting_is_checked():
    from pydantic import ValidationError

    from whosthat.config import Settings

    assert Settings(clock_repeat_s=120).clock_repeat_s == 120
    for bad in (-1, 3601):
        with pytest.raises(ValidationError):
            Settings(clock_repeat_s=bad)


def test_corrections_are_not_limited_and_a_voided_event_opens_the_window(ada):
    ctx, person = ada
    admin_row = Admin(username="alice", password_hash="x", role="admin")
    ctx.db.add(admin_row)
    ctx.db.commit()
    admin = Actor.for_admin(admin_row)
    now = datetime.now(UTC)
    first = attendance.clock(ctx, person.id, kiosk="lobby", at=now - timedelta(seconds=20))
    # an administrator adds the clock-out right after it: a correction is never a repeat
    row = corrections.add_event(
        ctx, person.id, kind="out", at=now - timedelta(seconds=10), reason="left at once", actor=admin
    )
    assert row.event.kind == "out"
    # that correction is the last event now, so a kiosk 10 s later still records nothing
    assert not attendance.clock_or_repeat(ctx, person.id, kiosk="hall", at=now).recorded
    # the administrator voids the wrong match's event and the correction: the window has nothing to hold to
    corrections.void_event(ctx, row.event.id, reason="added by mistake", actor=admin)
    corrections.void_event(ctx, first.id, reason="not Ada: wrong match", actor=admin)
    again = attendance.clock_or_repeat(ctx, person.id, kiosk="hall", at=now + timedelta(seconds=1))
    assert again.recorded and again.event.kind == "in"


def test_parallel_clockings_inside_the_window_record_one_event(runtime, context):
    ctx = context()
    ada = people.create_person(ctx, employee_code="R1", name="Ada", surname="Race")
    barrier = threading.Barrier(8)
    results: list = []
    errors: list[Exception] = []

    def one(kiosk: str) -> None:
        with Context.open(runtime, "192.0.2.9") as c:
            barrier.wait()
            try:
                results.append(attendance.clock_or_repeat(c, ada.id, kiosk=kiosk, source="api").recorded)
            except Exception as exc:  # noqa: BLE001 - asserted on below
                errors.append(exc)

    threads = [threading.Thread(target=one, args=(f"k{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert sorted(results) == [False] * 7 + [True]
    assert [e.kind for e in _events(ctx, ada.id)] == ["in"]
    assert len(_repeats(ctx)) == 7


def _walk_past_two_kiosks(ctx, person_id) -> None:
    """In at the lobby 08:00, past the hall 38 s later; out at the hall 17:00, past the lobby 30 s later."""
    day = datetime(2026, 3, 3, tzinfo=UTC)
    for kiosk, moment in (
        ("lobby", day + timedelta(hours=8)),
        ("hall", day + timedelta(hours=8, seconds=38)),
        ("hall", day + timedelta(hours=17)),
        ("lobby", day + timedelta(hours=17, seconds=30)),
    ):
        attendance.clock_or_repeat(ctx, person_id, kiosk=kiosk, at=moment)


def _reports(ctx, person_id):
    import csv
    import io

    from openpyxl import load_workbook

    from whosthat.services import exports

    day = datetime(2026, 3, 3).date()
    [report] = attendance.day_reports(ctx, person_id=person_id, date_from=day, date_to=day)
    rows = list(
        csv.DictReader(
            io.StringIO(attendance.csv_report(ctx, person_id=person_id, date_from=day, date_to=day))
        )
    )
    sheet = load_workbook(io.BytesIO(exports.timesheet_xlsx(ctx, day, day, person_id=person_id)))["Days"]
    header, *cells = [list(r) for r in sheet.iter_rows(values_only=True)]
    days = [dict(zip(header, r, strict=True)) for r in cells]
    return report, rows, days


def test_the_day_reports_and_exports_show_a_repeat_as_nothing(ada):
    ctx, person = ada
    _walk_past_two_kiosks(ctx, person.id)
    report, rows, days = _reports(ctx, person.id)
    # 08:00 -> 17:00 = 9 h: the two kiosks walked past add no event and no interval
    assert [(e.kind, e.kiosk) for e in report.events] == [("in", "lobby"), ("out", "hall")]
    assert report.worked_seconds == 9 * 3600 and not report.missing_clock_out
    assert [(r["first_in"], r["last_out"], r["worked_hours"], r["events"]) for r in rows] == [
        ("08:00:00", "17:00:00", "9.00", "in@08:00:00 out@17:00:00")
    ]
    assert [(d["first_in"], d["last_out"], d["worked_hours"], d["flags"]) for d in days] == [
        ("08:00", "17:00", 9.0, "overtime")  # no schedule: all of it is overtime
    ]


def test_without_the_window_the_same_walk_is_the_payroll_bug(tmp_path):
    runtime = Runtime.from_settings(make_settings("sqlite", tmp_path, clock_repeat_s=0))
    try:
        with Context.open(runtime, "192.0.2.1") as ctx:
            person = people.create_person(ctx, employee_code="E1", name="Ada", surname="Lovelace")
            _walk_past_two_kiosks(ctx, person.id)
            report, rows, _ = _reports(ctx, person.id)
            # in 08:00, out 08:00:38, in 17:00, out 17:00:30: 68 s worked instead of 9 h
            assert [e.kind for e in report.events] == ["in", "out", "in", "out"]
            assert report.worked_seconds == 68 and rows[0]["worked_hours"] == "0.02"
    finally:
        runtime.close()
