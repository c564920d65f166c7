"""Corrections over the HTML pages (no browser): an admin adds the forgotten clock-out, edits and voids
events with a reason, the day shows what was corrected; an employee asks, the admin approves; a viewer
cannot correct."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient
from tests.page_client import app_with_admins, context, csrf_of, sign_in

from whosthat.services import attendance, corrections, kiosk_login, people


@pytest.fixture()
def app(tmp_path):
    return app_with_admins(tmp_path, timezone="Europe/Berlin")


def berlin(hh, mm=0):
    """2026-03-10 (CET, UTC+1) at hh:mm Berlin time."""
    return datetime(2026, 3, 10, hh - 1, mm, tzinfo=UTC)


DATE = date(2026, 3, 10)
DAY = "?person={pid}&from=2026-03-10&to=2026-03-10"


def _worked(ctx, pid):
    (day,) = attendance.day_reports(ctx, person_id=pid, date_from=DATE, date_to=DATE)
    return day


@pytest.fixture()
def ada(app):
    ctx = context(app)
    person = people.create_person(ctx, employee_code="E1", name="Ada", surname="Lovelace")
    events = [
        attendance.clock(ctx, person.id, kiosk="lobby", at=t).id for t in (berlin(8), berlin(12), berlin(13))
    ]
    return person.id, events


def test_admin_adds_the_missing_clock_out_and_the_day_shows_the_correction(app, ada):
    pid, _ = ada
    with TestClient(app) as client:
        sign_in(client)
        page = client.get("/admin/attendance" + DAY.format(pid=pid))
        assert "missing clock-out" in page.text and 'id="add-form"' in page.text
        r = client.post(
            "/admin/attendance/add",
            data={
                "csrf_token": csrf_of(page.text),
                "person": pid,
                "kind": "out",
                "day": "2026-03-10",
                "time": "17:30",
                "reason": "forgot to clock out",
            },
            follow_redirects=False,
        )
        assert r.status_code == 303
        page = client.get(r.headers["location"])
        assert "added out 17:30 (forgot to clock out) by admin:alice" in page.text
        assert "missing clock-out: not counted" not in page.text
    # Berlin 08:00-12:00 (4 h) + 13:00-17:30 (4.5 h) = 8.5 h
    assert _worked(context(app), pid).worked_hours == 8.5


def test_admin_edits_and_voids_from_the_event_page_and_a_reason_is_required(app, ada):
    pid, (first_in, noon_out, _) = ada
    with TestClient(app) as client:
        sign_in(client)
        page = client.get(f"/admin/attendance/events/{first_in}")
        assert page.status_code == 200 and 'id="edit-form"' in page.text and 'value="08:00"' in page.text
        token = csrf_of(page.text)
        empty = client.post(
            f"/admin/attendance/events/{first_in}/edit",
            data={"csrf_token": token, "kind": "in", "day": "2026-03-10", "time": "07:30", "reason": " "},
        )
        assert [r.status_code for r in empty.history] == [303] and "reason" in empty.text  # post/redirect/get
        bad_time = client.post(
            f"/admin/attendance/events/{first_in}/edit",
            data={
                "csrf_token": token,
                "kind": "in",
                "day": "2026-03-10",
                "time": "7h30",
                "reason": "late bus",
            },
        )
        assert [r.status_code for r in bad_time.history] == [303] and "flash-error" in bad_time.text
        no_csrf = client.post(f"/admin/attendance/events/{noon_out}/void", data={"reason": "wrong match"})
        assert no_csrf.status_code == 403
        assert not corrections.corrections_in(context(app), since=None, until=None)
        client.post(
            f"/admin/attendance/events/{first_in}/edit",
            data={
                "csrf_token": token,
                "kind": "in",
                "day": "2026-03-10",
                "time": "07:30",
                "reason": "kiosk was down",
            },
        )
        client.post(
            f"/admin/attendance/events/{noon_out}/void", data={"csrf_token": token, "reason": "wrong match"}
        )
        old = client.get(f"/admin/attendance/events/{first_in}")
        assert 'id="event-replaced"' in old.text and 'id="edit-form"' not in old.text
        audit = client.get("/admin/audit")
        assert "attendance.correct.edit" in audit.text and "attendance.correct.void" in audit.text
    # in 07:30, (voided out 12:00), in 13:00: one open interval, nothing counted, flagged
    day = _worked(context(app), pid)
    assert day.worked_hours == 0.0 and day.missing_clock_out and len(day.corrections) == 2


def test_a_viewer_sees_but_cannot_correct(app, ada):
    pid, (first_in, _, _) = ada
    with TestClient(app) as client:
        sign_in(client, "victor")
        page = client.get(f"/admin/attendance/events/{first_in}")
        assert page.status_code == 200 and 'id="void-form"' not in page.text
        r = client.post(
            f"/admin/attendance/events/{first_in}/void",
            data={"csrf_token": csrf_of(page.text), "reason": "viewer"},
        )
        assert r.status_code == 403
    assert not corrections.corrections_in(context(app), since=None, until=None)


def test_employee_asks_after_a_face_login_and_the_admin_approves(app, ada):
    pid, _ = ada
    ticket = kiosk_login.issue_login_ticket(context(app), pid)
    with TestClient(app) as employee:
        employee.get(f"/me/enter?ticket={ticket}&kiosk=lobby")
        me = employee.get("/me")
        assert 'id="request-form"' in me.text
        r = employee.post(
            "/me/requests",
            data={
                "csrf_token": csrf_of(me.text),
                "action": "add",
                "kind": "out",
                "day": "2026-03-10",
                "time": "17:30",
                "reason": "I forgot to clock out at 17:30",
            },
            follow_redirects=False,
        )
        assert r.status_code == 303
        assert "I forgot to clock out at 17:30" in employee.get("/me").text
        assert employee.get("/admin/attendance/requests", follow_redirects=False).status_code == 303
    (req,) = corrections.my_requests(context(app), pid)
    with TestClient(app) as client:
        sign_in(client)
        queue = client.get("/admin/attendance/requests")
        assert "I forgot to clock out at 17:30" in queue.text and f'id="approve-{req.id}"' in queue.text
        r = client.post(
            f"/admin/attendance/requests/{req.id}/decide",
            data={"csrf_token": csrf_of(queue.text), "decision": "approve"},
            follow_redirects=False,
        )
        assert r.status_code == 303
        assert "No pending requests" in client.get("/admin/attendance/requests").text
    assert _worked(context(app), pid).worked_hours == 8.5
    assert corrections.my_requests(context(app), pid)[0].status == "approved"
