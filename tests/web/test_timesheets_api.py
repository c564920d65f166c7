"""Schedules and timesheets over the API: JSON, CSV and XLSX carry the same hand-computed numbers,
locked periods refuse corrections (423), bad input is a 4xx that changes nothing."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook

from whosthat.services import attendance, people
from whosthat.web.api.timesheets import TimesheetOut

PERIOD = {"from": "2026-04-06", "to": "2026-04-12"}  # Monday to Sunday, UTC days


def at(day, hh, mm=0):
    return datetime(2026, 4, day, hh, mm, tzinfo=UTC)


@pytest.fixture(scope="module")
def staff(web):
    ctx = web.context()
    try:
        kim = people.create_person(ctx, employee_code="TS-1", name="Kim", surname="Clerk")
        evil = people.create_person(ctx, employee_code="=cmd|' /C calc'!A0", name="@Evil", surname="-Row")
        # Kim: Mon 08:00-16:30 (8.5 h gross, 30 min break: 8 h); Tue 08:00-18:00 (10 h - 0.5 = 9.5 h: 1.5 h
        # overtime)
        for t in (at(6, 8), at(6, 16, 30), at(7, 8), at(7, 18)):
            attendance.clock(ctx, kim.id, at=t)
        attendance.clock(ctx, evil.id, at=at(6, 9))
        return {"kim": kim.id, "evil": evil.id}
    finally:
        ctx.db.close()


@pytest.fixture(scope="module")
def scheduled(web, staff):
    day = {"start": "08:00", "end": "16:30", "break_min": 30}
    r = web.client.post(
        "/api/v1/schedules",
        json={"name": "early", "timezone": "UTC", "week": [day] * 5 + [None, None], "grace_late_min": 10},
        headers=web.headers,
    )
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    r = web.client.post(
        f"/api/v1/schedules/{sid}/assignments",
        json={"valid_from": "2026-01-01", "person_id": staff["kim"]},
        headers=web.headers,
    )
    assert r.status_code == 201, r.text
    r = web.client.post(
        "/api/v1/holidays", json={"day": "2026-04-10", "name": "Good Friday"}, headers=web.headers
    )
    assert r.status_code == 201
    return sid


def test_timesheet_json_has_the_hand_computed_week(web, staff, scheduled):
    r = web.client.get("/api/v1/timesheets", params={**PERIOD, "person": staff["kim"]}, headers=web.headers)
    assert r.status_code == 200, r.text
    TimesheetOut.model_validate(r.json())  # the documented response model holds for the plain JSON
    (kim,) = r.json()["people"]
    days = {d["date"]: d for d in kim["days"]}
    assert (days["2026-04-06"]["worked_hours"], days["2026-04-06"]["status"]) == (8.0, "present")
    assert (days["2026-04-07"]["worked_hours"], days["2026-04-07"]["overtime_hours"]) == (9.5, 1.5)
    # Wed, Thu absent (8 h each scheduled), Fri the holiday
    assert [days[d]["status"] for d in ("2026-04-08", "2026-04-09", "2026-04-10")] == [
        "absent",
        "absent",
        "holiday",
    ]
    # 8 + 9.5 worked; 4 scheduled days x 8 h = 32 h; 1.5 h overtime
    total = kim["total"]
    assert (
        total["worked_hours"],
        total["scheduled_hours"],
        total["overtime_hours"],
        total["absent_days"],
    ) == (
        17.5,
        32.0,
        1.5,
        2,
    )
    assert kim["weeks"]["2026-W15"]["worked_hours"] == 17.5


def test_csv_and_xlsx_carry_the_same_numbers_and_no_formulas(web, staff, scheduled):
    r = web.client.get(
        "/api/v1/timesheets/export.csv", params={**PERIOD, "table": "totals"}, headers=web.headers
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    kim = next(row for row in rows if row["employee_code"] == "TS-1")
    assert (kim["worked_hours"], kim["overtime_hours"], kim["absent_days"]) == ("17.5", "1.5", "2")
    assert rows[-1]["name"] == "Everyone"
    evil = next(row for row in rows if row["surname"] == "'-Row")
    assert evil["employee_code"].startswith("'=") and evil["name"] == "'@Evil"
    r = web.client.get("/api/v1/timesheets/export.xlsx", params=PERIOD, headers=web.headers)
    assert r.status_code == 200 and r.content[:2] == b"PK"
    wb = load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames == ["Totals", "Days", "Weeks", "Months"]
    header = [c.value for c in wb["Totals"][1]]
    values = {
        row[0]: dict(zip(header, row, strict=True))
        for row in wb["Totals"].iter_rows(min_row=2, values_only=True)
    }
    assert values["TS-1"]["worked_hours"] == 17.5 and values["TS-1"]["overtime_hours"] == 1.5
    cells = [c for row in wb["Totals"].iter_rows() for c in row]
    assert not any(c.data_type == "f" for c in cells)  # "=cmd|..." stays text
    assert "=cmd|' /C calc'!A0" in values


def test_a_locked_period_refuses_corrections_with_423_until_unlocked(web, staff, scheduled):
    r = web.client.post(
        "/api/v1/periods/locks", json={"from": "2026-04-06", "to": "2026-04-12"}, headers=web.headers
    )
    assert r.status_code == 201, r.text
    lock_id = r.json()["id"]
    before = web.snapshot()
    r = web.client.post(
        "/api/v1/attendance/corrections",
        json={
            "action": "add",
            "person_id": staff["evil"],
            "kind": "out",
            "at": "2026-04-06T17:00:00Z",
            "reason": "forgot to clock out",
        },
        headers=web.headers,
    )
    assert r.status_code == 423 and r.json()["error"] == "period_locked" and web.snapshot() == before
    assert web.client.get("/api/v1/timesheets", params=PERIOD, headers=web.headers).json()["locked"]
    r = web.client.post(
        f"/api/v1/periods/locks/{lock_id}/unlock", json={"reason": "HR fix"}, headers=web.headers
    )
    assert r.status_code == 200 and r.json()["unlock_reason"] == "HR fix"
    audit = web.client.get("/api/v1/audit", params={"action": "period.unlock"}, headers=web.headers).json()
    assert audit["items"][0]["detail"]["reason"] == "HR fix"


@pytest.mark.parametrize(
    "path, body",
    [
        (
            "/api/v1/schedules",
            {
                "name": "x",
                "timezone": "Nowhere/Else",
                "week": [None] * 6 + [{"start": "09:00", "end": "17:00"}],
            },
        ),
        ("/api/v1/schedules", {"name": "x", "timezone": "UTC", "week": [None] * 7}),
        ("/api/v1/schedules", {"name": "x", "timezone": "UTC", "week": [None] * 3}),
        (
            "/api/v1/schedules",
            {"name": "early", "timezone": "UTC", "week": [{"start": "09:00", "end": "17:00"}] * 7},
        ),
        ("/api/v1/schedules/999/assignments", {"valid_from": "2026-01-01", "person_id": 1}),
        ("/api/v1/holidays", {"day": "2026-04-10", "name": "twice"}),
        ("/api/v1/periods/locks", {"from": "2026-04-12", "to": "2026-04-06"}),
        ("/api/v1/periods/locks", {"from": "2026-04-01", "to": "2999-01-01"}),
    ],
)
def test_bad_schedule_input_is_4xx_and_changes_nothing(web, scheduled, path, body):
    before = web.snapshot()
    r = web.client.post(path, json=body, headers=web.headers)
    assert 400 <= r.status_code < 500, r.text
    assert web.snapshot() == before


@pytest.mark.parametrize(
    "params",
    [
        {"from": "2026-04-12", "to": "2026-04-06"},
        {"from": "2020-01-01", "to": "2026-01-01"},
        {"from": "0001-01-01", "to": "0001-01-02"},
        {"from": "x", "to": "y"},
        {},
    ],
)
def test_bad_periods_are_4xx(web, params):
    for path in ("/api/v1/timesheets", "/api/v1/timesheets/export.csv", "/api/v1/timesheets/export.xlsx"):
        r = web.client.get(path, params=params, headers=web.headers)
        assert 400 <= r.status_code < 500, (path, params, r.text)
