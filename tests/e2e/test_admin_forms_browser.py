"""What the admin sees after a refused Add person form, in Chromium (issue 15, item 5): post/redirect/get
leaves the browser on a GET address, each error is beside its field under the field's own label (with a
link to the person who already has the code), the entered names and the chosen photo's thumbnail are
kept, a reload sends nothing again, and fixing the field adds the person with the kept photo.

Data-free: the photo is scikit-image's public-domain astronaut portrait (Eileen Collins). Screenshots
go to artifacts/e2e like the other browser tests' (admin-add-person-errors.png, -de.png).
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select
from tests.e2e.test_app_attendance_browser import InProcessServer
from tests.e2e.test_app_kiosk import CHROMIUM, _launch, astronaut_frames, shot, watch_console, write_y4m

from whosthat.services import access, people
from whosthat.store.models import FormDraft, FormDraftPhoto

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
]
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = InProcessServer(tmp_path_factory.mktemp("forms-home"))
    ctx = srv.context()
    try:
        access.create_admin(ctx, "alice", PASSWORD)
        srv.owner = people.create_person(ctx, employee_code="E123", name="Alice", surname="Smith").id
    finally:
        ctx.db.close()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from playwright.sync_api import sync_playwright

    video = write_y4m(tmp_path_factory.mktemp("forms-video") / "astronaut.y4m", astronaut_frames())
    with sync_playwright() as p:
        b = _launch(p, video)
        yield b
        b.close()


def _count(server, table) -> int:
    with server.runtime.database.session() as db:
        return db.execute(select(func.count()).select_from(table)).scalar_one()


def _people(server) -> int:
    ctx = server.context()
    try:
        return people.list_people(ctx).total
    finally:
        ctx.db.close()


def _signed_in_page(browser, server, errors, locale="en-GB"):
    page = browser.new_context(viewport={"width": 1280, "height": 1000}, locale=locale).new_page()
    watch_console(page, errors)
    page.goto(server.url + "/login")
    page.fill("#username", "alice")
    page.fill("#password", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(re.compile(r"/admin/people"))
    return page


def _bad_add(page, server, photo) -> None:
    """Add person with an empty first name and a code Alice Smith has, with one chosen photo."""
    page.goto(server.url + "/admin/people/new")
    page.fill("#employee_code", "E123")
    page.fill("#name", "")
    page.fill("#surname", "Collins")
    page.set_input_files("#photos-input", str(photo))
    page.check("#consent")
    page.click("#person-form button[type=submit]")
    page.wait_for_url(re.compile(r"/admin/people/new\?draft=[\w-]+$"))


def test_a_refused_add_person_keeps_everything_and_fixing_it_submits(server, browser, astronaut, tmp_path):
    from PIL import Image

    photo = tmp_path / "eileen.jpg"
    Image.fromarray(astronaut).save(photo, "JPEG", quality=92)
    errors: list[str] = []
    page = _signed_in_page(browser, server, errors)
    before = _people(server)
    _bad_add(page, server, photo)

    # A GET address: the browser's navigation was the redirect's GET, not the form's POST.
    assert page.evaluate("() => performance.getEntriesByType('navigation')[0].type") in ("navigate", "reload")
    name_error = page.locator("#name-error")
    assert name_error.inner_text() == "First name must not be empty."
    assert page.get_attribute("#name", "aria-invalid") == "true"
    assert page.get_attribute("#name", "aria-describedby") == "name-error"
    code_error = page.locator("#employee_code-error")
    assert code_error.inner_text() == "Employee code E123 is already used by Alice Smith."
    assert code_error.locator("a").get_attribute("href") == f"/admin/people/{server.owner}"
    assert page.get_attribute("#employee_code", "aria-describedby") == "employee_code-error"
    # Beside their fields: each error sits right under its own input, in the same form column.
    for field in ("name", "employee_code"):
        box, err = page.locator(f"#{field}").bounding_box(), page.locator(f"#{field}-error").bounding_box()
        assert 0 <= err["y"] - (box["y"] + box["height"]) < 40 and abs(err["x"] - box["x"]) < 5, (
            field,
            box,
            err,
        )
    summary = page.locator("#error-summary")
    assert summary.locator("a[href='#name']").inner_text() == "First name must not be empty."
    assert summary.locator("a[href='#employee_code']").count() == 1
    # The entered data and the photo (its thumbnail, decoded by the browser) are kept.
    assert page.input_value("#employee_code") == "E123" and page.input_value("#surname") == "Collins"
    assert page.is_checked("#consent")
    thumb = page.locator("#kept-photos img")
    assert thumb.count() == 1
    page.wait_for_function("() => document.querySelector('#kept-photos img').naturalWidth > 0")
    assert page.is_checked("#kept-photos input[name=keep]")
    assert "Keep eileen.jpg" in page.inner_text("#kept-photos")
    shot(page, "admin-add-person-errors")

    # Reload: the same page again, nothing sent twice.
    drafts_before = _count(server, FormDraft)
    page.reload()
    assert page.locator("#name-error").inner_text() == "First name must not be empty."
    assert _people(server) == before and _count(server, FormDraft) == drafts_before

    # Fixing the fields sends the form with the kept photo: the person is added with its template.
    page.fill("#employee_code", "E124")
    page.fill("#name", "Eileen")
    page.click("#person-form button[type=submit]")
    page.wait_for_url(re.compile(r"/admin/people/\d+$"), timeout=30_000)
    assert "Eileen Collins added with 1 face template." in page.inner_text("main")
    assert page.locator(".template-card").count() == 1
    assert _people(server) == before + 1
    assert _count(server, FormDraft) == 0 and _count(server, FormDraftPhoto) == 0  # the draft was used up
    page.go_back()  # back to the draft's address: it is gone, an empty form (nothing re-sent)
    assert page.input_value("#surname") == "" and page.locator("#kept-photos").count() == 0
    assert _people(server) == before + 1
    assert not errors, errors


def test_the_errors_read_in_german_for_a_german_browser(server, browser, astronaut, tmp_path):
    from PIL import Image

    photo = tmp_path / "eileen.jpg"
    Image.fromarray(astronaut).save(photo, "JPEG", quality=92)
    errors: list[str] = []
    page = _signed_in_page(browser, server, errors, locale="de-DE")
    _bad_add(page, server, photo)
    assert page.locator("#name-error").inner_text() == "Vorname darf nicht leer sein."
    assert page.locator("#employee_code-error").inner_text() == (
        "Personalnummer E123 wird bereits von Alice Smith verwendet."
    )
    page.wait_for_function("() => document.querySelector('#kept-photos img').naturalWidth > 0")
    shot(page, "admin-add-person-errors-de")
    assert not errors, errors
