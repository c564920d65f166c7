"""Why an enrolment photo was refused, in the reader's language on the admin pages (the quality rules'
and the image decoder's M_ messages, with their values), while the service and the JSON API keep the
English text."""

from __future__ import annotations

import html
import re

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient

from tests.page_client import app_with_admins, context, csrf_of, sign_in
from whosthat.services import consent, people, templates
from whosthat.store import repositories as repo
from whosthat.vision.image import encode_jpeg
from whosthat.web.language import LANGUAGE_COOKIE


@pytest.fixture(scope="module")
def small_face(astronaut) -> bytes:
    """Eileen Collins at 200 px: her face is found, but smaller than the 80 px enrolment needs."""
    return encode_jpeg(cv2.resize(astronaut, (200, 200), interpolation=cv2.INTER_AREA))


def _photo_errors(client, response) -> str:
    assert response.status_code == 303 and "?draft=" in response.headers["location"], response.text[:300]
    page = client.get(response.headers["location"]).text
    found = re.search(r'<div class="flash flash-error error-summary"[^>]*>(.*?)</div>', page, re.S)
    assert found, "no error summary on the page"
    return html.unescape(found.group(1))


def test_a_refused_photo_says_why_in_german_and_the_service_keeps_english(tmp_path, small_face):
    app = app_with_admins(tmp_path)
    ctx = context(app)
    pid = people.create_person(ctx, employee_code="P-1", name="Eileen", surname="Collins").id
    report = templates.check_quality(ctx, small_face)
    ctx.db.close()
    # the service (and so the API and the command line) says it in English
    assert not report.ok and str(report.reasons[0]).startswith("face too small (")
    with TestClient(app) as client:
        sign_in(client)
        client.cookies.set(LANGUAGE_COOKIE, "de")

        def send(name: str, data: bytes):
            page = client.get(f"/admin/people/{pid}").text
            return client.post(
                f"/admin/people/{pid}/templates",
                data={"csrf_token": csrf_of(page), "consent": consent.CURRENT_VERSION},
                files=[("photos", (name, data, "image/jpeg"))],
                follow_redirects=False,
            )

        text = _photo_errors(client, send("klein.jpg", small_face))
        assert re.search(
            r"Klein\.jpg: Gesicht zu klein \(\d+ px, nötig sind 80\): bitte kommen Sie näher", text
        )
        assert "face too small" not in text and "move closer" not in text
        text = _photo_errors(client, send("notiz.jpg", b"not a picture at all"))
        assert "Notiz.jpg: kein Bild in einem angenommenen Format (JPEG, PNG, WebP oder BMP)." in text
        # the same refusal in English for an English reader
        client.cookies.set(LANGUAGE_COOKIE, "en")
        text = _photo_errors(client, send("small.jpg", small_face))
        assert "Small.jpg: face too small (" in text and "move closer or use a larger photo" in text
    assert len(people.get_person(context(app), pid).templates) == 0


def test_the_audit_log_says_each_action_in_words_in_the_readers_language(tmp_path):
    app = app_with_admins(tmp_path)
    ctx = context(app)
    people.create_person(ctx, employee_code="P-2", name="Sally", surname="Ride")
    ctx.db.close()
    with TestClient(app) as client:
        sign_in(client)
        client.cookies.set(LANGUAGE_COOKIE, "de")
        page = html.unescape(client.get("/admin/audit").text)
        assert 'Person hinzugefügt <code class="small">person.create</code>' in page
        assert 'Administrator angemeldet <code class="small">admin.login</code>' in page
    # the stored codes are unchanged
    assert {
        row.action
        for row in repo.audit.page_newest_first(
            context(app).db, action=None, actor_prefix=None, page=1, size=50, since=None, until=None
        )[0]
    } >= {"person.create", "admin.login"}


def _capture_texts(page: str) -> dict:
    import json

    found = re.search(r'<script type="application/json" id="capture-texts">(.*?)</script>', page, re.S)
    assert found, "the page gives the capture widget no texts"
    return json.loads(html.unescape(found.group(1)))


def test_the_quality_check_answers_codes_the_capture_widget_says_in_german_and_french(tmp_path, small_face):
    """POST /api/v1/quality keeps its English reasons and adds each as a code with its values; the
    add-person page hands capture.js every reason (and its own words) in the page's language."""
    from whosthat.vision.reasons import MULTIPLE_FACES, NO_FACE, REASONS

    app = app_with_admins(tmp_path)
    with TestClient(app) as client:
        sign_in(client)
        client.cookies.set(LANGUAGE_COOKIE, "de")
        page = client.get("/admin/people/new").text
        answer = client.post(
            "/api/v1/quality",
            files={"image": ("frame.jpg", small_face, "image/jpeg")},
            headers={"X-CSRF-Token": csrf_of(page), "Accept": "application/json"},
        ).json()
        # the API: English, whatever the reader's language, and the same reasons as codes with values
        assert answer["ok"] is False and answer["reasons"][0].startswith("face too small (")
        problem = answer["problems"][0]
        assert problem["code"] == "face_too_small" and problem["message"] == answer["reasons"][0]
        assert problem["values"]["need"] == 80 and 0 < problem["values"]["size"] < 80
        nothing = client.post(
            "/api/v1/quality",
            files={"image": ("frame.jpg", encode_jpeg(np.full((240, 320, 3), 90, np.uint8)), "image/jpeg")},
            headers={"X-CSRF-Token": csrf_of(page)},
        ).json()
        assert [p["code"] for p in nothing["problems"]] == ["no_face"] and nothing["reasons"] == [NO_FACE]

        texts = _capture_texts(page)
        assert texts["lang"] == "de" and texts["locale"] == "de-DE"
        assert set(texts["reasons"]) == set(REASONS) | {"no_face", "multiple_faces"}
        said = texts["reasons"]["face_too_small"] % problem["values"]
        assert said.startswith(f"Gesicht zu klein ({problem['values']['size']} px, nötig sind 80)")
        assert texts["reasons"]["multiple_faces"] != MULTIPLE_FACES
        assert texts["words"]["good"].startswith("Gut: ein Gesicht")
        assert texts["errors"]["csrf_failed"].startswith("Diese Seite ist veraltet")
        # every text the widget shows is German (none left as its English source)
        from whosthat.web.pages.people import CAPTURE_ERRORS, CAPTURE_WORDS

        english = {**CAPTURE_WORDS, **CAPTURE_ERRORS, **REASONS}
        same = [
            k
            for k, v in {**texts["words"], **texts["errors"], **texts["reasons"]}.items()
            if k in english and v == english[k] and k != "photo"
        ]
        assert not same, same
        # a person's page carries the same texts, in French for a French reader
        client.cookies.set(LANGUAGE_COOKIE, "fr")
        ctx = context(app)
        pid = people.create_person(ctx, employee_code="P-9", name="Sally", surname="Ride").id
        ctx.db.close()
        french = _capture_texts(client.get(f"/admin/people/{pid}").text)
        assert french["locale"] == "fr-FR"
        assert (french["reasons"]["face_too_small"] % problem["values"]).startswith("visage trop petit (")
        assert french["words"]["good"].startswith("Bien : un seul visage")
