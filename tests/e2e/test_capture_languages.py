"""The capture widget's live quality feedback in the admin's language (issue 15, item 4): the add-person
page in German and in French, chosen by the browser; the fake webcam shows the astronaut portrait too
small for enrolment, so the server's quality check answers "face too small" (as a code with its
values) and the page says it in German, then in French, with the photo taken named in that language.

Data-free, like test_kiosk_languages.py (scikit-image's public-domain astronaut).
"""

from __future__ import annotations

import re

import cv2
import numpy as np
import pytest
from tests.e2e.test_app_kiosk import (
    CHROMIUM,
    Server,
    _launch,
    admin_account,  # noqa: F401,F811  (a fixture: the first administrator, through the setup link)
    shot,
    sign_in,
    watch_console,
    write_y4m,
)

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
]


def small_astronaut_frames() -> list[np.ndarray]:
    """The astronaut at 200 px on a 640x480 frame: her face is found, but smaller than enrolment's 80 px."""
    from skimage import data

    canvas = np.full((480, 640, 3), 60, np.uint8)
    canvas[140:340, 220:420] = cv2.resize(data.astronaut(), (200, 200), interpolation=cv2.INTER_AREA)
    return [canvas] * 10


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("capture-languages-home"), {})
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from playwright.sync_api import sync_playwright

    video = write_y4m(tmp_path_factory.mktemp("capture-video") / "small.y4m", small_astronaut_frames())
    with sync_playwright() as p:
        b = _launch(p, video)
        yield b
        b.close()


CASES = {  # the browser's language: what the page's <html lang> is, the reason, a photo's label
    "de-DE": ("de", r"Gesicht zu klein \(\d+ px, nötig sind 80\)", "Foto 1"),
    "fr-FR": ("fr", r"visage trop petit \(\d+ px, il en faut 80\)", "Retirer la photo 1"),
}


@pytest.mark.parametrize("locale", sorted(CASES))
def test_the_live_quality_feedback_in_the_browsers_language(server, browser, admin_account, locale):  # noqa: F811
    lang, too_small, photo = CASES[locale]
    errors: list[str] = []
    page = browser.new_context(viewport={"width": 1280, "height": 860}, locale=locale).new_page()
    watch_console(page, errors)
    sign_in(page, server, admin_account)
    page.goto(server.url + "/admin/people/new")
    assert page.get_attribute("html", "lang") == lang
    page.click("#camera-start")
    page.wait_for_selector("#quality li.bad", timeout=20_000)
    for _ in range(30):  # the first answers may come before the video shows the face
        told = page.inner_text("#quality")
        if re.search(too_small, told):
            break
        page.wait_for_timeout(500)
    assert re.search(too_small, told), told
    assert "face too small" not in told and "move closer" not in told, told
    page.click("#camera-shoot")
    page.wait_for_selector("#shots figure canvas", timeout=10_000)
    labels = [
        page.get_attribute("#shots figure canvas", "aria-label"),
        page.get_attribute("#shots figure button", "aria-label"),
    ]
    assert photo in labels, labels
    shot(page, f"capture-{lang}-too-small", redact="#camera-video, #shots canvas")
    page.close()
    assert not errors, errors
