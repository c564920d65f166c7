"""What a camera frame may be: one size limit (1280x720 pixels), checked by the session and the route."""

from __future__ import annotations

import io

import numpy as np

from whosthat.liveness.challenge import ChallengeSession
from whosthat.liveness.frame import MAX_FRAME_PIXELS, MIN_FRAME_SIDE_PX, usable_frame
from whosthat.liveness.outcomes import FRAME_TOO_LARGE

from .liveness_frames import default_match_threshold


def blank(height: int, width: int) -> np.ndarray:
    return np.full((height, width, 3), 120, np.uint8)


def test_the_limit_is_a_720p_webcam_frame():
    assert usable_frame(blank(720, 1280)) and usable_frame(blank(480, 640))
    assert not usable_frame(blank(721, 1280)) and not usable_frame(blank(960, 1280))
    assert MAX_FRAME_PIXELS == 1280 * 720


def test_frames_that_are_not_rgb_uint8_or_too_small_are_refused():
    assert not usable_frame(np.zeros((480, 640), np.uint8))
    assert not usable_frame(np.zeros((480, 640, 3), np.float32))
    assert not usable_frame(blank(MIN_FRAME_SIDE_PX - 1, 640))
    assert not usable_frame([[0, 0, 0]])


def session() -> ChallengeSession:
    return ChallengeSession.create(
        "k", match_threshold=default_match_threshold(), steps=["blink"], timeout_s=5, pad_mode="off"
    )


def test_the_session_analyses_a_frame_at_the_limit_and_fails_one_over_it():
    s = session()
    messages = s.process_frame(blank(720, 1280), now=s.created_at + 0.1)
    assert (
        not s.done
        and {"type": "guidance", "code": "no_face", "message": "No face: look at the camera"} in messages
    )
    s.process_frame(blank(722, 1280), now=s.created_at + 0.2)
    assert s.done and s.reason == "bad_frame"


def jpeg(rgb: np.ndarray) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(rgb).save(out, "JPEG", quality=80)
    return out.getvalue()


def test_the_route_passes_a_frame_at_the_limit_and_refuses_one_over_it(client):
    body = client.post("/api/v1/liveness/sessions", json={"kiosk": "frame-limit"}).json()
    with client.websocket_connect(body["ws_url"]) as ws:
        ws.send_bytes(jpeg(blank(720, 1280)))
        assert ws.receive_json()["type"] == "prompt"
        assert ws.receive_json() == {
            "type": "guidance",
            "code": "no_face",
            "message": "No face: look at the camera",
        }
        ws.send_bytes(jpeg(blank(720, 1296)))  # JPEG sizes come in 16 px blocks: one block wider
        result = ws.receive_json()
    assert result["type"] == "result" and result["passed"] is False
    assert result["reason"] == "bad_frame" and result["message"] == FRAME_TOO_LARGE
