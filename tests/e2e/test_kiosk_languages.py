"""What the person reads, in their language (issue 15, item 4): the kiosk in German chosen by the
browser (prompt, countdown, a failure reason, the PIN welcome with its time on the kiosk's clock), a
kiosk whose administrator set it to French (whatever the browser asks for), and an admin page in
Italian by Accept-Language, then in German by the switcher, the choice kept on the next page.

Data-free, like test_kiosk_guidance.py: the fake webcam shows the astronaut portrait held still, so
the face attempts fail (no blink); the welcome comes from the PIN fallback.
"""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from tests.e2e.test_app_kiosk import (
    CHROMIUM,
    Server,
    _launch,
    admin_account,  # noqa: F401,F811  (a fixture: the first administrator, through the setup link)
    astronaut_frames,
    create_api_key,
    pair_page,
    shot,
    watch_console,
    write_y4m,
)

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
]


def _cli(srv, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", "from whosthat.cli import main; main()", *args],
        env=srv.env,
        cwd=str(srv.home),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(
        tmp_path_factory.mktemp("languages-home"),
        {
            "WHOSTHAT_LIVENESS_TIMEOUT_S": "8",
            "WHOSTHAT_PAD_MODE": "warn",
            "WHOSTHAT_FACE_LOGIN_MAX_FAILURES": "20",
        },
    )
    # "tor" stands in Berlin and follows its browser's language; "porte" speaks French whatever the
    # browser asks for (its administrator's setting).
    _cli(srv, "kiosk", "create", "tor", "--timezone", "Europe/Berlin", "--json")
    _cli(srv, "kiosk", "create", "porte", "--timezone", "Europe/Paris", "--language", "fr", "--json")
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from playwright.sync_api import sync_playwright

    video = write_y4m(tmp_path_factory.mktemp("languages-video") / "astronaut.y4m", astronaut_frames())
    with sync_playwright() as p:
        b = _launch(p, video)
        yield b
        b.close()


def _page(browser, locale: str):
    return browser.new_context(viewport={"width": 1280, "height": 800}, locale=locale).new_page()


def _near_now(zone: str) -> set[str]:
    now = datetime.now(ZoneInfo(zone))
    return {(now + timedelta(minutes=d)).strftime("%H:%M") for d in (-1, 0, 1)}


def test_the_kiosk_in_german_chosen_by_the_browser(server, browser):
    import httpx

    key = create_api_key(server, "people:write")
    with httpx.Client(base_url=server.url, headers={"X-API-Key": key}, timeout=30) as api:
        person = api.post("/api/v1/people", json={"employee_code": "D-1", "name": "Greta", "surname": "Tor"})
        assert api.put(f"/api/v1/people/{person.json()['id']}/pin", json={"pin": "480151"}).status_code == 204

    errors: list[str] = []
    page = _page(browser, "de-DE")
    watch_console(page, errors)
    pair_page(page, server, "tor")
    assert page.get_attribute("html", "lang") == "de"
    page.wait_for_selector("#start:not([disabled])", timeout=15_000)
    assert page.inner_text("#title") == "Bitte schauen Sie in die Kamera"
    assert (
        page.inner_text("#start") == "Start"
        and page.inner_text("#pin-open") == "Stattdessen meine PIN verwenden"
    )
    assert page.inner_text("#clock") in _near_now("Europe/Berlin")
    page.click("#start")
    page.wait_for_selector("#prompt:has-text('Blinzeln Sie langsam')", timeout=15_000)
    assert page.inner_text("#title") == "Folgen Sie den Anweisungen"
    assert re.fullmatch(r"noch \d+ s", page.inner_text("#countdown")), page.inner_text("#countdown")
    assert page.get_attribute("#steps li", "aria-label") == "Schritt 1 von 1"
    shot(page, "kiosk-de-prompt", redact="#video")
    page.wait_for_selector("#result:not(.hidden)", timeout=20_000)
    assert page.get_attribute("#result", "data-reason") == "no_blink"
    assert page.inner_text("#title") == "Nicht angemeldet"
    told = page.inner_text("#result")
    assert told.startswith("Wir haben kein Blinzeln gesehen.") and "beide Augen" in told, told
    shot(page, "kiosk-de-failed", redact="#video")

    # The PIN fallback's welcome, with the time on the kiosk's own clock.
    page.wait_for_selector("#pin-open:not(.hidden)", timeout=15_000)
    page.click("#pin-open")
    assert page.inner_text("#title") == "Mit Ihrer PIN anmelden"
    page.fill("#pin-code", "D-1")
    page.fill("#pin-pin", "000000")
    page.click("#pin-submit")
    page.wait_for_selector("#result:not(.hidden)", timeout=10_000)
    assert page.inner_text("#result").startswith("Personalnummer oder PIN ist falsch.")
    page.wait_for_selector("#pin-open:not(.hidden)", timeout=15_000)
    page.click("#pin-open")
    page.fill("#pin-code", "D-1")
    page.fill("#pin-pin", "480151")
    page.click("#pin-submit")
    page.wait_for_selector("#result.ok", timeout=10_000)
    welcome = page.inner_text("#result").strip()
    found = re.fullmatch(
        r"Willkommen, Greta: eingestempelt um (\d\d:\d\d) \(Europe/Berlin\) mit Ihrer PIN\. "
        r"Ein Administrator prüft diese Buchung\.",
        welcome,
    )
    assert found and found.group(1) in _near_now("Europe/Berlin"), welcome
    shot(page, "kiosk-de-welcome", redact="#video")
    # The employee page it opens speaks German too, its dates in the German format.
    page.wait_for_url(re.compile(r"/me$"), timeout=10_000)
    main = page.inner_text("main")
    assert "Hallo, Greta" in main and "Anwesend seit" in main and "Letzte Buchungen" in main
    assert re.search(r"\d\d\.\d\d\.\d\d, \d\d:\d\d", main), main  # 02.12.26, 19:11
    shot(page, "employee-de")
    assert not errors, errors


def test_a_kiosk_set_to_french_speaks_french_whatever_the_browser_asks(server, browser):
    errors: list[str] = []
    page = _page(browser, "de-DE")
    watch_console(page, errors)
    pair_page(page, server, "porte")
    assert page.get_attribute("html", "lang") == "fr"
    page.wait_for_selector("#start:not([disabled])", timeout=15_000)
    assert page.inner_text("#title") == "Regardez la caméra"
    assert page.inner_text("#start") == "Démarrer"
    page.click("#start")
    page.wait_for_selector("#prompt:has-text('Clignez lentement des yeux')", timeout=15_000)
    assert re.fullmatch(r"encore \d+ s", page.inner_text("#countdown"))
    page.wait_for_selector("#result:not(.hidden)", timeout=20_000)
    assert page.inner_text("#title") == "Connexion refusée"
    assert page.inner_text("#result").startswith("Nous n'avons pas vu de clignement.")
    shot(page, "kiosk-fr-failed", redact="#video")
    assert not errors, errors


def test_an_admin_page_by_accept_language_then_by_the_switcher(server, browser, admin_account):  # noqa: F811
    errors: list[str] = []
    page = _page(browser, "it-IT")
    watch_console(page, errors)
    page.goto(server.url + "/login")
    assert page.get_attribute("html", "lang") == "it"
    assert page.inner_text("h1") == "Accesso amministratori"
    page.fill("#username", admin_account["username"])
    page.fill("#password", admin_account["password"])
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(re.compile(r"/admin/people"))
    nav = page.inner_text("nav.nav")
    assert "Persone" in nav and "Presenze" in nav and "Chioschi" in nav
    page.goto(server.url + "/admin/kiosks")
    assert "fuso orario" in page.inner_text("#kiosks thead").lower()  # the headers are in capitals (CSS)
    # The switcher: German, kept for the next page, beating the browser's Italian.
    page.click(".lang-switch button[value=de]")
    page.wait_for_url(re.compile(r"/admin/kiosks$"))
    assert page.get_attribute("html", "lang") == "de"
    assert "zeitzone" in page.inner_text("#kiosks thead").lower()
    assert page.inner_text("#kiosk-2 select option:checked") == "Français"
    shot(page, "admin-kiosks-de")
    page.goto(server.url + "/admin/people")
    assert page.get_attribute("html", "lang") == "de" and "Personen" in page.inner_text("nav.nav")
    assert not errors, errors
