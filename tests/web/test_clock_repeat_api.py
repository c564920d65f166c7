"""The repeat window over HTTP: POST /attendance answers 200 with `recorded` false and the person's last
event inside WHOSTHAT_CLOCK_REPEAT_S (201 with the new event otherwise); the kiosk's PIN login signs in
and says that nothing was recorded (`event` null, `last_event`, no review)."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.kiosk_pairing import pair_client
from whosthat.services import people, pin_login
from whosthat.services.common import SYSTEM
from whosthat.store.models import AttendanceEvent, AuditLog


def _count(web, model, **where) -> int:
    with web.runtime.database.session() as db:
        stmt = select(func.count()).select_from(model)
        for column, value in where.items():
            stmt = stmt.where(getattr(model, column) == value)
        return db.execute(stmt).scalar_one()


def test_the_api_answers_a_repeat_with_200_and_the_last_event(web):
    ctx = web.context()
    try:
        ada = people.create_person(ctx, employee_code="RW-1", name="Ada", surname="Repeat")
    finally:
        ctx.db.close()
    first = web.client.post(
        "/api/v1/attendance", json={"person_id": ada.id, "kiosk": "lobby"}, headers=web.headers
    )
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["recorded"] is True and body["kind"] == "in" and body["repeat_window_s"] == 90
    again = web.client.post(
        "/api/v1/attendance", json={"person_id": ada.id, "kiosk": "hall"}, headers=web.headers
    )
    assert again.status_code == 200, again.text
    repeat = again.json()
    assert repeat["recorded"] is False
    assert (repeat["id"], repeat["kind"], repeat["kiosk"], repeat["at"]) == (
        body["id"],
        "in",
        "lobby",
        body["at"],
    )
    assert _count(web, AttendanceEvent, person_id=ada.id) == 1
    assert _count(web, AuditLog, action="attendance.repeat", target=f"person:{ada.id}") == 1
    spec = web.client.get("/openapi.json").json()["paths"]["/api/v1/attendance"]["post"]["responses"]
    assert {"200", "201"} <= set(spec)


def test_a_pin_login_inside_the_window_says_nothing_was_recorded(web):
    ctx = web.context()
    try:
        bea = people.create_person(ctx, employee_code="RW-2", name="Bea", surname="Repeat")
        pin_login.set_pin(ctx, bea.id, "480151", actor=SYSTEM)
    finally:
        ctx.db.close()
    pair_client(web.client, web.runtime, "side-door")
    try:
        login = {"employee_code": "RW-2", "pin": "480151"}
        first = web.client.post("/api/v1/kiosk/pin-login", json=login)
        assert first.status_code == 200, first.text
        done = first.json()
        assert done["recorded"] is True and done["event"]["kind"] == "in" and done["needs_review"] is True
        assert done["last_event"] == done["event"]
        again = web.client.post("/api/v1/kiosk/pin-login", json=login)
        assert again.status_code == 200, again.text
        repeat = again.json()
        assert repeat["passed"] is True and repeat["redirect"].startswith("/me/enter?ticket=")
        assert repeat["recorded"] is False and repeat["event"] is None and repeat["needs_review"] is False
        assert repeat["last_event"] == done["event"]
        assert repeat["message"].startswith("Hello, Bea: already clocked in at ")
        assert _count(web, AttendanceEvent, person_id=bea.id) == 1
    finally:
        web.client.cookies.clear()
