"""The kiosk liveness route: session creation, WebSocket checks, failures counted toward the lockout."""

from __future__ import annotations

import numpy as np
import pytest

from tests.kiosk_pairing import pair_client
from tests.web.conftest import jpeg


def _start(web, kiosk="lobby"):
    pair_client(web.client, web.runtime, kiosk)
    return web.client.post("/api/v1/liveness/sessions", json={"kiosk": kiosk})


def _result(ws):
    while True:
        message = ws.receive_json()
        if message["type"] == "result":
            return message


def test_session_follows_the_kiosk_protocol(web):
    r = _start(web)
    assert r.status_code == 201, r.text
    body = r.json()
    assert {"id", "nonce", "steps", "prompts", "expires_at", "frame_interval_ms", "ws_url"} <= set(body)
    # The adaptive default starts with one blink (a turn may follow: "adaptive"); the countdown's length.
    assert body["steps"] == ["blink"] and len(body["prompts"]) == 1 and body["adaptive"] is True
    assert body["timeout_s"] == web.runtime.settings.liveness_timeout_s
    assert body["ws_url"] == f"/api/v1/liveness/sessions/{body['id']}?nonce={body['nonce']}"
    assert _start(web, kiosk="Front door").status_code == 201  # the kiosk-name rule allows spaces
    assert (
        web.client.post(
            "/api/v1/liveness/sessions", content=b"{", headers={"content-type": "application/json"}
        ).status_code
        == 400
    )


def test_a_wrong_nonce_never_opens_a_session(web):
    body = _start(web).json()
    with web.client.websocket_connect(f"/api/v1/liveness/sessions/{body['id']}?nonce=guess") as ws:
        result = _result(ws)
    assert result["passed"] is False and result["reason"] == "invalid_session" and result["redirect"] is None


def test_garbage_frames_fail_and_repeated_failures_lock_the_kiosk_out(web):
    limit = web.runtime.settings.face_login_max_failures
    for _ in range(limit):
        body = _start(web, kiosk="door").json()
        with web.client.websocket_connect(body["ws_url"]) as ws:
            ws.send_bytes(b"not a jpeg at all")
            result = _result(ws)
        assert result["passed"] is False and result["reason"] == "bad_frame" and result["person"] is None
    locked = _start(web, kiosk="door")
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
    assert locked.json()["error"] == "too_many_attempts"


@pytest.mark.slow
def test_a_still_photo_streamed_to_the_kiosk_does_not_log_in(tmp_path, astronaut):
    """The public-domain astronaut portrait, streamed at the kiosk's frame rate, never passes: the challenge
    asks for blinks or head turns that a still picture cannot make, and the session ends failed."""
    import threading
    import time

    from fastapi.testclient import TestClient

    from tests.store.backends import make_settings
    from whosthat.services.runtime import Runtime
    from whosthat.web.app import create_app

    settings = make_settings("sqlite", tmp_path, liveness_timeout_s=4.0)
    runtime = Runtime.from_settings(settings)
    canvas = np.full((480, 640, 3), 128, np.uint8)
    canvas[:, 64:576] = astronaut[32:512]
    frame = jpeg(canvas)
    try:
        with TestClient(create_app(settings, runtime)) as client:
            pair_client(client, runtime, "photo")
            body = client.post("/api/v1/liveness/sessions", json={"kiosk": "photo"}).json()
            stop = threading.Event()
            with client.websocket_connect(body["ws_url"]) as ws:

                def stream():
                    while not stop.is_set():
                        try:
                            ws.send_bytes(frame)
                        except Exception:
                            return
                        time.sleep(body["frame_interval_ms"] / 1000)

                sender = threading.Thread(target=stream, daemon=True)
                sender.start()
                try:
                    result = _result(ws)
                finally:
                    stop.set()
                    sender.join(timeout=2)
    finally:
        runtime.close()
    assert result["passed"] is False and result["person"] is None and result["redirect"] is None
    assert result["reason"] in {
        "timeout",
        "no_blink",
        "no_head_turn",
        "frame_timing",
        "face_lost",
        "print_attack",
    }


def test_without_the_liveness_module_face_login_is_off_not_open(tmp_path, monkeypatch):
    import sys

    from fastapi.testclient import TestClient

    from tests.store.backends import make_settings
    from whosthat.services.runtime import Runtime
    from whosthat.web.app import create_app

    monkeypatch.setitem(sys.modules, "whosthat.liveness.challenge", None)  # the module cannot be imported
    settings = make_settings("sqlite", tmp_path)
    runtime = Runtime.from_settings(settings)
    try:
        with TestClient(create_app(settings, runtime)) as client:
            pair_client(client, runtime, "lobby")
            r = client.post("/api/v1/liveness/sessions", json={"kiosk": "lobby"})
            assert r.status_code == 503 and r.json()["error"] == "unavailable"
            assert "liveness unavailable" in r.json()["detail"]
            with client.websocket_connect("/api/v1/liveness/sessions/anything?nonce=x") as ws:
                result = _result(ws)
            assert (
                result["passed"] is False and result["reason"] == "unavailable" and result["redirect"] is None
            )
    finally:
        runtime.close()


def test_the_presence_check_says_whether_a_face_is_in_view_and_refuses_bad_frames(web, astronaut):
    """The kiosk's automatic start: a face close to the camera -> true, an empty scene or a face far away
    -> false; bad frames are refused with a 4xx; nothing counts toward the face-login lockout."""
    from PIL import Image

    canvas = np.full((480, 640, 3), 60, np.uint8)
    canvas[:, 64:576] = astronaut[16:496]
    small = np.asarray(Image.fromarray(canvas).resize((320, 240)))
    far = np.full((240, 320, 3), 60, np.uint8)
    far[100:124, 150:170] = np.asarray(Image.fromarray(canvas).resize((20, 24)))  # 20 px of 320
    post = web.client.post

    pair_client(web.client, web.runtime, "kiosk")  # only a paired kiosk asks

    def ask(data: bytes, kind: str = "image/jpeg"):
        return post("/api/v1/liveness/presence", content=data, headers={"content-type": kind})

    def failures():
        return [web.runtime.face_limiter.check(k).failures for k in ("kiosk:kiosk", "address:testclient")]

    before = failures()
    r = ask(jpeg(small))
    assert r.status_code == 200 and r.json() == {"face": True}, r.text
    assert ask(jpeg(np.full((240, 320, 3), 60, np.uint8))).json() == {"face": False}
    assert ask(jpeg(far)).json() == {"face": False}
    assert ask(b"").status_code == 400
    assert ask(b"not a jpeg at all").status_code in (415, 422)
    assert ask(b"\xff" * 1_000_001).status_code == 413
    assert ask(jpeg(np.zeros((1080, 1920, 3), np.uint8))).status_code == 413
    assert failures() == before  # presence checks never count toward the face-login lockout


def test_the_presence_check_is_rate_limited_per_address(web):
    pair_client(web.client, web.runtime, "kiosk")
    limiter = web.runtime.presence_limiter
    for _ in range(limiter.limit):
        limiter.hit("address:testclient")
    r = web.client.post(
        "/api/v1/liveness/presence",
        content=jpeg(np.full((240, 320, 3), 9, np.uint8)),
        headers={"content-type": "image/jpeg"},
    )
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0


def test_only_a_paired_kiosk_starts_a_session_and_a_revoked_one_cannot(tmp_path):
    from fastapi.testclient import TestClient

    from tests.store.backends import make_settings
    from whosthat.services import kiosks
    from whosthat.services.common import Context
    from whosthat.services.runtime import Runtime
    from whosthat.web.app import create_app

    settings = make_settings("sqlite", tmp_path)
    runtime = Runtime.from_settings(settings)
    try:
        with TestClient(create_app(settings, runtime)) as stranger:
            r = stranger.post("/api/v1/liveness/sessions", json={"kiosk": "lobby"})
            assert r.status_code == 403 and r.json()["error"] == "kiosk_not_paired"
            page = stranger.get("/kiosk")
            assert 'id="pair-form"' in page.text and 'id="kiosk"' not in page.text
            stranger.cookies.set(kiosks.DEVICE_COOKIE, "forged-token")
            assert stranger.post("/api/v1/liveness/sessions", json={}).status_code == 403
            token = pair_client(stranger, runtime, "annex")
            ok = stranger.post("/api/v1/liveness/sessions", json={"kiosk": "somewhere-else"})
            assert ok.status_code == 201, ok.text  # the session is the paired kiosk's, whatever the body says
            assert 'data-kiosk="annex"' in stranger.get("/kiosk?name=other").text
            with Context.open(runtime) as ctx:
                kiosk = kiosks.kiosk_for_device(ctx, token)
                assert kiosk.name == "annex" and kiosk.last_seen_at is not None
                kiosks.revoke(ctx, kiosk.id)
            assert stranger.post("/api/v1/liveness/sessions", json={}).status_code == 403
            assert 'id="pair-form"' in stranger.get("/kiosk").text
    finally:
        runtime.close()
