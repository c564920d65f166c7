"""WCAG 2.1 A/AA in a real browser (issue 15, item 6): axe-core (tests/a11y) runs on every kiosk state
(pairing, idle, the prompt of each kind of step, the failure, the PIN form, the welcome) and on every
page of the admin and employee side, each filled with real content, and finds no violation.

Data-free: the fake webcam shows scikit-image's public-domain astronaut portrait, which never blinks, so
the kiosk's challenge fails the way it fails for a person who does not follow it; the welcome comes
from the PIN fallback. Screenshots go to artifacts/e2e like the other browser tests'.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from tests.a11y.axe import axe, axe_script  # noqa: F401 (the fixtures)
from tests.e2e.test_app_attendance_browser import InProcessServer
from tests.e2e.test_app_kiosk import CHROMIUM, _launch, astronaut_frames, shot, watch_console, write_y4m
from tests.kiosk_pairing import pairing_code

from whosthat.services import access, attendance, consent, corrections, people, reviews, schedules, templates

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
]
PASSWORD = "correct horse battery staple"
PIN = "480151"

# Every HTML page the app serves (GET), by its route: the test below opens each one. A new page
# fails test_every_html_page_is_checked until it is added here and to test_every_admin_page_...
CHECKED_PAGES = {
    "/",
    "/setup",
    "/login",
    "/kiosk",
    "/me",
    "/admin/people",
    "/admin/people/new",
    "/admin/people/{person_id}",
    "/admin/people/{person_id}/delete",
    "/admin/attendance",
    "/admin/attendance/events/{event_id}",
    "/admin/attendance/requests",
    "/admin/attendance/review",
    "/admin/timesheets",
    "/admin/schedules",
    "/admin/kiosks",
    "/admin/audit",
    "/admin/apikeys",
}
NOT_PAGES = re.compile(
    r"^/(api|static|docs|openapi|healthz|readyz|metrics)|\.(png|jpg|csv|xlsx|json)$|^/me/enter$"
)


def test_every_html_page_is_checked():
    from fastapi.routing import APIRoute

    from whosthat.web.app import create_app

    def walk(routes, prefix=""):
        # FastAPI keeps an included router as one wrapper route (its .original_router, under the
        # prefix of its .include_context): walk into it, or the app seems to serve no page at all.
        for r in routes:
            inner = getattr(r, "original_router", None)
            if inner is not None:
                yield from walk(inner.routes, prefix + r.include_context.prefix)
            elif isinstance(r, APIRoute):
                yield prefix + r.path, r.methods

    served = {
        path for path, methods in walk(create_app().routes) if "GET" in methods and not NOT_PAGES.search(path)
    }
    assert "/admin/people" in served, "the route walk found no admin page: it checks nothing"
    assert served - CHECKED_PAGES == set(), "pages without the WCAG check: add them to test_accessibility.py"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = InProcessServer(
        tmp_path_factory.mktemp("a11y-home"),
        liveness_timeout_s=6.0,
        face_login_max_failures=50,
        # "door" asks for a blink, then a turn (a step bar of two); "side" for a turn (the arrow).
        kiosks={"door": {"steps": ["blink", "turn_left"]}, "side": {"steps": ["turn_left"]}},
    )
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from playwright.sync_api import sync_playwright

    video = write_y4m(tmp_path_factory.mktemp("a11y-video") / "astronaut.y4m", astronaut_frames())
    with sync_playwright() as p:
        b = _launch(p, video)
        yield b
        b.close()


@pytest.fixture(scope="module")
def data(server, astronaut):
    """Ada (a face template from the astronaut photo, consent, a PIN, a schedule, a holiday) with a
    day of events two days ago, one of them corrected, an open request and a PIN entry to review."""
    from PIL import Image

    ctx = server.context()
    try:
        token = access.ensure_setup_token(ctx)
        ada = people.create_person(ctx, employee_code="E-7", name="Ada", surname="Lovelace")
        people.create_person(ctx, employee_code="E-8", name="Grace", surname="Hopper")
        photo = io.BytesIO()
        Image.fromarray(astronaut).save(photo, "JPEG")
        templates.enroll_template(
            ctx, ada.id, photo.getvalue(), source="upload", consent_version=consent.CURRENT_VERSION
        )
        day = (datetime.now(UTC).astimezone(ctx.tz) - timedelta(days=2)).date()
        events = [
            attendance.clock(
                ctx, ada.id, at=datetime(day.year, day.month, day.day, hh, tzinfo=ctx.tz).astimezone(UTC)
            )
            for hh in (8, 12, 13)
        ]
        corrections.edit_event(
            ctx, events[0].id, at=events[0].at + timedelta(minutes=-15), reason="badge reader was slow"
        )
        corrections.request_correction(
            ctx,
            ada.id,
            action="add",
            kind="out",
            at=datetime(day.year, day.month, day.day, 17, tzinfo=ctx.tz).astimezone(UTC),
            reason="forgot to clock out",
        )
        pin_event = attendance.clock(ctx, ada.id, kiosk="door", source="pin")
        reviews.flag_if_needed(ctx, pin_event, None, None)
        office = {"start": "08:00", "end": "16:30", "break_min": 30}
        sched = schedules.create_schedule(
            ctx, name="office", timezone="Europe/Berlin", week=[office] * 5 + [None, None]
        )
        schedules.assign(ctx, sched.id, person_id=ada.id, valid_from=day - timedelta(days=30))
        schedules.add_holiday(ctx, day + timedelta(days=20), "Company day")
        ctx.commit()
        return {"ada": ada.id, "day": day, "event": events[1].id, "setup_token": token}
    finally:
        ctx.db.close()


def _page(browser, errors):
    page = browser.new_context(viewport={"width": 1280, "height": 860}).new_page()
    watch_console(page, errors)
    return page


def test_the_check_finds_violations(browser, axe):  # noqa: F811
    """The checker itself: a page with an unnamed image and an unlabelled field fails, by rule."""
    page = browser.new_page()
    page.set_content('<html><body><img src="data:,"><input type="text"></body></html>')
    found = {v["id"] for v in axe.violations(page)}
    assert {"html-has-lang", "image-alt", "label"} <= found, found
    page.close()


def test_every_kiosk_state_passes_wcag_21_aa(server, browser, data, axe):  # noqa: F811
    from whosthat.services import pin_login
    from whosthat.services.common import SYSTEM

    ctx = server.context()
    try:
        pin_login.set_pin(ctx, data["ada"], PIN, actor=SYSTEM)
        ctx.commit()
    finally:
        ctx.db.close()
    errors: list[str] = []
    page = _page(browser, errors)
    page.goto(server.url + "/kiosk")
    page.wait_for_selector("#pair-form")
    axe.check(page, "kiosk pairing page")
    page.fill("#code", "WRONG-CODE-00")
    page.click("#pair-submit")
    page.wait_for_selector("#code-error")
    axe.check(page, "kiosk pairing page with an error")
    page.fill("#code", pairing_code(server.runtime, "door"))
    page.click("#pair-submit")
    page.wait_for_selector("#start:not([disabled])", timeout=15_000)
    axe.check(page, "kiosk idle")

    page.click("#start")
    page.wait_for_selector("#prompt:has-text('Blink')", timeout=15_000)
    axe.check(page, "kiosk asking for a blink (step 1 of 2)")
    page.wait_for_selector("#result:not(.hidden)", timeout=20_000)
    assert page.get_attribute("#result", "data-reason") == "no_blink"
    axe.check(page, "kiosk failure")
    shot(page, "a11y-kiosk-failed", redact="#video")

    page.wait_for_selector("#pin-open:not(.hidden)", timeout=15_000)
    page.click("#pin-open")
    axe.check(page, "kiosk PIN form")
    page.fill("#pin-code", "E-7")
    page.fill("#pin-pin", PIN)
    # Hold the welcome on screen: the kiosk opens the employee's page 2.5 s later.
    held = []
    page.route("**/me/enter**", lambda route: held.append(route))
    page.click("#pin-submit")
    page.wait_for_selector("#result.ok", timeout=10_000)
    axe.check(page, "kiosk welcome")
    page.unroute("**/me/enter**")
    for route in held:
        route.continue_()
    page.wait_for_url(re.compile(r"/me$"), timeout=15_000)
    axe.check(page, "employee page")
    # The employee's forms sent back (post/redirect/get): the error beside its field.
    page.fill("#req-time", "")
    page.fill("#req-reason", "forgot to clock in")
    page.click("#req-submit")
    page.wait_for_selector("#time-error")
    axe.check(page, "employee page: correction request sent back (no time)")
    page.fill("#me-pin", "480151")
    page.fill("#me-pin2", "480152")
    page.click("#me-pin-submit")
    page.wait_for_selector("#pin2-error")
    axe.check(page, "employee page: PIN form sent back (the PINs differ)")
    axe.assert_clean()
    assert not errors, errors


def test_a_turn_prompt_passes_wcag_21_aa(server, browser, data, axe):  # noqa: F811
    """The turn prompt, with its arrow on the preview ("side" asks for a turn only: with a portrait
    that never blinks, door's turn after the blink is never reached)."""
    errors: list[str] = []
    page = _page(browser, errors)
    page.goto(server.url + "/kiosk")
    page.wait_for_selector("#pair-form")
    page.fill("#code", pairing_code(server.runtime, "side"))
    page.click("#pair-submit")
    page.wait_for_selector("#start:not([disabled])", timeout=15_000)
    page.click("#start")
    page.wait_for_selector("#prompt:has-text('Turn your head')", timeout=15_000)
    assert "hidden" not in page.get_attribute("#arrow", "class")
    axe.check(page, "kiosk asking for a head turn")
    axe.assert_clean()
    assert not errors, errors


def test_every_admin_page_passes_wcag_21_aa(server, browser, data, axe, astronaut, tmp_path):  # noqa: F811
    from PIL import Image

    errors: list[str] = []
    page = _page(browser, errors)
    page.goto(server.url + "/")
    axe.check(page, "home page")
    page.goto(f"{server.url}/setup?token=not-a-token")
    axe.check(page, "setup link not valid")
    page.goto(f"{server.url}/setup?token={data['setup_token']}")
    axe.check(page, "first-run setup form")
    page.fill("#username", "alice")
    page.fill("#password", PASSWORD)
    page.fill("#password2", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/admin/people$"))
    axe.check(page, "people list")
    page.click("text=Sign out")
    page.wait_for_url(re.compile(r"/login$"))
    page.fill("#username", "alice")
    page.fill("#password", "wrong password!!")
    page.click("main button[type=submit]")
    axe.check(page, "sign-in with an error")
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/admin/people$"))

    ada, day = data["ada"], data["day"].isoformat()
    for path, what in (
        ("/admin/people?q=nobody", "people search without a match"),
        (f"/admin/people/{ada}", "person page"),
        ("/admin/people/new", "add person"),
        (f"/admin/people/{ada}/delete", "delete a person (confirmation)"),
        ("/admin/attendance", "attendance"),
        (f"/admin/attendance?person={ada}&from={day}&to={day}", "attendance of one person"),
        (f"/admin/attendance/events/{data['event']}", "attendance event (correction form)"),
        ("/admin/attendance/requests", "correction requests"),
        ("/admin/attendance/review", "review queue"),
        ("/admin/timesheets", "timesheets and exports"),
        (f"/admin/timesheets?person={ada}&from={day}&to={day}", "timesheet of one person"),
        ("/admin/schedules", "schedules, groups and holidays"),
        ("/admin/kiosks", "kiosks"),
        ("/admin/audit", "audit log"),
        ("/admin/apikeys", "API keys"),
        ("/admin/people/999999", "error page (not found)"),
    ):
        page.goto(server.url + path)
        axe.check(page, what)

    # Pages in the state right after an action: an error beside a field, a key shown once, a code.
    page.goto(server.url + "/admin/people/new")
    page.fill("#employee_code", "E-7")
    page.fill("#name", "Someone")
    page.fill("#surname", "Else")
    page.click("#person-form button[type=submit]")
    page.wait_for_selector(".flash-error, .field-error")
    axe.check(page, "add person with an error")
    photo = tmp_path / "astronaut.jpg"
    Image.fromarray(astronaut).save(photo, "JPEG")
    page.goto(server.url + "/admin/people/new")
    page.fill("#employee_code", "E-9")
    page.fill("#name", "Eileen")
    page.fill("#surname", "Collins")
    page.set_input_files("#photos-input", str(photo))
    page.check("#consent")
    page.click("#person-form button[type=submit]")
    page.wait_for_selector("text=already")
    axe.check(page, "add person: the face is someone else's (duplicate)")
    page.goto(server.url + "/admin/apikeys")
    page.fill("#key-name", "payroll export")
    page.click("form[action='/admin/apikeys'] button[type=submit]")
    page.wait_for_selector("#new-key")
    axe.check(page, "API key created (shown once)")
    page.goto(server.url + "/admin/apikeys")
    page.fill("#key-name", "no scopes")
    for box in page.query_selector_all("#key-scopes input[type=checkbox]"):
        box.uncheck()
    page.click("#key-submit")
    page.wait_for_selector("#scopes-error")
    axe.check(page, "API key form sent back: no scope ticked")
    page.goto(server.url + "/admin/kiosks")
    page.fill("#k-name", "lobby")
    page.fill("#k-site", "Head office")
    page.click("#kiosk-submit")
    page.wait_for_selector("#pairing-code")
    axe.check(page, "kiosk created (pairing code)")
    page.fill("#k-name", "lobby")
    page.click("#kiosk-submit")
    page.wait_for_selector("#name-error")
    axe.check(page, "kiosk form sent back: the name is taken")
    page.goto(server.url + "/admin/schedules")
    page.fill("#h-name", "No day")
    page.click("#holiday-form button[type=submit]")
    page.wait_for_selector("#day-error")
    axe.check(page, "holiday form sent back: no day")
    page.click("#new-schedule summary")
    page.fill("#s-name", "Night")
    page.fill("#s-half", "10")
    page.click("#schedule-submit")
    page.wait_for_selector("#absent_below_pct-error")
    axe.check(page, "schedule form sent back: absent above half-day threshold")
    page.fill("#s-half", "75")
    page.fill("#tue_start", "09:00")
    page.fill("#tue_end", "09:00")
    page.click("#schedule-submit")
    page.wait_for_selector("#tue_end-error")
    axe.check(page, "schedule form sent back: a weekday's error under its row")
    page.fill("#g-name", "Crew")
    with page.expect_navigation():
        page.click("#group-form button[type=submit]")
    for _ in range(2):  # the second time Ada is already in the group
        member_form = page.locator("form[id^=member-form-]").first
        member_form.locator("select").select_option(str(ada))
        with page.expect_navigation():
            member_form.locator("button[type=submit]").click()
    page.wait_for_selector("#person-error")
    axe.check(page, "group member form sent back: already in the group")
    page.goto(f"{server.url}/admin/people/{ada}")
    page.fill("#pin", "111111")
    page.click("#pin-form button[value=set]")
    page.wait_for_selector("#pin-error")
    axe.check(page, "person page: Kiosk PIN form sent back (a weak PIN)")
    page.goto(server.url + "/admin/audit?date_from=March&action=person.create")
    page.wait_for_selector("#f-from-error")
    axe.check(page, "audit log: a bad date beside its field, the action chosen")
    axe.assert_clean()
    assert not errors, errors
