"""Every upload path refuses every image of the hostile corpus with a 4xx and changes nothing.

Before the header check, the 279-byte 32767x2 PNG killed the whole process (OpenCV inside MediaPipe
aborts on such a side), malformed TIFFs answered 500, and a 25 MP picture cost seconds and gigabytes.
The corpus is generated at test time (tests/hostile_images.py).
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.hostile_images import DECODABLE, corpus
from tests.kiosk_pairing import pair_client
from tests.store.backends import backend_params, make_settings
from tests.web.conftest import Web, upload
from whosthat.services import access, consent, people
from whosthat.services.common import Context
from whosthat.services.limits import RateLimiter
from whosthat.services.runtime import Runtime
from whosthat.web.app import create_app

CORPUS = corpus()
PASSWORD = "hostile images 123"


@pytest.fixture(scope="module", params=backend_params())
def hostile(request, tmp_path_factory):
    # Kiosk failures would lock the test's kiosk out after 5 frames: allow them all.
    settings = make_settings(
        request.param, tmp_path_factory.mktemp("hostile"), face_login_max_failures=10_000
    )
    runtime = Runtime.from_settings(settings)
    runtime.session_limiter = RateLimiter(limit=10_000, window_s=60.0)  # one session per corpus image
    app = create_app(settings, runtime)
    with TestClient(app) as client:
        with Context.open(runtime) as ctx:
            _, key = access.create_api_key(ctx, "tests", ["admin"])
            access.create_admin(ctx, "hostile", PASSWORD)
            person = people.create_person(ctx, employee_code="H-1", name="Hal", surname="Host")
            consent.record_consent(ctx, person.id)  # so that the images, not the consent, are refused
        web = Web(client, runtime, key)
        web.person_id = person.id
        yield web
    runtime.close()


def _api_posts(web):
    pid = web.person_id
    return {
        "identify": lambda data: web.client.post("/api/v1/identify", files=upload(data), headers=web.headers),
        "verify": lambda data: web.client.post(
            "/api/v1/verify", files=upload(data), data={"person_id": str(pid)}, headers=web.headers
        ),
        "templates": lambda data: web.client.post(
            f"/api/v1/people/{pid}/templates", files=upload(data), headers=web.headers
        ),
        "quality": lambda data: web.client.post("/api/v1/quality", files=upload(data), headers=web.headers),
    }


@pytest.mark.parametrize("name,data", CORPUS, ids=[n for n, _ in CORPUS])
def test_every_api_upload_refuses_the_image_and_changes_nothing(hostile, name, data):
    before = hostile.snapshot()
    for endpoint, post in _api_posts(hostile).items():
        r = post(data)
        if endpoint == "quality" and name in DECODABLE:  # feedback on a valid picture: "no face"
            assert r.status_code == 200 and r.json()["ok"] is False, r.text
            continue
        assert 400 <= r.status_code < 500, (endpoint, r.status_code, r.text)
        assert set(r.json()) >= {"error", "detail"}, (endpoint, r.text)
    assert hostile.snapshot() == before


def _refused_back_to_the_form(client, r, name):
    """Post/redirect/get: 303 to the form's page with the draft; the page says why beside the photos,
    and the kept photo's thumbnail is a small JPEG decoded under the limits, or 404 when it cannot be."""
    import re

    assert r.status_code == 303 and "?draft=" in r.headers["location"], (name, r.status_code)
    page = client.get(r.headers["location"])
    assert page.status_code == 200 and 'id="photos-field-error"' in page.text, name
    for src in re.findall(r'<img src="(/admin/drafts/[^"]+)"', page.text):
        thumb = client.get(src.replace("&amp;", "&"))
        assert thumb.status_code in (200, 404), (name, thumb.status_code)
        assert thumb.status_code == 404 or thumb.headers["content-type"] == "image/jpeg"


def test_admin_page_uploads_refuse_the_corpus_and_change_nothing(hostile):
    client = hostile.client
    r = client.post("/api/v1/auth/login", json={"username": "hostile", "password": PASSWORD})
    assert r.status_code == 200
    token = r.json()["csrf_token"]
    try:
        before = hostile.snapshot()
        for name, data in CORPUS:
            files = [("photos", (f"{name}.jpg", data, "image/jpeg"))]
            add = client.post(
                f"/admin/people/{hostile.person_id}/templates",
                data={"csrf_token": token},
                files=files,
                follow_redirects=False,
            )
            _refused_back_to_the_form(client, add, name)
            new = client.post(
                "/admin/people/new",
                data={
                    "csrf_token": token,
                    "employee_code": f"N-{name}"[:60],
                    "name": "New",
                    "surname": "Person",
                    "consent": consent.CURRENT_VERSION,
                },
                files=files,
                follow_redirects=False,
            )
            _refused_back_to_the_form(client, new, name)
        assert hostile.snapshot() == before
    finally:
        client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": token})
        client.cookies.clear()


def test_kiosk_frames_from_the_corpus_fail_the_challenge_as_bad_frames(hostile):
    before = hostile.snapshot()
    for name, data in CORPUS:
        if name in DECODABLE:
            continue  # a valid frame: the challenge goes on waiting for a face
        pair_client(hostile.client, hostile.runtime, "hostile")
        r = hostile.client.post("/api/v1/liveness/sessions", json={"kiosk": "hostile"})
        assert r.status_code == 201, r.text
        body = r.json()
        with hostile.client.websocket_connect(body["ws_url"]) as ws:
            ws.send_bytes(data)
            while (message := ws.receive_json())["type"] != "result":
                pass
        assert message["passed"] is False and message["reason"] == "bad_frame", (name, message)
    after = hostile.snapshot()
    # Each failed challenge is audited (face_login.failed); nothing else changes.
    assert {k: v for k, v in after.items() if k != "audit_log"} == {
        k: v for k, v in before.items() if k != "audit_log"
    }
