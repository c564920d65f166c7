"""The admin side with the keyboard only (issue 15, item 6), in Chromium: sign in, skip to the content,
add a person with a photo, open the attendance page and add the missing clock-out, pressing only Tab,
Shift+Tab, Enter, Space and typing into fields. Every element that Tab reaches shows a focus style.

Playwright sets the file input's file (a browser test cannot drive the operating system's file dialog),
but only once Tab has put the focus on that input. The data (Ada's day with a missing clock-out, the
administrator alice) is test_app_attendance_browser's.
"""

from __future__ import annotations

import re

import pytest
from tests.e2e.test_app_attendance_browser import PASSWORD, browser, data, server  # noqa: F401 (fixtures)
from tests.e2e.test_app_kiosk import CHROMIUM, shot, watch_console

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
]

# What the focused element looks like: its tag, id, text, and whether a focus indicator is drawn (an
# outline or a box shadow from the page's :focus-visible styles, not the browser's default ring).
FOCUSED = """() => {
    const el = document.activeElement;
    const style = getComputedStyle(el);
    const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2;
    const rect = el.getBoundingClientRect();
    return {tag: el.tagName.toLowerCase(), id: el.id, type: el.type || "", name: el.getAttribute("name"),
            text: (el.innerText || el.value || "").trim().slice(0, 80),
            visible: outline || style.boxShadow !== "none",
            onScreen: rect.width > 0 && rect.height > 0 && rect.right > 0 && rect.bottom > 0};
}"""


class Keyboard:
    """Moves through a page with Tab / Shift+Tab and checks every stop for a visible focus style."""

    def __init__(self, page):
        self.page = page
        self.unstyled: list[str] = []

    def focused(self) -> dict:
        return self.page.evaluate(FOCUSED)

    def tab_to(self, matches, what: str, limit: int = 80, back: bool = False) -> dict:
        """Press Tab (Shift+Tab with `back`) until the focused element satisfies `matches`."""
        for _ in range(limit):
            self.page.keyboard.press("Shift+Tab" if back else "Tab")
            el = self.focused()
            if el["tag"] not in ("body", "main") and not (el["visible"] and el["onScreen"]):
                self.unstyled.append(f"{el['tag']}#{el['id']} {el['text']!r} on {self.page.url}")
            if matches(el):
                return el
        raise AssertionError(f"Tab never reached {what} on {self.page.url}")

    def tab_to_id(self, element_id: str, **kw) -> dict:
        return self.tab_to(lambda el: el["id"] == element_id, "#" + element_id, **kw)

    def tab_to_text(self, tag: str, text: str, **kw) -> dict:
        return self.tab_to(lambda el: el["tag"] == tag and el["text"] == text, f"{tag} {text!r}", **kw)

    def type(self, text: str) -> None:
        self.page.keyboard.type(text)


def test_an_administrator_works_with_the_keyboard_only(server, browser, data, astronaut, tmp_path):  # noqa: F811
    from PIL import Image

    errors: list[str] = []
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    page = context.new_page()
    watch_console(page, errors)
    keys = Keyboard(page)

    # Sign in: the user name field has the focus when the page opens.
    page.goto(server.url + "/login")
    assert keys.focused()["id"] == "username"
    keys.type("alice")
    keys.tab_to_id("password")
    keys.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/admin/people$"))

    # The first Tab reaches "Skip to content", shown while it has the focus; Enter moves the focus to the
    # page's main content, so the next Tab is the page's first control, not the navigation.
    skip = keys.tab_to(lambda el: True, "the first stop")
    assert skip["tag"] == "a" and skip["text"] == "Skip to content" and skip["onScreen"], skip
    shot(page, "keyboard-skip-link")
    page.keyboard.press("Enter")
    assert keys.focused()["id"] == "content"
    add = keys.tab_to(lambda el: True, "the first control after the skip")
    assert (add["tag"], add["text"]) == ("a", "Add person"), add

    # Add a person: the fields, the photo (the file input is reached by Tab), the consent box (Space).
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/admin/people/new$"))
    keys.tab_to_id("employee_code")
    keys.type("K-1")
    keys.tab_to_id("name")
    keys.type("Eileen")
    keys.tab_to_id("surname")
    keys.type("Collins")
    photo = tmp_path / "astronaut.jpg"
    Image.fromarray(astronaut).save(photo, "JPEG")
    assert keys.tab_to_id("photos-input")["type"] == "file"
    page.set_input_files("#photos-input", str(photo))
    keys.tab_to_id("consent")
    page.keyboard.press("Space")
    assert page.is_checked("#consent")
    # Shift+Tab goes back: to the surname, then forward again to the form's submit button.
    keys.tab_to_id("surname", back=True)
    assert page.input_value("#surname") == "Collins"
    keys.tab_to(lambda el: el["tag"] == "button" and el["text"] == "Add person", "the Add person button")
    shot(page, "keyboard-add-person")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/admin/people/\d+$"), timeout=60_000)
    assert "Eileen Collins added with 1 face template" in page.inner_text("main")

    # The attendance page from the navigation, Ada's day, the forgotten clock-out added with a reason.
    keys.tab_to_text("a", "Attendance")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/admin/attendance$"))
    day = data["day"]
    # Chromium's date and time fields follow its own interface language (en-US here, whatever the page's
    # language): month/day/year, and a 12-hour clock with AM/PM.
    typed_day = day.strftime("%m%d%Y")
    keys.tab_to_id("from")
    keys.type(typed_day)
    keys.tab_to_id("to")
    keys.type(typed_day)
    keys.tab_to_id("person")
    keys.type("Lovelace")
    assert page.input_value("#from") == page.input_value("#to") == day.isoformat()
    assert page.input_value("#person") == str(data["ada"])
    keys.tab_to_text("button", "Show")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/admin/attendance\?.*person="))
    assert "missing clock-out" in page.inner_text("#worked-hours")
    if page.get_attribute("#add-event", "open") is None:  # the form is folded away: open it with Enter
        keys.tab_to(lambda el: el["tag"] == "summary", "the Add a missing event summary")
        page.keyboard.press("Enter")
    keys.tab_to_id("add-person")
    assert page.input_value("#add-person") == str(data["ada"])
    keys.tab_to_id("add-kind")
    assert page.input_value("#add-kind") == "out"
    keys.tab_to_id("add-day")
    keys.type(typed_day)
    keys.tab_to_id("add-time")
    keys.type("0530P")
    assert page.input_value("#add-day") == day.isoformat() and page.input_value("#add-time") == "17:30"
    keys.tab_to_id("add-reason")
    keys.type("forgot to clock out, confirmed by the team lead")
    keys.tab_to_id("add-submit")
    shot(page, "keyboard-correction")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=Corrected: added out 17:30")
    assert "8:30" in page.inner_text("#worked-hours")  # 08:00-12:00 and 13:00-17:30

    assert not keys.unstyled, "focused without a visible focus style:\n" + "\n".join(keys.unstyled)
    assert not errors, errors
    context.close()
