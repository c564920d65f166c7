"""The repeat window in a real browser (issue 13): Tony clocks in by face at the lobby kiosk, then walks
past two more kiosks, one speaking German and one French. Both sign him in (his page opens) and say, in
their language and on their own clock, that he was already clocked in and nothing changed; the
attendance keeps one event and the audit log two repeats.

Driven like tests/e2e/test_app_kiosk.py: Chromium's fake webcam plays real, unedited LFW photos of one
person (head turns; the server decides everything), enrolled through the JSON API from two others.
"""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from tests.e2e.test_app_kiosk import (
    CHROMIUM,
    ENROLL,
    KIOSK_FRONTAL,
    KIOSK_TURN_A,
    KIOSK_TURN_B,
    PERSON,
    Server,
    _launch,
    api_items,
    create_api_key,
    enrol,
    head_turn_frames,
    lfw_photo,
    pair_page,
    shot,
    watch_console,
    write_y4m,
)
from tests.e2e.test_kiosk_languages import _cli

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(
        tmp_path_factory.mktemp("repeat-home"),
        {
            "WHOSTHAT_LIVENESS_STEP_KINDS": "turn_left,turn_right",
            "WHOSTHAT_LIVENESS_STEPS": "2",
            "WHOSTHAT_LIVENESS_TIMEOUT_S": "30",
            "WHOSTHAT_PAD_MODE": "warn",  # LFW photos, as in test_app_kiosk.py
            # Long enough that three logins on a busy CI machine stay inside it (the default is 90 s).
            "WHOSTHAT_CLOCK_REPEAT_S": "600",
        },
    )
    _cli(srv, "kiosk", "create", "lobby", "--json")
    _cli(srv, "kiosk", "create", "halle", "--timezone", "Europe/Berlin", "--language", "de", "--json")
    _cli(srv, "kiosk", "create", "porte", "--timezone", "Europe/Paris", "--language", "fr", "--json")
    yield srv
    srv.stop()


def _login(browser, server, kiosk: str, errors: list[str]):
    """Pair a fresh browser context as `kiosk`, start a face login, return (page, the result's text)."""
    page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    watch_console(page, errors)
    pair_page(page, server, kiosk)
    page.wait_for_selector("#start:not([disabled])", timeout=15_000)
    page.click("#start")
    page.wait_for_selector("#result:not(.hidden)", timeout=45_000)
    return page, page.inner_text("#result").strip()


def test_a_second_and_third_kiosk_sign_in_but_record_nothing(server, lfw_root, tmp_path):
    from playwright.sync_api import sync_playwright

    key = create_api_key(server, "admin")
    tony = enrol(
        server,
        key,
        {"employee_code": "R-13", "name": "Tony", "surname": "Blair"},
        [lfw_photo(lfw_root, PERSON, n) for n in ENROLL],
    )
    video = write_y4m(
        tmp_path / "tony.y4m", head_turn_frames(lfw_root, PERSON, KIOSK_FRONTAL, KIOSK_TURN_A, KIOSK_TURN_B)
    )
    errors: list[str] = []
    with sync_playwright() as p:
        browser = _launch(p, video)
        try:
            page, text = _login(browser, server, "lobby", errors)
            assert re.fullmatch(r"Welcome, Tony: clocked in at \d\d:\d\d \(UTC\)", text), (
                text,
                server.log()[-3000:],
            )
            [event] = api_items(server, key, f"/api/v1/attendance?person={tony['id']}")
            at = datetime.fromisoformat(event["at"])
            page.close()

            # The German kiosk, on Berlin's clock: the time is that of the clock-in at the lobby.
            page, text = _login(browser, server, "halle", errors)
            berlin = at.astimezone(ZoneInfo("Europe/Berlin")).strftime("%H:%M")
            assert (
                text == f"Hallo, Tony: bereits eingestempelt um {berlin} (Europe/Berlin) – nichts geändert"
            ), (
                text,
                server.log()[-3000:],
            )
            assert page.get_attribute("#result", "data-recorded") == "no"
            assert page.inner_text("#title") == "Angemeldet"
            shot(page, "kiosk-de-repeat", redact="#video")
            page.wait_for_url(re.compile(r"/me$"), timeout=10_000)  # his page opens all the same
            assert "Hallo, Tony" in page.inner_text("main")
            page.close()

            # The French kiosk, on Paris's clock.
            page, text = _login(browser, server, "porte", errors)
            paris = at.astimezone(ZoneInfo("Europe/Paris")).strftime("%H:%M")
            assert (
                text == f"Bonjour, Tony : entrée déjà enregistrée à {paris} (Europe/Paris) — rien n'a changé"
            ), (
                text,
                server.log()[-3000:],
            )
            page.wait_for_url(re.compile(r"/me$"), timeout=10_000)
            page.close()
        finally:
            browser.close()
    assert [e["id"] for e in api_items(server, key, f"/api/v1/attendance?person={tony['id']}")] == [
        event["id"]
    ]
    repeats = api_items(server, key, "/api/v1/audit?action=attendance.repeat")
    assert sorted(r["actor"] for r in repeats) == ["kiosk:halle", "kiosk:porte"], repeats
    assert all(r["detail"]["last_event"] == event["id"] for r in repeats), repeats
    assert not errors, errors
