"""Screenshots of every admin page for docs/admin.md, taken by headless Chromium over a seeded app.

    .venv/bin/python tests/e2e/admin_screenshots.py [--out docs/img/admin] [--lang de]

The app runs in this process (uvicorn in a thread, SQLite in a throwaway home, time zone Europe/Berlin)
with generated data: people (one enrolled from scikit-image's public-domain astronaut portrait, the only
face in the pictures; the others carry generated templates without face images), a week of attendance
with a forgotten clock-out, corrections, an employee's request, a review-queue item, schedules and
holidays, a locked period, kiosks, API keys and the audit trail all this leaves. Each page is saved as
NAME.png (at most 1280 px wide, reduced to a 256-colour palette). `--lang` sends that Accept-Language
and saves NAME.LANG.png. Not a test (pytest does not collect it): `make screenshots` runs it.
"""

from __future__ import annotations

import argparse
import io
import re
import sys
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parents[1])]  # the e2e helpers, and `tests` as a package

from test_app_attendance_browser import InProcessServer  # noqa: E402
from test_app_kiosk import CHROMIUM, _launch, astronaut_frames, watch_console, write_y4m  # noqa: E402

PASSWORD = "correct horse battery staple"
WIDTH = 1280
MAX_HEIGHT = 2400  # longer pages are cut there (the audit log)


def save_small(png: bytes, path: Path) -> int:
    """The screenshot at most WIDTH wide and MAX_HEIGHT tall, as a 256-colour PNG; returns its size."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    if image.width > WIDTH:
        image = image.resize((WIDTH, round(image.height * WIDTH / image.width)), Image.LANCZOS)
    if image.height > MAX_HEIGHT:
        image = image.crop((0, 0, image.width, MAX_HEIGHT))
    small = image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    small.save(path, "PNG", optimize=True)
    return path.stat().st_size


# The data --------------------------------------------------------------------------------------------
PEOPLE = [  # code, name, surname, active
    ("E-1001", "Eileen", "Collins", True),
    ("E-1002", "Ada", "Lovelace", True),
    ("E-1003", "Grace", "Hopper", True),
    ("E-1004", "Alan", "Turing", True),
    ("E-1005", "Katherine", "Johnson", True),
    ("E-1006", "Margaret", "Hamilton", True),
    ("E-1007", "Charles", "Babbage", False),
    ("E-1008", "Hedy", "Lamarr", True),
]


def _at(tz, day: date, hhmm: str) -> datetime:
    hh, mm = map(int, hhmm.split(":"))
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=tz).astimezone(UTC)


def _workdays_before(today: date, count: int) -> list[date]:
    days, d = [], today - timedelta(days=1)
    while len(days) < count:
        if d.weekday() < 5:
            days.append(d)
        d -= timedelta(days=1)
    return sorted(days)


def seed(server, astronaut: np.ndarray) -> dict:
    """Everything the pages show; returns the ids the shots open."""
    from whosthat.services import (
        access,
        attendance,
        consent,
        corrections,
        kiosks,
        people,
        periods,
        pin_login,
        reviews,
        schedules,
        templates,
    )
    from whosthat.store import repositories as repo
    from whosthat.vision.image import encode_jpeg

    ctx = server.context()
    try:
        alice = access.create_admin(ctx, "alice", PASSWORD)
        access.create_admin(ctx, "victor", PASSWORD, role="viewer")
        actor = access.admin_session_actor(ctx, alice.id)
        tz = ctx.tz
        ids = {}
        for code, name, surname, active in PEOPLE:
            ids[code] = people.create_person(
                ctx, employee_code=code, name=name, surname=surname, active=active, actor=actor
            ).id
        eileen, ada, grace, alan = ids["E-1001"], ids["E-1002"], ids["E-1003"], ids["E-1004"]
        # Eileen: two photos (the portrait and its mirror image), consent taken with the first.
        photo = encode_jpeg(astronaut)
        templates.enroll_template(
            ctx, eileen, photo, source="upload", actor=actor, consent_version=consent.CURRENT_VERSION
        )
        templates.enroll_template(
            ctx, eileen, encode_jpeg(astronaut[:, ::-1].copy()), source="webcam", actor=actor
        )
        # The others: generated templates (no face image); Alan's were stored before consent was
        # required (no consent record); Hedy has no face yet.
        rng = np.random.default_rng(13)
        model = ctx.runtime.settings.embedder
        for code in ("E-1002", "E-1003", "E-1004", "E-1005", "E-1006", "E-1007"):
            if code != "E-1004":
                consent.record_consent(ctx, ids[code], actor=actor)
            for _ in range(2):
                vec = rng.normal(size=128).astype(np.float32)
                repo.templates.add(
                    ctx.db,
                    ctx.runtime.cipher,
                    ids[code],
                    embedder=model,
                    embedding=vec / np.linalg.norm(vec),
                    chip=None,
                    quality=float(rng.uniform(0.7, 0.95)),
                    source="upload",
                )
            ctx.commit()
        pin_login.set_pin(ctx, ada, "480315", actor=actor)

        # Schedules, a group, holidays.
        office = {"start": "08:30", "end": "17:00", "break_min": 30}
        short = {"start": "09:00", "end": "13:00", "break_min": 0}
        today = datetime.now(UTC).astimezone(tz).date()
        days = _workdays_before(today, 7)
        start = days[0] - timedelta(days=60)
        full = schedules.create_schedule(
            ctx,
            name="Office",
            timezone="Europe/Berlin",
            week=[office] * 5 + [None, None],
            grace_late_min=10,
            grace_early_min=10,
            actor=actor,
        )
        part = schedules.create_schedule(
            ctx, name="Mornings", timezone="Europe/Berlin", week=[short] * 4 + [None, None, None], actor=actor
        )
        lab = schedules.create_group(ctx, "Flight lab", actor=actor)
        for code in ("E-1001", "E-1002", "E-1003", "E-1004"):
            schedules.add_member(ctx, lab.id, ids[code], actor=actor)
        schedules.assign(ctx, full.id, group_id=lab.id, valid_from=start, actor=actor)
        schedules.assign(ctx, part.id, person_id=ids["E-1005"], valid_from=start, actor=actor)
        for month_day, name in (
            ((12, 24), "Christmas Eve"),
            ((12, 25), "Christmas Day"),
            ((12, 26), "Boxing Day"),
        ):
            schedules.add_holiday(ctx, date(today.year, *month_day), name, actor=actor)
        schedules.add_holiday(ctx, date(today.year + 1, 1, 1), "New Year's Day", actor=actor)

        # Kiosks: the lobby is paired and in use; the warehouse's code is still open.
        _, lobby_code = kiosks.create_kiosk(
            ctx, name="lobby", site="Head office", timezone="Europe/Berlin", actor=actor
        )
        kiosks.pair(ctx, lobby_code)
        kiosks.create_kiosk(ctx, name="warehouse", site="Dock 2", actor=actor)

        # A week of attendance at the lobby kiosk.
        threshold, _ = ctx.runtime.operating_point()
        plans = {
            "E-1001": ("08:24", "12:31", "13:02", "17:11"),
            "E-1002": ("08:41", "17:05"),
            "E-1003": ("08:29", "16:58"),
            "E-1004": ("09:02", "17:30"),
            "E-1005": ("08:58", "13:04"),
            "E-1006": ("07:55", "16:10"),
        }
        events = {}
        for i, day in enumerate(days):
            for code, times in plans.items():
                if code == "E-1006" and i == 2:
                    continue  # a day off
                todays = list(times)
                if code == "E-1002" and day == days[-2]:
                    todays = todays[:1]  # forgot to clock out
                for hhmm in todays:
                    minutes = int(rng.integers(-6, 7))
                    at = _at(tz, day, hhmm) + timedelta(minutes=minutes)
                    event = attendance.clock(
                        ctx,
                        ids[code],
                        kiosk="lobby",
                        at=at,
                        match_distance=float(rng.uniform(0.3, 0.6)) * threshold,
                    )
                    events.setdefault(code, []).append(event.id)
        # Today: who is in so far.
        for code, hhmm in (("E-1001", "08:19"), ("E-1003", "08:35"), ("E-1004", "08:58")):
            moment = _at(tz, today, hhmm)
            if moment < datetime.now(UTC):
                attendance.clock(ctx, ids[code], kiosk="lobby", at=moment, match_distance=0.4 * threshold)

        # A weak match queued for review, with the attempt's face chip (the astronaut again).
        weak = attendance.clock(
            ctx, eileen, kiosk="lobby", at=_at(tz, days[-1], "18:40"), match_distance=0.95 * threshold
        )
        chip = ctx.runtime.pipeline().embed_single(astronaut, purpose="enroll").chip
        reviews.flag_if_needed(ctx, weak, chip, None)

        # Corrections: Grace's wrong double clock-in voided, Alan's late clock-out moved.
        corrections.add_event(
            ctx,
            grace,
            kind="out",
            at=_at(tz, days[1], "12:00"),
            reason="left for the dentist, told her manager",
            actor=actor,
        )
        corrections.add_event(
            ctx, grace, kind="in", at=_at(tz, days[1], "13:30"), reason="back from the dentist", actor=actor
        )
        corrections.edit_event(
            ctx,
            events["E-1004"][1],
            at=_at(tz, days[0], "17:45"),
            reason="kiosk was offline at 17:45",
            actor=actor,
        )
        # Ada asks for her missing clock-out (from her page, after a face login).
        corrections.request_correction(
            ctx,
            ada,
            action="add",
            kind="out",
            at=_at(tz, days[-2], "17:20"),
            reason="I forgot to clock out at 17:20",
        )
        # The month before last is exported and locked.
        before_last = (today.replace(day=1) - timedelta(days=1)).replace(day=1) - timedelta(days=1)
        periods.lock_period(
            ctx, before_last.replace(day=1), before_last, note=f"{before_last:%B} payroll", actor=actor
        )
        # API keys: one for payroll, one revoked.
        access.create_api_key(ctx, "payroll-export", ["attendance:read", "people:read"], actor=actor)
        old, _ = access.create_api_key(ctx, "old-hr-sync", ["people:write"], actor=actor)
        access.revoke_api_key(ctx, old.id, actor=actor)
        return {
            "eileen": eileen,
            "ada": ada,
            "alan": alan,
            "hedy": ids["E-1008"],
            "day": days[-2],
            "week_from": days[0],
            "week_to": days[-1],
            "event": events["E-1002"][-1],
        }
    finally:
        ctx.db.close()


# The pictures ----------------------------------------------------------------------------------------
def shoot(out: Path, lang: str | None) -> list[tuple[str, int]]:
    from playwright.sync_api import sync_playwright
    from skimage import data as skdata

    from whosthat.services import access, kiosk_login

    astronaut = skdata.astronaut()
    suffix = f".{lang}" if lang else ""
    saved: list[tuple[str, int]] = []
    errors: list[str] = []
    with tempfile.TemporaryDirectory(prefix="whosthat-shots-") as tmp:
        tmp_path = Path(tmp)
        photo_file = tmp_path / "eileen.jpg"
        from whosthat.vision.image import encode_jpeg

        photo_file.write_bytes(encode_jpeg(astronaut))
        video = write_y4m(tmp_path / "astronaut.y4m", astronaut_frames())
        server = InProcessServer(tmp_path / "home")
        fresh = InProcessServer(tmp_path / "fresh")  # no administrator yet: the setup page
        try:
            ids = seed(server, astronaut)
            ctx = fresh.context()
            try:
                setup_token = access.ensure_setup_token(ctx)
            finally:
                ctx.db.close()
            with sync_playwright() as p:
                browser = _launch(p, video)
                context = browser.new_context(
                    viewport={"width": WIDTH, "height": 800},
                    locale=lang or "en-GB",
                    extra_http_headers={"Accept-Language": lang or "en"},
                )
                page = context.new_page()
                watch_console(page, errors)

                def snap(name: str) -> None:
                    page.wait_for_load_state("networkidle")
                    size = save_small(page.screenshot(full_page=True), out / f"{name}{suffix}.png")
                    saved.append((f"{name}{suffix}.png", size))

                def go(path: str, name: str) -> None:
                    response = page.goto(server.url + path)
                    assert response is not None and response.status < 400, (
                        path,
                        response and response.status,
                    )
                    snap(name)

                page.goto(f"{fresh.url}/setup?token={setup_token}")
                snap("setup")
                page.goto(server.url + "/login")
                page.fill("#username", "alice")
                snap("login")
                page.fill("#password", PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_url(re.compile(r"/admin/people"))

                go("/admin/people", "people")
                go(f"/admin/people/{ids['eileen']}", "person")
                go(f"/admin/people/{ids['alan']}", "person-no-consent")
                page.goto(server.url + "/admin/people/new")
                page.fill("#employee_code", "E-1009")
                page.fill("#name", "Valentina")
                page.fill("#surname", "Tereshkova")
                snap("person-new")
                page.set_input_files("#photos-input", str(photo_file))
                page.click("#person-form button[type=submit]")
                page.wait_for_url(re.compile(r"/admin/people/new\?draft="))  # post/redirect/get
                page.wait_for_selector("#consent-error")
                snap("person-new-consent-required")
                go(f"/admin/people/{ids['hedy']}/delete", "person-delete")

                week = f"from={ids['week_from']}&to={ids['week_to']}"
                go(f"/admin/attendance?from={ids['day']}&to={ids['week_to']}", "attendance")
                go(f"/admin/attendance/events/{ids['event']}", "attendance-event")
                go("/admin/attendance/requests", "requests")
                go("/admin/attendance/review", "review")
                go(f"/admin/timesheets?{week}", "timesheets")
                go(f"/admin/timesheets?person={ids['ada']}&{week}", "timesheets-person")
                go("/admin/schedules", "schedules")

                page.goto(server.url + "/admin/kiosks")
                page.fill("#k-name", "canteen")
                page.fill("#k-site", "Head office")
                page.click("#kiosk-submit")
                page.wait_for_selector("#pairing-code")
                snap("kiosks")

                page.goto(server.url + "/admin/apikeys")
                page.fill("#key-name", "timesheet-dashboard")
                page.click("form[action='/admin/apikeys'] button[type=submit]")
                page.wait_for_selector("#new-key")
                snap("apikeys")
                go("/admin/audit", "audit")

                ctx = server.context()
                try:
                    ticket = kiosk_login.issue_login_ticket(ctx, ids["ada"])
                finally:
                    ctx.db.close()
                employee = browser.new_context(
                    viewport={"width": WIDTH, "height": 800},
                    locale=lang or "en-GB",
                    extra_http_headers={"Accept-Language": lang or "en"},
                ).new_page()
                watch_console(employee, errors)
                employee.goto(f"{server.url}/me/enter?ticket={ticket}")
                employee.wait_for_selector("#request-form")
                employee.wait_for_load_state("networkidle")
                size = save_small(employee.screenshot(full_page=True), out / f"employee{suffix}.png")
                saved.append((f"employee{suffix}.png", size))
                browser.close()
        finally:
            server.stop()
            fresh.stop()
    if errors:
        raise SystemExit("JavaScript errors on the pages:\n" + "\n".join(errors))
    return saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=HERE.parents[1] / "docs" / "img" / "admin")
    parser.add_argument(
        "--lang", default=None, help="Accept-Language to send (e.g. de); saved as NAME.LANG.png"
    )
    args = parser.parse_args()
    if not CHROMIUM.exists():
        raise SystemExit(f"needs Debian's chromium at {CHROMIUM}")
    args.out.mkdir(parents=True, exist_ok=True)
    saved = shoot(args.out, args.lang)
    for name, size in saved:
        print(f"{args.out / name}  {size / 1024:.0f} KiB")
    print(f"{len(saved)} screenshots, {sum(s for _, s in saved) / 1024 / 1024:.2f} MiB")


if __name__ == "__main__":
    main()
