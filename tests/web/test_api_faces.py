"""The JSON API with real faces (LFW): enrol, identify, unknown, delete; bad input changes nothing."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import func, select

from tests.web.conftest import consent_given, jpeg, lfw_bytes, upload
from whosthat.store.models import AuditLog, FaceTemplate


def _create(web, code, name, surname):
    r = web.client.post(
        "/api/v1/people", json={"employee_code": code, "name": name, "surname": surname}, headers=web.headers
    )
    assert r.status_code == 201, r.text
    consent_given(web, r.json()["id"])
    return r.json()["id"]


def _identify(web, data):
    r = web.client.post("/api/v1/identify", files=upload(data), headers=web.headers)
    assert r.status_code == 200, r.text
    return r.json()


def test_enrol_two_photos_identify_a_third_reject_unknown_and_delete(web, lfw_root):
    colin = _create(web, "CP-1", "Colin", "Powell")
    for n in (1, 2):
        r = web.client.post(
            f"/api/v1/people/{colin}/templates",
            files=upload(lfw_bytes(lfw_root, "Colin_Powell", n)),
            headers=web.headers,
        )
        assert r.status_code == 201, r.text
        assert r.json()["person_id"] == colin and r.json()["quality_detail"]["ok"] is True
    tony = _create(web, "TB-1", "Tony", "Blair")
    r = web.client.post(
        f"/api/v1/people/{tony}/templates",
        files=upload(lfw_bytes(lfw_root, "Tony_Blair", 3)),
        headers=web.headers,
    )
    assert r.status_code == 201, r.text
    assert web.client.get(f"/api/v1/people/{colin}", headers=web.headers).json()["templates"] == 2

    result = _identify(web, lfw_bytes(lfw_root, "Colin_Powell", 3))
    assert result["match"] is not None and result["match"]["person_id"] == colin
    assert result["match"]["distance"] <= result["threshold"]

    unknown = _identify(web, lfw_bytes(lfw_root, "Gerhard_Schroeder", 1))
    assert unknown["match"] is None

    r = web.client.delete(f"/api/v1/people/{colin}", headers=web.headers)
    assert r.status_code == 204
    after = _identify(web, lfw_bytes(lfw_root, "Colin_Powell", 3))
    assert after["match"] is None or after["match"]["person_id"] != colin
    assert web.client.get(f"/api/v1/people/{colin}", headers=web.headers).status_code == 404
    with web.runtime.database.session() as db:
        assert (
            db.execute(
                select(func.count()).select_from(FaceTemplate).where(FaceTemplate.person_id == colin)
            ).scalar_one()
            == 0
        )
        deletion = db.execute(select(AuditLog).where(AuditLog.action == "person.delete")).scalar_one()
        assert deletion.target == f"person:{colin}" and set(deletion.detail) == {"employee_code", "templates"}


def _two_faces(lfw_root) -> bytes:
    from whosthat.vision.image import decode_image

    left = decode_image(lfw_bytes(lfw_root, "Colin_Powell", 1))
    right = decode_image(lfw_bytes(lfw_root, "Gerhard_Schroeder", 1))
    return jpeg(np.concatenate([left, right], axis=1))


def _no_face() -> bytes:
    from skimage import data

    return jpeg(data.coffee())


def test_bad_input_is_a_4xx_json_error_and_changes_nothing(web, lfw_root):
    pid = _create(web, "BAD-1", "Bad", "Input")
    before = web.snapshot()
    url = f"/api/v1/people/{pid}/templates"
    cases = [
        (
            "not an image",
            lambda: web.client.post(url, files=upload(b"hello, I am text", "x.jpg"), headers=web.headers),
            422,
            "bad_image",
        ),
        (
            "50 MB upload",
            lambda: web.client.post(url, files=upload(b"\xff" * (50 * 1024 * 1024)), headers=web.headers),
            413,
            "payload_too_large",
        ),
        (
            "no face",
            lambda: web.client.post(url, files=upload(_no_face()), headers=web.headers),
            422,
            "no_face",
        ),
        (
            "two faces",
            lambda: web.client.post(url, files=upload(_two_faces(lfw_root)), headers=web.headers),
            422,
            "multiple_faces",
        ),
        (
            "two faces, identify",
            lambda: web.client.post(
                "/api/v1/identify", files=upload(_two_faces(lfw_root)), headers=web.headers
            ),
            422,
            "multiple_faces",
        ),
        (
            "malformed JSON",
            lambda: web.client.post(
                "/api/v1/people",
                content=b'{"employee_code": "X",',
                headers={**web.headers, "Content-Type": "application/json"},
            ),
            400,
            "malformed_json",
        ),
        (
            "missing fields",
            lambda: web.client.post("/api/v1/people", json={"name": "A"}, headers=web.headers),
            422,
            "invalid_request",
        ),
        (
            "wrong API key",
            lambda: web.client.post(
                "/api/v1/people",
                json={"employee_code": "Z", "name": "A", "surname": "B"},
                headers={"X-API-Key": "wt_wrong"},
            ),
            401,
            "unauthenticated",
        ),
        (
            "no credentials",
            lambda: web.client.post(url, files=upload(lfw_bytes(lfw_root, "Tony_Blair", 3))),
            401,
            "unauthenticated",
        ),
        (
            "duplicate code",
            lambda: web.client.post(
                "/api/v1/people",
                json={"employee_code": "BAD-1", "name": "A", "surname": "B"},
                headers=web.headers,
            ),
            409,
            "conflict",
        ),
        (
            "unknown person",
            lambda: web.client.post(
                "/api/v1/people/999999/templates",
                files=upload(lfw_bytes(lfw_root, "Tony_Blair", 3)),
                headers=web.headers,
            ),
            404,
            "not_found",
        ),
        (
            "empty file",
            lambda: web.client.post(url, files=upload(b""), headers=web.headers),
            400,
            "bad_input",
        ),
        (
            "missing image field",
            lambda: web.client.post(url, files={"photo": ("a.jpg", b"x")}, headers=web.headers),
            422,
            "invalid_request",
        ),
        (
            "bad id type",
            lambda: web.client.get("/api/v1/people/abc", headers=web.headers),
            422,
            "invalid_request",
        ),
        (
            "huge id",
            lambda: web.client.delete("/api/v1/people/99999999999999999999", headers=web.headers),
            422,
            "invalid_request",
        ),
        (
            "11 MB image",
            lambda: web.client.post(url, files=upload(b"\xff" * (11 * 1024 * 1024)), headers=web.headers),
            413,
            "payload_too_large",
        ),
        (
            "bad page",
            lambda: web.client.get("/api/v1/people?page=0", headers=web.headers),
            422,
            "invalid_request",
        ),
    ]
    for label, call, status, code in cases:
        r = call()
        assert r.status_code == status, f"{label}: {r.status_code} {r.text[:200]}"
        body = r.json()
        assert body["error"] == code and body["detail"], f"{label}: {body}"
    assert web.snapshot() == before


def test_quality_feedback_on_a_frame(web, lfw_root):
    good = web.client.post(
        "/api/v1/quality", files=upload(lfw_bytes(lfw_root, "Tony_Blair", 3)), headers=web.headers
    )
    assert good.status_code == 200 and good.json()["ok"] is True
    assert len(good.json()["box"]) == 4 and good.json()["faces"] == 1
    turned = web.client.post(
        "/api/v1/quality", files=upload(lfw_bytes(lfw_root, "Tony_Blair", 1)), headers=web.headers
    ).json()
    assert turned["ok"] is False and any("frontal" in r for r in turned["reasons"])
    none = web.client.post("/api/v1/quality", files=upload(_no_face()), headers=web.headers).json()
    assert none["ok"] is False and none["box"] is None and none["reasons"]
    two = web.client.post("/api/v1/quality", files=upload(_two_faces(lfw_root)), headers=web.headers).json()
    assert two["ok"] is False and two["faces"] == 2


def test_kiosk_login_after_a_passed_challenge_clocks_and_issues_a_single_use_ticket(web, lfw_root):
    from whosthat.services.errors import AuthenticationError
    from whosthat.services.kiosk_login import complete_kiosk_login, redeem_login_ticket
    from whosthat.vision.image import decode_image

    gerhard = _create(web, "GS-1", "Gerhard", "Schroeder")
    r = web.client.post(
        f"/api/v1/people/{gerhard}/templates",
        files=upload(lfw_bytes(lfw_root, "Gerhard_Schroeder", 1)),
        headers=web.headers,
    )
    assert r.status_code == 201, r.text
    same = web.client.post(
        "/api/v1/verify",
        files=upload(lfw_bytes(lfw_root, "Gerhard_Schroeder", 2)),
        data={"person_id": str(gerhard)},
        headers=web.headers,
    ).json()
    other = web.client.post(
        "/api/v1/verify",
        files=upload(lfw_bytes(lfw_root, "Colin_Powell", 3)),
        data={"person_id": str(gerhard)},
        headers=web.headers,
    ).json()
    assert same["same"] is True and other["same"] is False and same["distance"] < other["distance"]
    face = web.runtime.pipeline().embed_single(decode_image(lfw_bytes(lfw_root, "Gerhard_Schroeder", 2)))
    ctx = web.context()
    try:
        login = complete_kiosk_login(
            ctx,
            kiosk="lobby",
            embedding=face.embedding,
            model=face.model,
            liveness={"passed": True, "steps": ["blink"]},
        ).login
        assert login is not None and login.person.id == gerhard and login.event.kind == "in"
        assert login.message.startswith("Welcome, Gerhard: clocked in at ")
        assert login.event.liveness_passed is True
        assert redeem_login_ticket(ctx, login.ticket).id == gerhard
        with pytest.raises(AuthenticationError):
            redeem_login_ticket(ctx, login.ticket)
        second = complete_kiosk_login(
            ctx, kiosk="lobby", embedding=face.embedding, model=face.model, liveness=None
        ).login
        # At once again (the face walks past another kiosk): inside the repeat window nothing is recorded,
        # the employee page still opens and the welcome says so.
        assert second.recorded is False and second.event.id == login.event.id and second.event.kind == "in"
        assert second.message.startswith("Hello, Gerhard: already clocked in at ")
        assert second.message.endswith(" (UTC) \N{EM DASH} nothing changed")
        assert redeem_login_ticket(ctx, second.ticket).id == gerhard
        # The welcome names the time in the kiosk's own zone (the zone its clock shows), labelled.
        from zoneinfo import ZoneInfo

        from whosthat.services import kiosks

        kiosks.create_kiosk(ctx, name="Berlin gate", timezone="Europe/Berlin")
        third = complete_kiosk_login(
            ctx, kiosk="Berlin gate", embedding=face.embedding, model=face.model, liveness=None
        ).login
        berlin = third.event.at.astimezone(ZoneInfo("Europe/Berlin")).strftime("%H:%M")
        assert third.message == (
            f"Hello, Gerhard: already clocked in at {berlin} (Europe/Berlin) \N{EM DASH} nothing changed"
        )
        assert login.message.endswith(" (UTC)")
        # The event keeps how the face matched: its distance and the gap to the second-best person.
        assert login.event.match_distance == pytest.approx(login.distance)
        # (None when Gerhard is the only one enrolled: nobody to be confused with)
        assert login.event.match_margin == (None if login.margin is None else pytest.approx(login.margin))
        stranger = web.runtime.pipeline().embed_single(decode_image(lfw_bytes(lfw_root, "Colin_Powell", 3)))
        refused = complete_kiosk_login(
            ctx, kiosk="lobby", embedding=stranger.embedding, model=stranger.model, liveness=None
        )
        assert refused.login is None and refused.reason == "not_recognised"
    finally:
        ctx.db.close()
