"""What the employee and the admin see after a refused /me correction request, /me PIN form and New
schedule week, in Chromium (issue 15, item 5): post/redirect/get leaves the browser on a GET address,
each error is beside its field (a weekday's right under that day's row) in the reader's language, the
request's entries are kept and a PIN is not, a reload sends nothing again, and fixing the field sends it.

Screenshots go to artifacts/e2e like the other browser tests' (me-request-errors.png, me-pin-errors-de.png,
schedule-week-errors-fr.png).
"""

from __future__ import annotations

import re

import pytest
from tests.e2e.test_app_attendance_browser import PASSWORD, InProcessServer, browser  # noqa: F401 (fixture)
from tests.e2e.test_app_kiosk import CHROMIUM, shot, watch_console

from whosthat.services import access, corrections, kiosk_login, people, schedules

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = InProcessServer(tmp_path_factory.mktemp("more-forms-home"))
    ctx = srv.context()
    try:
        access.create_admin(ctx, "alice", PASSWORD)
        srv.kim = people.create_person(ctx, employee_code="K2", name="Kim", surname="Self").id
    finally:
        ctx.db.close()
    yield srv
    srv.stop()


def _employee_page(browser, server, errors, locale):  # noqa: F811 (the fixture)
    ctx = server.context()
    try:
        ticket = kiosk_login.issue_login_ticket(ctx, server.kim)
    finally:
        ctx.db.close()
    page = browser.new_context(viewport={"width": 1280, "height": 1000}, locale=locale).new_page()
    watch_console(page, errors)
    page.goto(f"{server.url}/me/enter?ticket={ticket}")
    page.wait_for_url(re.compile(r"/me$"))
    return page


def _requests(server) -> int:
    ctx = server.context()
    try:
        return len(corrections.my_requests(ctx, server.kim))
    finally:
        ctx.db.close()


def _beside(page, field_id: str, error_id: str) -> None:
    box, err = page.locator(f"#{field_id}").bounding_box(), page.locator(f"#{error_id}").bounding_box()
    assert 0 <= err["y"] - (box["y"] + box["height"]) < 40 and abs(err["x"] - box["x"]) < 5, (box, err)


def test_a_refused_correction_request_keeps_the_entries_and_fixing_it_sends_it(server, browser):  # noqa: F811 (the fixture)
    errors: list[str] = []
    page = _employee_page(browser, server, errors, "en-GB")
    before = _requests(server)
    page.select_option("#req-action", "add")
    page.select_option("#req-kind", "in")
    page.fill("#req-day", "2026-03-10")
    page.fill("#req-time", "")  # not required by the browser: the server says what is missing
    page.fill("#req-reason", "I forgot to clock in")
    page.click("#req-submit")
    page.wait_for_url(re.compile(r"/me\?draft=[\w-]+$"))
    assert page.evaluate("() => performance.getEntriesByType('navigation')[0].type") in ("navigate", "reload")
    assert page.inner_text("#time-error") == "Give the date as YYYY-MM-DD and the time as HH:MM."
    assert page.get_attribute("#req-time", "aria-invalid") == "true"
    assert page.get_attribute("#req-time", "aria-describedby") == "time-error"
    _beside(page, "req-time", "time-error")
    assert page.locator("#error-summary a[href='#req-time']").count() == 1
    assert page.input_value("#req-reason") == "I forgot to clock in"
    assert page.input_value("#req-day") == "2026-03-10" and page.input_value("#req-kind") == "in"
    shot(page, "me-request-errors")
    page.reload()  # the same page again, nothing sent twice
    assert page.inner_text("#time-error").startswith("Give the date")
    assert _requests(server) == before
    page.fill("#req-time", "08:15")
    page.click("#req-submit")
    page.wait_for_url(re.compile(r"/me$"))
    assert "Your request was sent" in page.inner_text("main")
    assert page.locator("#time-error").count() == 0
    assert _requests(server) == before + 1
    assert not errors, errors


def test_a_refused_pin_reads_in_german_and_the_pin_is_not_kept(server, browser):  # noqa: F811 (the fixture)
    errors: list[str] = []
    page = _employee_page(browser, server, errors, "de-DE")
    page.fill("#me-pin", "480151")
    page.fill("#me-pin2", "480152")
    page.click("#me-pin-submit")
    page.wait_for_url(re.compile(r"/me\?draft=[\w-]+$"))
    assert page.inner_text("#pin2-error") == "Die beiden PINs stimmen nicht überein."
    assert page.get_attribute("#me-pin2", "aria-describedby") == "pin2-error"
    _beside(page, "me-pin2", "pin2-error")
    assert "Ihre PIN wurde nicht gesetzt:" in page.inner_text("#error-summary")
    assert page.input_value("#me-pin") == "" and page.input_value("#me-pin2") == ""  # never kept
    shot(page, "me-pin-errors-de")
    assert not errors, errors


def test_a_weekdays_error_is_under_that_days_row_in_french(server, browser):  # noqa: F811 (the fixture)
    errors: list[str] = []
    page = browser.new_context(viewport={"width": 1280, "height": 1000}, locale="fr-FR").new_page()
    watch_console(page, errors)
    page.goto(server.url + "/login")
    page.fill("#username", "alice")
    page.fill("#password", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(re.compile(r"/admin/people"))
    page.goto(server.url + "/admin/schedules")
    page.fill("#s-name", "Matin")
    page.fill("#tue_end", "09:00")  # Tuesday 09:00-09:00
    page.fill("#tue_start", "09:00")
    page.click("#schedule-submit")
    page.wait_for_url(re.compile(r"/admin/schedules\?draft=[\w-]+$"))
    error = page.locator("#tue_end-error")
    assert error.inner_text().startswith("Mardi")
    assert page.get_attribute("#tue_end", "aria-describedby") == "tue_end-error"
    # right under Tuesday's row, before Wednesday's
    tue, wed = page.locator("#tue_end").bounding_box(), page.locator("#wed_end").bounding_box()
    box = error.bounding_box()
    assert tue["y"] + tue["height"] <= box["y"] < wed["y"], (tue, box, wed)
    assert page.input_value("#s-name") == "Matin" and page.input_value("#mon_start") == "09:00"
    shot(page, "schedule-week-errors-fr")
    ctx = server.context()
    try:
        assert schedules.list_schedules(ctx) == []
    finally:
        ctx.db.close()
    assert not errors, errors
