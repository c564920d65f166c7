"""The corrections API: add / edit / void with a reason, the day's hours follow, bad input is a 4xx
that changes nothing, and requests are decided once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from whosthat.services import attendance, corrections, people


def at(hh, mm=0, day=9):
    return datetime(2026, 3, day, hh, mm, tzinfo=UTC)


@pytest.fixture(scope="module")
def grace(web):
    ctx = web.context()
    try:
        person = people.create_person(ctx, employee_code="CO-1", name="Grace", surname="Hopper")
        ids = [attendance.clock(ctx, person.id, kiosk="k", at=t).id for t in (at(9), at(12), at(13))]
        return {"id": person.id, "events": ids}
    finally:
        ctx.db.close()


def _day(web, person_id, day="2026-03-09"):
    r = web.client.get(
        "/api/v1/attendance/days", params={"person": person_id, "from": day, "to": day}, headers=web.headers
    )
    assert r.status_code == 200
    return r.json()[0]


def test_api_corrections_add_edit_void_and_the_hours_follow(web, grace):
    # in 09:00, out 12:00, in 13:00 (open): 3 h
    assert _day(web, grace["id"])["worked_hours"] == 3.0
    r = web.client.post(
        "/api/v1/attendance/corrections",
        json={
            "action": "add",
            "person_id": grace["id"],
            "kind": "out",
            "at": "2026-03-09T17:15:00Z",
            "reason": "forgot to clock out at 17:15",
        },
        headers=web.headers,
    )
    assert r.status_code == 201, r.text
    assert r.json()["by"].startswith("apikey:") and r.json()["event"]["source"] == "correction"
    # 3 h + 13:00-17:15 (4.25 h) = 7.25 h
    day = _day(web, grace["id"])
    assert day["worked_hours"] == 7.25 and not day["missing_clock_out"]
    assert [c["action"] for c in day["corrections"]] == ["add"]
    r = web.client.post(
        "/api/v1/attendance/corrections",
        json={
            "action": "edit",
            "event_id": grace["events"][0],
            "at": "2026-03-09T08:30:00+00:00",
            "reason": "badge reader was slow",
        },
        headers=web.headers,
    )
    assert r.status_code == 201 and r.json()["replaces"]["id"] == grace["events"][0]
    # 08:30-12:00 (3.5 h) + 4.25 h = 7.75 h
    assert _day(web, grace["id"])["worked_hours"] == 7.75
    listed = web.client.get(
        "/api/v1/attendance/corrections",
        params={"person": grace["id"], "from": "2026-03-09", "to": "2026-03-09"},
        headers=web.headers,
    ).json()
    assert [c["action"] for c in listed] == ["add", "edit"]
    assert "changed in 09:00 to in 08:30 (badge reader was slow)" in listed[1]["summary"]


@pytest.mark.parametrize(
    "body",
    [
        {"action": "void", "event_id": 1},  # no reason
        {"action": "void", "event_id": 1, "reason": ""},
        {"action": "add", "person_id": 1, "kind": "out", "at": "2026-03-09T17:00:00", "reason": "naive time"},
        {"action": "add", "person_id": 1, "kind": "up", "at": "2026-03-09T17:00:00Z", "reason": "bad kind"},
        {"action": "erase", "event_id": 1, "reason": "no such action"},
        {"action": "void", "event_id": 1, "reason": "x", "extra": 1},
        {"action": "void", "event_id": 2**40, "reason": "too large id"},
        {
            "action": "add",
            "person_id": 1,
            "kind": "out",
            "at": "2999-01-01T00:00:00Z",
            "reason": "the future",
        },
        {"action": "void", "event_id": 99999, "reason": "no such event"},
    ],
)
def test_bad_corrections_are_4xx_and_change_nothing(web, grace, body):
    before = web.snapshot()
    r = web.client.post("/api/v1/attendance/corrections", json=body, headers=web.headers)
    assert 400 <= r.status_code < 500 and "error" in r.json()
    assert web.snapshot() == before


def test_a_read_only_key_cannot_correct(web, grace):
    from whosthat.services import access
    from whosthat.services.common import Context

    with Context.open(web.runtime) as ctx:
        _, key = access.create_api_key(ctx, "reader", ["attendance:read"])
    before = web.snapshot()
    r = web.client.post(
        "/api/v1/attendance/corrections",
        json={"action": "void", "event_id": grace["events"][1], "reason": "reader tries"},
        headers={"X-API-Key": key},
    )
    assert r.status_code == 403 and web.snapshot() == before


def test_requests_are_listed_and_decided_once(web, grace):
    ctx = web.context()
    try:
        req = corrections.request_correction(
            ctx, grace["id"], action="void", event_id=grace["events"][1], reason="that was my colleague"
        )
    finally:
        ctx.db.close()
    pending = web.client.get("/api/v1/attendance/requests", headers=web.headers).json()
    assert [r["id"] for r in pending["items"]] == [req.id]
    r = web.client.post(
        f"/api/v1/attendance/requests/{req.id}/decision", json={"approve": False}, headers=web.headers
    )
    assert r.status_code == 422  # a rejection needs a note
    r = web.client.post(
        f"/api/v1/attendance/requests/{req.id}/decision", json={"approve": True}, headers=web.headers
    )
    assert r.status_code == 200 and r.json()["status"] == "approved"
    again = web.client.post(
        f"/api/v1/attendance/requests/{req.id}/decision", json={"approve": True}, headers=web.headers
    )
    assert again.status_code == 409
    # the 12:00 out is voided: 08:30 in ... 13:00 in ... 17:15 out = one interval 08:30-17:15 = 8.75 h
    assert _day(web, grace["id"])["worked_hours"] == 8.75
