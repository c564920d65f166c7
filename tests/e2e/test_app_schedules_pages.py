"""Schedules and timesheets over the HTML pages (no browser): an admin creates a schedule with the
form, assigns it to a group, adds a holiday, reads the timesheet's hand-computed totals, downloads
the XLSX, locks the period and unlocks it with a reason; a viewer can read but not change."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from tests.page_client import app_with_admins, context, csrf_of, sign_in

from whosthat.services import attendance, people, periods


@pytest.fixture()
def app(tmp_path):
    return app_with_admins(tmp_path)


def test_schedule_form_group_holiday_timesheet_export_and_lock(app):
    ctx = context(app)
    ada = people.create_person(ctx, employee_code="P1", name="Ada", surname="Lovelace")
    # Mon 2 Feb 2026 07:00-15:00 UTC (8 h gross), Tue 07:00-17:00 (10 h gross)
    for t in ((2, 7), (2, 15), (3, 7), (3, 17)):
        attendance.clock(ctx, ada.id, at=datetime(2026, 2, t[0], t[1], tzinfo=UTC))
    with TestClient(app) as client:
        sign_in(client)
        page = client.get("/admin/schedules")
        token = csrf_of(page.text)
        week = {}
        for wd in ("mon", "tue", "wed", "thu", "fri"):
            week |= {f"{wd}_start": "07:00", f"{wd}_end": "15:00", f"{wd}_break": "30"}
        r = client.post(
            "/admin/schedules",
            data={"csrf_token": token, "name": "early", "timezone": "UTC", "grace_late_min": "5", **week},
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
        bad = client.post("/admin/schedules", data={"csrf_token": token, "name": "x", "timezone": "UTC"})
        assert [r.status_code for r in bad.history] == [303] and "working day" in bad.text
        client.post("/admin/groups", data={"csrf_token": token, "name": "early birds"})
        page = client.get("/admin/schedules")
        gid = re.search(r'action="/admin/groups/(\d+)/members"', page.text).group(1)
        client.post(f"/admin/groups/{gid}/members", data={"csrf_token": token, "person": ada.id})
        sid = re.search(r'<option value="(\d+)">early</option>', page.text).group(1)
        r = client.post(
            "/admin/schedules/assign",
            data={"csrf_token": token, "schedule": sid, "target": f"group:{gid}", "valid_from": "2026-01-01"},
            follow_redirects=False,
        )
        assert r.status_code == 303
        client.post(
            "/admin/holidays", data={"csrf_token": token, "day": "2026-02-06", "name": "Founders' day"}
        )
        page = client.get("/admin/schedules")
        assert "group early birds" in page.text and "Founders&#39; day" in page.text
        sheet = client.get(
            "/admin/timesheets", params={"from": "2026-02-02", "to": "2026-02-08", "person": ada.id}
        )
        assert sheet.status_code == 200
        # Mon 8 h - 0.5 break = 7:30 (scheduled 7:30); Tue 10 h - 0.5 = 9:30, 2:00 overtime; Wed, Thu absent;
        # Fri the holiday. Worked 17:00, scheduled 4 x 7:30 = 30:00, overtime 2:00
        everyone = re.search(r'id="everyone">(.*?)</tr>', sheet.text, re.S).group(1)
        assert re.findall(r'class="num">([^<]+)<', everyone)[:3] == ["17:00", "30:00", "2:00"]
        assert "Founders&#39; day" in sheet.text and 'id="lock-form"' in sheet.text
        xlsx = client.get("/admin/timesheets/export.xlsx", params={"from": "2026-02-02", "to": "2026-02-08"})
        assert xlsx.status_code == 200
        totals = load_workbook(io.BytesIO(xlsx.content))["Totals"]
        rows = list(totals.iter_rows(min_row=2, values_only=True))
        assert rows[0][:6] == ("P1", "Ada", "Lovelace", 17.0, 30.0, 2.0)
        r = client.post(
            "/admin/timesheets/lock",
            data={"csrf_token": token, "from": "2026-02-02", "to": "2026-02-08", "note": "exported"},
            follow_redirects=False,
        )
        assert r.status_code == 303
        locked = client.get("/admin/timesheets", params={"from": "2026-02-02", "to": "2026-02-08"})
        assert 'id="locked-badge"' in locked.text and 'id="lock-form"' not in locked.text
        (lock,) = periods.list_locks(context(app))
        r = client.post(f"/admin/timesheets/locks/{lock.id}/unlock", data={"csrf_token": token, "reason": ""})
        assert [x.status_code for x in r.history] == [303] and r.url.path == "/admin/timesheets"
        client.post(
            f"/admin/timesheets/locks/{lock.id}/unlock", data={"csrf_token": token, "reason": "HR fix"}
        )
        assert "period.unlock" in client.get("/admin/audit").text
    assert periods.list_locks(context(app))[0].unlock_reason == "HR fix"


def test_a_viewer_reads_timesheets_but_cannot_change_schedules(app):
    with TestClient(app) as client:
        sign_in(client, "victor")
        page = client.get("/admin/schedules")
        assert page.status_code == 200 and 'id="schedule-form"' not in page.text
        r = client.post(
            "/admin/holidays", data={"csrf_token": csrf_of(page.text), "day": "2026-02-06", "name": "x"}
        )
        assert r.status_code == 403
        assert client.get("/admin/timesheets").status_code == 200
        r = client.post(
            "/admin/timesheets/lock",
            data={"csrf_token": csrf_of(page.text), "from": "2026-01-01", "to": "2026-01-31"},
        )
        assert r.status_code == 403
    assert periods.list_locks(context(app)) == []
