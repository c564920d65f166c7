"""Attendance administration in a real browser (headless Chromium): a browser that is not a paired
kiosk gets the pairing page and the liveness API refuses it, the pairing code makes it a kiosk; an
administrator adds the forgotten clock-out with a reason and the day shows the correction; an employee
signed in from a kiosk asks for a correction and the administrator approves it; the timesheet,
schedules and kiosks pages. Screenshots go to artifacts/e2e (the README's come from here)."""

from __future__ import annotations

import re
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from test_app_kiosk import CHROMIUM, _launch, astronaut_frames, shot, watch_console, write_y4m

from whosthat.config import Settings
from whosthat.services import access, attendance, corrections, kiosk_login, people, schedules
from whosthat.services.common import Context
from whosthat.store import repositories as repo

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
]
PASSWORD = "correct horse battery staple"


class InProcessServer:
    """The app under uvicorn in a thread, so that the test can reach its runtime (tickets, codes)."""

    def __init__(self, home, **settings):
        import socket

        import uvicorn

        from whosthat.web.app import create_app

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = create_app(
            Settings(**{"home": home, "timezone": "Europe/Berlin", "pad_mode": "warn", **settings})
        )
        self.runtime = self.app.state.runtime
        self.server = uvicorn.Server(
            uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.time() + 30
        while not self.server.started and time.time() < deadline:
            time.sleep(0.1)

    def context(self) -> Context:
        return Context(self.runtime, self.runtime.database.session(), address="test")

    def stop(self):
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.runtime.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = InProcessServer(tmp_path_factory.mktemp("attendance-browser"))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from playwright.sync_api import sync_playwright

    video = write_y4m(tmp_path_factory.mktemp("attendance-video") / "astronaut.y4m", astronaut_frames())
    with sync_playwright() as p:
        b = _launch(p, video)
        yield b
        b.close()


@pytest.fixture(scope="module")
def data(server):
    """Ada clocked in at 08:00 and out 12:00, in at 13:00 and never out, two days ago (Berlin time)."""
    ctx = server.context()
    try:
        access.create_admin(ctx, "alice", PASSWORD)
        ada = people.create_person(ctx, employee_code="E-7", name="Ada", surname="Lovelace")
        day = (datetime.now(UTC).astimezone(ctx.tz) - timedelta(days=2)).date()
        for hh in (8, 12, 13):
            attendance.clock(
                ctx, ada.id, at=datetime(day.year, day.month, day.day, hh, tzinfo=ctx.tz).astimezone(UTC)
            )
        office = {"start": "08:00", "end": "16:30", "break_min": 30}
        sched = schedules.create_schedule(
            ctx, name="office", timezone="Europe/Berlin", week=[office] * 5 + [None, None]
        )
        schedules.assign(ctx, sched.id, person_id=ada.id, valid_from=day - timedelta(days=30))
        return {"ada": ada.id, "day": day}
    finally:
        ctx.db.close()


def sign_in(page, server):
    page.goto(server.url + "/login")
    page.fill("#username", "alice")
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/admin/people"))


def _session_status(page) -> int:
    return page.evaluate(
        """() => fetch('/api/v1/liveness/sessions', {method: 'POST', headers: {'content-type':
        'application/json'}, body: JSON.stringify({kiosk: 'lobby'})}).then(r => r.status)"""
    )


def test_a_kiosk_is_refused_before_pairing_and_accepted_after(server, browser, data):
    errors: list[str] = []
    admin = browser.new_context(viewport={"width": 1280, "height": 860}).new_page()
    watch_console(admin, errors)
    sign_in(admin, server)
    admin.goto(server.url + "/admin/kiosks")
    admin.fill("#k-name", "lobby")
    admin.fill("#k-site", "Head office")
    admin.click("#kiosk-submit")
    admin.wait_for_selector("#pairing-code")
    code = admin.inner_text("#code-value")
    shot(admin, "admin-kiosks-code")

    kiosk = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    watch_console(kiosk, errors)
    kiosk.goto(server.url + "/kiosk")
    kiosk.wait_for_selector("#pair-form")
    assert "not a paired kiosk" in kiosk.inner_text("main")
    assert _session_status(kiosk) == 403
    shot(kiosk, "kiosk-pair")
    kiosk.fill("#code", "WRONG-CODE-00")
    kiosk.click("#pair-submit")
    kiosk.wait_for_selector("#code-error")
    kiosk.fill("#code", code)
    kiosk.click("#pair-submit")
    kiosk.wait_for_selector("#kiosk")
    assert kiosk.get_attribute("#kiosk", "data-kiosk") == "lobby"
    assert kiosk.evaluate("() => document.cookie").find("whosthat_kiosk") == -1  # HttpOnly: not readable
    assert _session_status(kiosk) == 201
    admin.goto(server.url + "/admin/kiosks")
    assert "paired" in admin.inner_text("#kiosks") and "never" not in admin.inner_text("#kiosks")
    shot(admin, "admin-kiosks")
    assert not errors, errors


def test_admin_corrects_and_approves_an_employee_request_in_the_browser(server, browser, data):
    errors: list[str] = []
    day = data["day"].isoformat()
    admin = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    watch_console(admin, errors)
    sign_in(admin, server)
    admin.goto(f"{server.url}/admin/attendance?person={data['ada']}&from={day}&to={day}")
    assert "missing clock-out" in admin.inner_text("#worked-hours")
    admin.select_option("#add-person", str(data["ada"]))
    admin.select_option("#add-kind", "out")
    admin.fill("#add-day", day)
    admin.fill("#add-time", "17:30")
    admin.fill("#add-reason", "forgot to clock out, confirmed by the team lead")
    admin.click("#add-submit")
    admin.wait_for_selector("text=Corrected: added out 17:30")
    hours = admin.inner_text("#worked-hours")
    # 08:00-12:00 (4 h) + 13:00-17:30 (4.5 h) = 8:30
    assert "8:30" in hours and "added out 17:30 (forgot to clock out" in hours and "by admin:alice" in hours
    shot(admin, "admin-attendance-corrected")

    # The employee, signed in after a kiosk face login, asks to move the first clock-in.
    ctx = server.context()
    try:
        ticket = kiosk_login.issue_login_ticket(ctx, data["ada"])
    finally:
        ctx.db.close()
    me = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    watch_console(me, errors)
    me.goto(f"{server.url}/me/enter?ticket={ticket}")
    me.wait_for_selector("#request-form")
    me.select_option("#req-action", "add")
    me.select_option("#req-kind", "in")
    me.fill("#req-day", day)
    me.fill("#req-time", "18:00")
    me.fill("#req-reason", "I came back at 18:00 for the delivery")
    me.click("#req-submit")
    me.wait_for_selector("text=Your request was sent")
    assert "I came back at 18:00" in me.inner_text("#my-requests")
    shot(me, "employee-request")

    admin.goto(server.url + "/admin/attendance/requests")
    assert "I came back at 18:00 for the delivery" in admin.inner_text("#requests")
    shot(admin, "admin-requests")
    ctx = server.context()
    try:
        (req,) = corrections.list_requests(ctx).items
    finally:
        ctx.db.close()
    admin.click(f"#approve-{req.id}")
    admin.wait_for_selector(f"text=Request {req.id} of Ada Lovelace approved")
    admin.goto(f"{server.url}/admin/attendance?person={data['ada']}&from={day}&to={day}")
    assert "added in 18:00 (I came back at 18:00 for the delivery)" in admin.inner_text("#worked-hours")
    me.reload()
    assert "approved" in me.inner_text("#my-requests")

    admin.goto(f"{server.url}/admin/timesheets?person={data['ada']}&from={day}&to={day}")
    assert "corrected" in admin.inner_text("#days")
    shot(admin, "admin-timesheets-person")
    admin.goto(f"{server.url}/admin/timesheets")
    shot(admin, "admin-timesheets")
    admin.goto(f"{server.url}/admin/schedules")
    shot(admin, "admin-schedules")
    assert not errors, errors
    ctx = server.context()
    try:
        assert [
            c.action for c in repo.corrections.in_range(ctx.db, person_id=data["ada"], since=None, until=None)
        ] == [
            "add",
            "add",
        ]
    finally:
        ctx.db.close()
