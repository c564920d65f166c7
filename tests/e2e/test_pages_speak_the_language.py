"""Every admin page and the employee page over the screenshots' seeded data (tests/e2e/admin_screenshots.py:
people, a week of attendance, corrections, a request, a review item, schedules, holidays, a locked
period, kiosks, API keys, the audit trail), fetched in German, Italian and French: no text the reader
sees (text nodes, placeholders, aria-labels, alt and title texts) may be one of the catalogue's English
source strings whose translation differs. That is how stored codes shown as they are ("pending",
"weak match", "über kiosk") reach a German page while every catalogue is complete.

No browser: the pages are fetched with httpx from the app in a thread, as a signed-in administrator and
as the employee with a kiosk login ticket.
"""

from __future__ import annotations

import re
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from babel.messages.pofile import read_po
from tests.e2e.admin_screenshots import PASSWORD, seed
from tests.e2e.test_app_attendance_browser import InProcessServer

LOCALE_DIR = Path(__file__).resolve().parents[2] / "src" / "whosthat" / "locale"
LANGUAGES = ("de", "it", "fr")
# English words that a page may show in every language: data the seed typed in English (names of
# schedules, holidays, kiosks, sites, notes), and source strings some catalogue leaves as they are.
SEEDED = {"Office", "Mornings", "lobby", "warehouse", "canteen", "Head office", "Dock 2", "Flight lab"}


@cache
def catalogue_of(lang: str) -> tuple[dict[str, str], frozenset[str]]:
    """The catalogue's source strings that `lang` says differently (placeholders taken out), each with
    its translation, and every translation the catalogue holds."""
    with open(LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po", "rb") as f:
        catalog = read_po(f)
    english, said = {}, set()
    for message in catalog:
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        said.update(text.strip() for text in strings if text)
        for msgid, text in zip(ids, strings, strict=False):
            if not msgid or "%(" in msgid or not text or text.strip() == msgid.strip():
                continue
            if len(re.sub(r"[^A-Za-z]", "", msgid)) >= 3 and msgid not in SEEDED:
                english[msgid.strip()] = text.strip()
    return english, frozenset(said)


class Visible(HTMLParser):
    """Text nodes and the attributes a reader meets, outside <script>, <style> and <code>."""

    SKIP = {"script", "style", "code", "pre", "template"}

    def __init__(self):
        super().__init__()
        self.texts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skipping += 1
        for name, value in attrs:
            if name in ("placeholder", "aria-label", "alt", "title") and value:
                self.texts.append(value)
            if (
                tag == "input"
                and name == "value"
                and dict(attrs).get("type") in ("submit", "button")
                and value
            ):
                self.texts.append(value)

    def handle_endtag(self, tag):
        if tag in self.SKIP and self.skipping:
            self.skipping -= 1

    def handle_data(self, data):
        if not self.skipping and data.strip():
            self.texts.append(data)


def leaks(page: str, lang: str) -> list[str]:
    parser = Visible()
    parser.feed(page)
    english, translations = catalogue_of(lang)
    found = []
    for text in parser.texts:
        said = " ".join(text.split())
        # a word that is English in one place and this language's translation of another ("Note": the
        # Italian for "Notes"; "Kiosk": German for "kiosk") is no leak
        if said in translations:
            continue
        for candidate in (said, said[:1].lower() + said[1:], said.rstrip(".:")):
            if candidate in english and english[candidate].lower() != said.lower():
                found.append(said)
                break
    return found


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    from skimage import data as skdata

    server = InProcessServer(tmp_path_factory.mktemp("pages-language") / "home")
    ids = seed(server, skdata.astronaut())
    yield server, ids
    server.stop()


def admin_pages(ids) -> list[str]:
    week = f"from={ids['week_from']}&to={ids['week_to']}"
    return [
        "/admin/people",
        f"/admin/people/{ids['eileen']}",
        f"/admin/people/{ids['alan']}",
        "/admin/people/new",
        f"/admin/people/{ids['hedy']}/delete",
        f"/admin/attendance?from={ids['day']}&to={ids['week_to']}",
        f"/admin/attendance/events/{ids['event']}",
        "/admin/attendance/requests",
        "/admin/attendance/requests?status=all",
        "/admin/attendance/review",
        "/admin/attendance/review?status=confirmed",
        f"/admin/timesheets?{week}",
        f"/admin/timesheets?person={ids['ada']}&{week}",
        "/admin/schedules",
        "/admin/kiosks",
        "/admin/apikeys",
        "/admin/audit",
    ]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_english_source_string_on_a_page_in_another_language(seeded, lang):
    from whosthat.services import kiosk_login

    server, ids = seeded
    found: dict[str, list[str]] = {}
    with httpx.Client(base_url=server.url, headers={"Accept-Language": lang}, timeout=30) as client:
        login = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', login.text).group(1)
        signed = client.post("/login", data={"csrf_token": token, "username": "alice", "password": PASSWORD})
        assert signed.status_code in (200, 303), signed.status_code
        for path in admin_pages(ids):
            page = client.get(path, follow_redirects=True)
            assert page.status_code == 200, (path, page.status_code)
            if hit := leaks(page.text, lang):
                found[path] = hit
    ctx = server.context()
    try:
        ticket = kiosk_login.issue_login_ticket(ctx, ids["ada"])
    finally:
        ctx.db.close()
    with httpx.Client(base_url=server.url, headers={"Accept-Language": lang}, timeout=30) as employee:
        page = employee.get(f"/me/enter?ticket={ticket}", follow_redirects=True)
        assert page.status_code == 200 and "request-form" in page.text
        if hit := leaks(page.text, lang):
            found["/me"] = hit
    assert not found, f"English on {lang} pages: {found}"


def test_the_check_finds_an_english_code_and_passes_its_translation():
    assert leaks("<p><a class='btn'>pending</a> <span>weak match</span></p>", "de") == [
        "pending",
        "weak match",
    ]
    assert leaks("<p><a>offen</a> <span>knappe Übereinstimmung</span> <code>pending</code></p>", "de") == []
