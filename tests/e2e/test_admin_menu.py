"""The admin menu at a 1280 px wide window, in Chromium, in every language: every entry on one line
beside the brand and the signed-in block (it wrapped "Kiosks" onto a second line in English, and two
entries in German and French). Reads the words the administrator sees in each language."""

from __future__ import annotations

import pytest
from tests.e2e.test_app_attendance_browser import PASSWORD, browser, data, server  # noqa: F401 (fixtures)
from tests.e2e.test_app_kiosk import CHROMIUM, watch_console

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
]

MENU = {  # locale: (first entry, last entry, sign-out button), as the catalogues say them
    "en-GB": ("People", "Kiosks", "Sign out"),
    "de-DE": ("Personen", "Kiosks", "Abmelden"),
    "it-IT": ("Persone", "Chioschi", "Esci"),
    "fr-FR": ("Personnes", "Bornes", "Se déconnecter"),
}

BOXES = """() => {
    const box = (el) => { const r = el.getBoundingClientRect();
        return {top: r.top, bottom: r.bottom, left: r.left, right: r.right}; };
    return {links: [...document.querySelectorAll('.topbar nav a')].map(a => ({text: a.innerText.trim(), ...box(a)})),
            account: box(document.querySelector('.topbar .account'))};
}"""


@pytest.mark.parametrize("locale", list(MENU))
def test_the_admin_menu_keeps_one_line_at_1280_px(server, browser, data, locale):  # noqa: F811
    errors: list[str] = []
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale=locale)
    page = context.new_page()
    watch_console(page, errors)
    page.goto(server.url + "/login")
    page.fill("#username", "alice")
    page.fill("#password", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url("**/admin/people")

    first, last, sign_out = MENU[locale]
    boxes = page.evaluate(BOXES)
    links = boxes["links"]
    assert [link["text"] for link in links][0] == first and links[-1]["text"] == last
    assert page.locator(".topbar .account button").inner_text().strip() == sign_out
    tops = {round(link["top"]) for link in links}
    assert len(tops) == 1, f"{locale}: the menu wraps: {[(a['text'], round(a['top'])) for a in links]}"
    assert links[-1]["right"] <= boxes["account"]["left"], (
        f"{locale}: the last entry runs into the account block"
    )
    assert not errors, errors
    context.close()
