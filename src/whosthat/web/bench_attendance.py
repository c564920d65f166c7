"""`whosthat bench attendance`: how long a month's timesheet takes for a whole workplace.

Set-up, in a throwaway WHOSTHAT_HOME (SQLite), with generated data (seeded, so runs compare):
PEOPLE people in the site's zone (Europe/Berlin); most work an office schedule (Mon-Fri 09:00-17:30,
30 min break, 5 min grace) assigned through a group, a tenth a night schedule (22:00-06:00, every
night) assigned to each of them; one public holiday; EVENTS in/out events spread over the month's
scheduled days (arrivals and departures scattered by up to +-30 min, a few missing clock-outs) and a
few dozen corrections. Timed, each the median of REPEATS runs after one warm-up: the timesheet itself
(services/timesheets.build), the JSON API, the admin page for everyone, the CSV of every day, and the
XLSX workbook, all through the app in-process (ASGI, no network). CPU time of the process is reported
too: on a shared machine wall time grows with the load, CPU time does not.
"""

from __future__ import annotations

import random
import re
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ZONE = "Europe/Berlin"


def _month_days(year: int, month: int) -> list[date]:
    first = date(year, month, 1)
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return [first + timedelta(days=i) for i in range((nxt - first).days)]


def generate(ctx, *, people: int, events: int, year: int, month: int, seed: int = 13) -> dict:
    """Fill the database: people, schedules, a holiday, `events` events and some corrections."""
    from whosthat.services import corrections, schedules
    from whosthat.store import repositories as repo
    from whosthat.store.models import WorkGroupMember

    rng = random.Random(seed)
    zone = ZoneInfo(ZONE)
    days = _month_days(year, month)
    ids = repo.people.add_many(ctx.db, [(f"B{i:05d}", f"Name{i}", f"Surname{i}") for i in range(people)])
    ctx.db.commit()
    office_day = {"start": "09:00", "end": "17:30", "break_min": 30}
    office = schedules.create_schedule(
        ctx,
        name="office",
        timezone=ZONE,
        week=[office_day] * 5 + [None, None],
        grace_late_min=5,
        grace_early_min=5,
    )
    nights = schedules.create_schedule(
        ctx, name="nights", timezone=ZONE, week=[{"start": "22:00", "end": "06:00", "break_min": 30}] * 7
    )
    group = schedules.create_group(ctx, "office staff")
    night_ids = set(ids[: max(1, people // 10)])
    for pid in ids:
        if pid in night_ids:
            schedules.assign(ctx, nights.id, person_id=pid, valid_from=days[0])
        else:
            repo.schedules.add(ctx.db, WorkGroupMember(group_id=group.id, person_id=pid))
    ctx.db.commit()
    schedules.assign(ctx, office.id, group_id=group.id, valid_from=days[0])
    holiday = next(d for d in days if d.weekday() == 2)
    schedules.add_holiday(ctx, holiday, "Generated holiday")

    slots = []
    for pid in ids:
        for d in days:
            if pid in night_ids or (d.weekday() < 5 and d != holiday):
                slots.append((pid, d))
    rng.shuffle(slots)
    rows = []
    for pid, d in slots:
        if len(rows) >= events:
            break
        if pid in night_ids:
            start = datetime.combine(d, datetime.min.time(), tzinfo=zone).replace(hour=22)
            end = start + timedelta(hours=8)
        else:
            start = datetime.combine(d, datetime.min.time(), tzinfo=zone).replace(hour=9)
            end = start + timedelta(hours=8, minutes=30)
        start += timedelta(minutes=rng.randint(-30, 30))
        end += timedelta(minutes=rng.randint(-30, 30))
        rows.append(
            {"person_id": pid, "kind": "in", "at": start.astimezone(UTC), "source": "kiosk", "kiosk": "bench"}
        )
        if len(rows) < events and rng.random() > 0.01:  # about 1% missing clock-outs
            rows.append(
                {
                    "person_id": pid,
                    "kind": "out",
                    "at": end.astimezone(UTC),
                    "source": "kiosk",
                    "kiosk": "bench",
                }
            )
    repo.attendance.insert_many(ctx.db, rows)
    ctx.db.commit()
    fixes = 0
    some = repo.attendance.oldest_first(ctx.db, person_id=ids[0], since=None, until=None)[:4]
    for ev in some:
        corrections.edit_event(ctx, ev.id, at=ev.at - timedelta(minutes=5), reason="generated correction")
        fixes += 1
    return {"people": people, "events": len(rows), "corrections": fixes, "days": len(days)}


def _time(fn, repeats: int) -> dict:
    fn()  # warm-up
    walls, cpus = [], []
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return {"median_s": round(statistics.median(walls), 3), "cpu_s": round(statistics.median(cpus), 3)}


def run_attendance_bench(
    *, people: int = 500, events: int = 20_000, year: int = 2026, month: int = 3, repeats: int = 3
) -> dict:
    from fastapi.testclient import TestClient

    from whosthat.config import Settings
    from whosthat.services import access, exports, timesheets
    from whosthat.services.common import Context
    from whosthat.web.app import create_app

    with tempfile.TemporaryDirectory(prefix="whosthat-bench-attendance-") as home:
        settings = Settings(home=Path(home), timezone=ZONE)
        app = create_app(settings)
        runtime = app.state.runtime
        with Context.open(runtime) as ctx:
            made = generate(ctx, people=people, events=events, year=year, month=month)
            _, key = access.create_api_key(ctx, "bench", ["attendance:read"])
            access.create_admin(ctx, "bench", "bench password long enough")
        days = _month_days(year, month)
        period = {"from": days[0].isoformat(), "to": days[-1].isoformat()}
        out = {"setup": made, "period": period, "repeats": repeats}
        with TestClient(app) as client:
            page = client.get("/login")
            token = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
            client.post(
                "/login",
                data={"csrf_token": token, "username": "bench", "password": "bench password long enough"},
            )
            headers = {"X-API-Key": key}

            def build():
                with Context.open(runtime) as ctx:
                    sheet = timesheets.build(ctx, days[0], days[-1])
                    assert len(sheet.people) == people

            def xlsx_only():
                with Context.open(runtime) as ctx:
                    exports.workbook_bytes(timesheets.build(ctx, days[0], days[-1]), ctx.tz)

            def get(path, **params):
                def call():
                    r = client.get(path, params={**period, **params}, headers=headers)
                    assert r.status_code == 200, r.text[:200]
                    return r

                return call

            out["timesheet_build"] = _time(build, repeats)
            out["api_json"] = _time(get("/api/v1/timesheets"), repeats)
            out["admin_page"] = _time(get("/admin/timesheets"), repeats)
            out["csv_days"] = _time(get("/api/v1/timesheets/export.csv", table="days"), repeats)
            out["xlsx"] = _time(get("/api/v1/timesheets/export.xlsx"), repeats)
            out["xlsx_service"] = _time(xlsx_only, repeats)
            out["xlsx_bytes"] = len(get("/api/v1/timesheets/export.xlsx")().content)
        runtime.close()
    return out
