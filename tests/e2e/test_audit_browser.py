"""The audit log as an administrator reads it, in a real browser (headless Chromium), in German and in
French: a person target by their name at the time, a failed face login's reason in words (the message
the person read at the kiosk, its code beside it), and filtering by action with the select."""

from __future__ import annotations

import re

import pytest
from tests.e2e.test_app_attendance_browser import PASSWORD, InProcessServer, browser  # noqa: F401 (fixture)
from tests.e2e.test_app_kiosk import CHROMIUM, shot, watch_console

from whosthat.services import access, kiosk_login, people

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = InProcessServer(tmp_path_factory.mktemp("audit-browser"))
    ctx = srv.context()
    try:
        access.create_admin(ctx, "alice", PASSWORD)
        people.create_person(ctx, employee_code="E042", name="Ada", surname="Lovelace")
        kiosk_login.record_failure(ctx, "lobby", "no_blink", {"steps": ["blink"], "completed": 0})
    finally:
        ctx.db.close()
    yield srv
    srv.stop()


@pytest.mark.parametrize(
    ("locale", "reason", "refused", "person_added"),
    [
        (
            "de-DE",
            "Grund: Wir haben kein Blinzeln gesehen.",
            "Gesichtsanmeldung abgelehnt",
            "Person hinzugefügt",
        ),
        (
            "fr-FR",
            "motif: Nous n'avons pas vu de clignement.",
            "connexion par le visage refusée",
            "personne ajoutée",
        ),
    ],
)
def test_the_admin_reads_the_audit_log_in_words_and_filters_by_action(
    server,
    browser,  # noqa: F811 (the fixture)
    locale,
    reason,
    refused,
    person_added,
):
    errors: list[str] = []
    page = browser.new_context(viewport={"width": 1280, "height": 900}, locale=locale).new_page()
    watch_console(page, errors)
    page.goto(server.url + "/login")
    page.fill("#username", "alice")
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/admin/people"))
    page.goto(server.url + "/admin/audit")
    assert page.get_attribute("html", "lang") == locale[:2]
    table = page.inner_text("table")
    assert "Ada Lovelace (E042)" in table and person_added in table
    assert reason in table and "no_blink" in table and refused in table
    shot(page, f"admin-audit-{locale[:2]}")

    # the action select offers what is in the log, in words; choosing one filters the log
    options = page.locator("#f-action option").all_inner_texts()
    assert f"{refused} (face_login.failed)" in options
    page.select_option("#f-action", "face_login.failed")
    page.click("#audit-filters button[type=submit]")
    page.wait_for_url(re.compile(r"action=face_login\.failed"))
    rows = page.locator("table tbody tr").all_inner_texts()
    assert rows and all(refused in r and "face_login.failed" in r for r in rows), rows
    assert "Ada Lovelace" not in page.inner_text("table")
    assert page.locator("#f-action").input_value() == "face_login.failed"  # the choice is kept
    assert not errors, errors
    page.context.close()
