"""Attendance: alternating in/out per person and day, worked hours from pairs, flagged gaps, CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest

from whosthat.services import attendance, people
from whosthat.services.errors import ValidationError


def at(day, hh, mm=0):
    return datetime(2026, 3, day, hh, mm, tzinfo=UTC)


@pytest.fixture(scope="module")
def enrolled(web):
    ctx = web.context()
    try:
        ada = people.create_person(ctx, employee_code="AT-1", name="Ada", surname="Lovelace")
        mallory = people.create_person(ctx, employee_code="=HYPERLINK(1)", name="+Mal", surname="@lory")
        # Day 2: in 08:00, out 12:00, in 13:00 and no clock-out. Day 3: in 09:00, out 17:30.
        kinds = [
            attendance.clock(ctx, ada.id, kiosk="k", at=t).kind
            for t in (at(2, 8), at(2, 12), at(2, 13), at(3, 9), at(3, 17, 30))
        ]
        attendance.clock(ctx, mallory.id, kiosk="k", at=at(2, 10))
        return {"ada": ada.id, "mallory": mallory.id, "kinds": kinds}
    finally:
        ctx.db.close()


def test_events_alternate_per_person_and_day(enrolled):
    assert enrolled["kinds"] == ["in", "out", "in", "in", "out"]  # a new day starts with "in"


def test_worked_hours_come_from_pairs_and_a_missing_clock_out_is_flagged(web, enrolled):
    ctx = web.context()
    try:
        days = attendance.day_reports(
            ctx, person_id=enrolled["ada"], date_from=date(2026, 3, 1), date_to=date(2026, 3, 31)
        )
        assert [(d.day.day, d.worked_hours, d.missing_clock_out) for d in days] == [
            (2, 4.0, True),
            (3, 8.5, False),
        ]
        with pytest.raises(ValidationError):
            attendance.day_reports(ctx, date_from=date(2026, 3, 5), date_to=date(2026, 3, 1))
    finally:
        ctx.db.close()


def test_attendance_api_and_csv_report(web, enrolled):
    r = web.client.get(
        "/api/v1/attendance/days",
        params={"person": enrolled["ada"], "from": "2026-03-02", "to": "2026-03-02"},
        headers=web.headers,
    )
    assert r.status_code == 200
    assert [(d["worked_hours"], d["missing_clock_out"]) for d in r.json()] == [(4.0, True)]
    events = web.client.get(
        "/api/v1/attendance", params={"from": "2026-03-01", "to": "2026-03-31"}, headers=web.headers
    ).json()
    assert events["total"] == 6 and events["items"][0]["at"] >= events["items"][-1]["at"]
    r = web.client.get(
        "/api/v1/attendance/report.csv",
        params={"from": "2026-03-01", "to": "2026-03-31"},
        headers=web.headers,
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    ada = [row for row in rows if row["employee_code"] == "AT-1"]
    assert [(row["date"], row["worked_hours"], row["missing_clock_out"]) for row in ada] == [
        ("2026-03-02", "4.00", "yes"),
        ("2026-03-03", "8.50", "no"),
    ]
    evil = next(row for row in rows if row["surname"].endswith("lory"))
    # Cells that a spreadsheet would run as formulas are neutralised.
    assert (
        evil["employee_code"].startswith("'=")
        and evil["name"].startswith("'+")
        and evil["surname"] == "'@lory"
    )
    bad = web.client.get("/api/v1/attendance/report.csv", params={"from": "March"}, headers=web.headers)
    assert bad.status_code == 422 and bad.json()["error"] == "invalid_request"
