"""No face template without consent: the API and the admin pages refuse to store a face for a person
whose consent is not in force (never given, or withdrawn) with a 4xx that names the consent field,
and store nothing; the enrolment may record the consent with the template. People without consent
are marked in the person API, the people list and the person page."""

from __future__ import annotations

import html
import re

import pytest
from fastapi.testclient import TestClient

from tests.page_client import app_with_admins, context, csrf_of, sign_in
from tests.web.conftest import upload
from whosthat.services import consent, people
from whosthat.store.models import ConsentRecord, FaceTemplate, Person
from whosthat.vision.image import encode_jpeg

CURRENT = consent.CURRENT_VERSION


@pytest.fixture(scope="module")
def photo(astronaut) -> bytes:
    return encode_jpeg(astronaut)


def _person(web, code: str) -> int:
    r = web.client.post(
        "/api/v1/people",
        json={"employee_code": code, "name": "Eileen", "surname": "Collins"},
        headers=web.headers,
    )
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _enrol(web, pid: int, photo: bytes, **form):
    return web.client.post(
        f"/api/v1/people/{pid}/templates", files=upload(photo), data=form, headers=web.headers
    )


def test_the_api_refuses_a_template_without_consent_and_stores_nothing(web, photo):
    pid = _person(web, "CR-1")
    person = web.client.get(f"/api/v1/people/{pid}", headers=web.headers).json()
    assert person["consent_in_force"] is False
    before = web.snapshot()
    r = _enrol(web, pid, photo)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["error"] == "consent_required" and body["field"] == "consent_version"
    assert body["detail"].startswith("consent_version: ") and "no consent on record" in body["detail"]
    # An unknown text version is refused the same way.
    r = _enrol(web, pid, photo, consent_version="1999-01")
    assert r.status_code == 422 and r.json()["field"] == "consent_version", r.text
    assert "unknown consent text version" in r.json()["detail"]
    assert web.snapshot() == before

    # Sent with the template, the consent is recorded with it (who took it: the API key).
    r = _enrol(web, pid, photo, consent_version=CURRENT)
    assert r.status_code == 201, r.text
    records = web.client.get(f"/api/v1/people/{pid}/consent", headers=web.headers).json()
    assert [c["text_version"] for c in records] == [CURRENT]
    assert records[0]["taken_by"].startswith("apikey:") and records[0]["taken_by"].endswith(":tests")
    person = web.client.get(f"/api/v1/people/{pid}", headers=web.headers).json()
    assert person["consent_in_force"] is True and person["templates"] == 1
    # In force: later templates need no consent_version.
    assert _enrol(web, pid, photo, confirm_duplicate="true").status_code == 201


def test_after_withdrawal_no_new_template_until_consent_is_recorded_again(web, photo):
    pid = _person(web, "CR-2")
    assert web.client.post(f"/api/v1/people/{pid}/consent", json={}, headers=web.headers).status_code == 201
    assert _enrol(web, pid, photo, confirm_duplicate="true").status_code == 201
    w = web.client.post(f"/api/v1/people/{pid}/consent/withdraw", headers=web.headers)
    assert w.status_code == 200 and w.json()["templates_deleted"] == 1
    before = web.snapshot()
    r = _enrol(web, pid, photo, confirm_duplicate="true")
    assert r.status_code == 422 and r.json()["error"] == "consent_required", r.text
    assert "was withdrawn on" in r.json()["detail"]
    assert web.snapshot() == before
    listed = web.client.get("/api/v1/people", params={"q": "CR-2"}, headers=web.headers).json()["items"]
    assert [p["consent_in_force"] for p in listed] == [False]
    # Recorded again: the face may be stored again.
    assert web.client.post(f"/api/v1/people/{pid}/consent", json={}, headers=web.headers).status_code == 201
    assert _enrol(web, pid, photo, confirm_duplicate="true").status_code == 201


# The admin pages ---------------------------------------------------------------------------------
def _counts(app) -> tuple[int, int, int]:
    from sqlalchemy import func, select

    with app.state.runtime.database.session() as db:
        return tuple(
            db.execute(select(func.count()).select_from(m)).scalar_one()
            for m in (Person, FaceTemplate, ConsentRecord)
        )


def _sent_back(client, r) -> tuple[str, str]:
    """A refused form (post/redirect/get): its GET page with the draft, and the draft's token."""
    assert r.status_code == 303 and "?draft=" in r.headers["location"], (r.status_code, r.text[:300])
    return client.get(r.headers["location"]).text, r.headers["location"].split("draft=")[1]


def _consent_error(page: str) -> str:
    found = re.search(r'<p class="field-error" id="consent-error">([^<]+)</p>', page)
    assert found, "no error beside the consent box"
    return html.unescape(found.group(1))


def test_the_add_person_form_without_the_consent_box_stores_nothing_and_keeps_data_and_photos(
    tmp_path, photo
):
    app = app_with_admins(tmp_path)
    with TestClient(app) as client:
        page = client.get(sign_in(client).headers["location"])
        token = csrf_of(page.text)
        form = {"csrf_token": token, "employee_code": "NASA-1", "name": "Eileen", "surname": "Collins"}
        files = [("photos", ("eileen.jpg", photo, "image/jpeg"))]
        r = client.post("/admin/people/new", data=form, files=files, follow_redirects=False)
        page, draft = _sent_back(client, r)
        beside = _consent_error(page)
        assert beside.startswith("Consent: ") and "required before their face is stored" in beside
        assert re.search(r'id="consent"[^>]*aria-invalid="true" aria-describedby="consent-error"', page)
        assert 'value="NASA-1"' in page and 'value="Collins"' in page
        assert 'name="keep" value="0" checked' in page and "Keep eileen.jpg" in page  # the photo is kept
        assert _counts(app) == (0, 0, 0)
        # Ticked, the kept photo is enrolled without choosing it again; the consent is recorded.
        again = {**form, "csrf_token": csrf_of(page), "consent": CURRENT, "draft": draft, "keep": "0"}
        r = client.post("/admin/people/new", data=again, follow_redirects=False)
        assert r.status_code == 303 and "draft=" not in r.headers["location"], r.text
        person_page = client.get(r.headers["location"]).text
        assert "Eileen Collins added with 1 face template" in person_page and "consent given" in person_page
        assert _counts(app) == (1, 1, 1)
        # Without photos the box may stay empty: the person is added, marked as without consent.
        r = client.post("/admin/people/new", data={**form, "employee_code": "NASA-2"}, follow_redirects=False)
        assert r.status_code == 303 and "draft=" not in r.headers["location"], r.text
        listing = client.get("/admin/people").text
        row = next(tr for tr in listing.split("<tr>") if "NASA-2" in tr)
        assert "no consent on record" in row
        assert "no consent on record" not in next(tr for tr in listing.split("<tr>") if "NASA-1" in tr)


def test_adding_photos_needs_consent_in_force_or_the_box_on_the_person_page(tmp_path, photo):
    app = app_with_admins(tmp_path)
    ctx = context(app)
    pid = people.create_person(ctx, employee_code="P-1", name="Eileen", surname="Collins").id
    ctx.db.close()
    with TestClient(app) as client:
        page = client.get(sign_in(client).headers["location"])
        person_page = client.get(f"/admin/people/{pid}").text
        assert "no consent on record" in person_page and 'id="consent"' in person_page
        files = [("photos", ("eileen.jpg", photo, "image/jpeg"))]
        r = client.post(
            f"/admin/people/{pid}/templates",
            data={"csrf_token": csrf_of(person_page)},
            files=files,
            follow_redirects=False,
        )
        page, draft = _sent_back(client, r)
        assert "no consent on record" in _consent_error(page) and "Keep eileen.jpg" in page
        assert _counts(app) == (1, 0, 0)
        r = client.post(
            f"/admin/people/{pid}/templates",
            data={"csrf_token": csrf_of(page), "consent": CURRENT, "draft": draft, "keep": "0"},
            follow_redirects=False,
        )
        assert r.status_code == 303 and "draft=" not in r.headers["location"], r.text
        assert _counts(app) == (1, 1, 1)
        person_page = client.get(f"/admin/people/{pid}").text
        assert "consent given" in person_page and 'id="consent"' not in person_page  # no box once in force


def test_a_face_stored_before_the_rule_is_shown_as_without_consent_and_kept(tmp_path, photo):
    """Templates stored before consent was required stay (nothing is deleted silently); the person
    page says so and offers to record consent or delete the face data."""
    from tests.services.test_consent import _template

    app = app_with_admins(tmp_path)
    ctx = context(app)
    pid = people.create_person(ctx, employee_code="OLD-1", name="Old", surname="Timer").id
    _template(ctx, pid, 3)  # straight into the store, as before the rule
    ctx.db.close()
    with TestClient(app) as client:
        sign_in(client)
        page = client.get(f"/admin/people/{pid}").text
        assert 'id="consent-missing"' in page and "1 face template stored without consent" in page
        assert 'id="consent-record"' in page and "Delete all face data" in page
        row = next(tr for tr in client.get("/admin/people").text.split("<tr>") if "OLD-1" in tr)
        assert "no consent on record" in row and "badge-bad" in row
    assert _counts(app) == (1, 1, 0)
