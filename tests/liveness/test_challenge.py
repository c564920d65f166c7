"""ChallengeSession on real faces: still and moved photos fail, timing rules, the store, the public view.

Data-free: these use scikit-image's public-domain astronaut portrait. Attacks that need several real
people (a face swapped mid-challenge) and genuine same-person sequences are in test_attacks.py (LFW).
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from whosthat.liveness.challenge import PROMPTS, STEP_KINDS, ChallengeSession, ChallengeStore
from whosthat.liveness.mesh import FaceMeshTracker

from .liveness_frames import astronaut_frame, default_match_threshold, drive, moved


@pytest.fixture(scope="module")
def still() -> np.ndarray:
    return astronaut_frame()


def test_create_draws_steps_from_the_server_rng():
    seen = set()
    for _ in range(30):
        s = ChallengeSession.create("k1", match_threshold=default_match_threshold(), n_steps=2)
        assert len(s.steps) == 2 and all(step in STEP_KINDS for step in s.steps)
        assert s.steps[0] != s.steps[1]
        seen.add(tuple(s.steps))
    assert len(seen) > 1  # not a fixed sequence
    a, b = (
        ChallengeSession.create("k", match_threshold=default_match_threshold(), rng=random.Random(7))
        for _ in range(2)
    )
    assert a.steps == b.steps and a.id != b.id and a.nonce != b.nonce


def test_public_view_matches_the_kiosk_protocol():
    s = ChallengeSession.create(
        "front-door", match_threshold=default_match_threshold(), steps=["blink", "turn_left"], timeout_s=20
    )
    body = s.public()
    assert set(body) == {
        "id",
        "nonce",
        "steps",
        "prompts",
        "expires_at",
        "timeout_s",
        "adaptive",
        "frame_interval_ms",
    }
    assert body["prompts"] == [PROMPTS["blink"], PROMPTS["turn_left"]]
    assert body["timeout_s"] == 20 and body["adaptive"] is False
    # Directions are in the person's own frame (their left), which the kiosk's mirrored preview shows.
    assert "your left" in PROMPTS["turn_left"] and "your right" in PROMPTS["turn_right"]
    assert abs(body["expires_at"] - (s.created_at + 20)) < 1e-6
    assert s.check_nonce(s.nonce) and not s.check_nonce("x") and not s.check_nonce(None)


def test_unknown_step_is_rejected():
    with pytest.raises(ValueError):
        ChallengeSession.create("k", match_threshold=default_match_threshold(), steps=["smile"])


def test_still_photo_fails_blink(still):
    s = ChallengeSession.create(
        "k", match_threshold=default_match_threshold(), steps=["blink"], timeout_s=3, pad_mode="off"
    )
    messages = drive(s, lambda t: still)
    assert s.done and not s.passed and s.reason == "no_blink"
    assert messages[0] == {
        "type": "prompt",
        "step": 0,
        "of": 1,
        "kind": "blink",
        "instruction": PROMPTS["blink"],
    }
    assert s.recognition() is None
    summary = s.summary()
    assert summary["passed"] is False and summary["reason"] == "no_blink" and summary["blinks"] == 0
    assert summary["embeddings"] >= 1  # the face was tracked and embedded; it just never blinked


@pytest.mark.parametrize("steps", [["turn_left", "turn_right"], ["blink"]])
def test_photo_moved_and_rotated_fails(still, steps):
    s = ChallengeSession.create(
        "k", match_threshold=default_match_threshold(), steps=steps, timeout_s=4, pad_mode="off"
    )
    drive(s, lambda t: moved(still, t))
    assert s.done and not s.passed
    assert s.reason in {"no_head_turn", "no_blink"}
    assert s.step_index == 0


def test_in_plane_motion_does_not_change_the_head_yaw(still):
    """The yaw measure is a ratio along the eye line: moving, rotating or scaling a flat photo keeps it."""
    with FaceMeshTracker(static_image_mode=True) as tracker:
        yaws = [tracker.analyse(moved(still, t)).yaw_deg for t in np.linspace(0, 2.5, 8)]
        flipped = tracker.analyse(np.ascontiguousarray(still[:, ::-1])).yaw_deg
    assert max(yaws) - min(yaws) < 6.0, yaws
    assert abs(yaws[0] + flipped) < 15.0  # a mirror image turns the other way by about as much


def test_frames_faster_than_a_camera_fail(still):
    s = ChallengeSession.create(
        "k", match_threshold=default_match_threshold(), steps=["blink"], timeout_s=10, pad_mode="off"
    )
    drive(s, lambda t: still, fps=100, max_s=3)
    assert s.done and s.reason == "frame_timing"


def test_stalled_stream_fails(still):
    s = ChallengeSession.create(
        "k", match_threshold=default_match_threshold(), steps=["blink"], timeout_s=60, pad_mode="off"
    )
    s.process_frame(still, now=s.created_at + 0.1)
    assert s.poll(now=s.created_at + 0.5) == [] and not s.done
    # the gap is measured net of the server's own time on the previous frame (the first one loads models)
    took = s.summary()["processing_ms"]["max"] / 1000
    s.poll(now=s.created_at + 0.1 + took + 3.0)
    assert s.done and s.reason == "frame_timing"


def test_expiry_fails_without_frames():
    s = ChallengeSession.create(
        "k", match_threshold=default_match_threshold(), steps=["blink"], timeout_s=5, pad_mode="off"
    )
    s.poll(now=s.created_at + 6)
    assert s.done and not s.passed and s.reason == "timeout"


def test_no_face_gets_guidance_then_times_out():
    blank = np.full((480, 640, 3), 120, np.uint8)
    s = ChallengeSession.create(
        "k", match_threshold=default_match_threshold(), steps=["blink"], timeout_s=1.5, pad_mode="off"
    )
    messages = drive(s, lambda t: blank)
    assert {"type": "guidance", "code": "no_face", "message": "No face: look at the camera"} in messages
    assert s.done and s.reason == "timeout"


def test_small_face_asks_to_move_closer():
    small = astronaut_frame(face_px=80)  # mesh box about 68 px wide
    s = ChallengeSession.create(
        "k", match_threshold=default_match_threshold(), steps=["blink"], timeout_s=1.0, pad_mode="off"
    )
    messages = drive(s, lambda t: small)
    assert any(m == {"type": "guidance", "code": "closer", "message": "Move closer"} for m in messages)


def test_bad_frame_fails_and_frames_after_done_are_ignored(still):
    s = ChallengeSession.create(
        "k", match_threshold=default_match_threshold(), steps=["blink"], timeout_s=5, pad_mode="off"
    )
    s.process_frame(np.zeros((10, 10), np.uint8), now=s.created_at + 0.1)
    assert s.done and s.reason == "bad_frame"
    assert s.process_frame(still, now=s.created_at + 0.2) == []


def test_store_drops_expired_sessions():
    store = ChallengeStore(grace_s=0.0)
    s = store.create("k", match_threshold=default_match_threshold(), steps=["blink"], timeout_s=0.01)
    t = store.create("k", match_threshold=default_match_threshold(), steps=["blink"], timeout_s=60)
    import time

    time.sleep(0.05)
    assert store.get(s.id) is None
    assert store.get(t.id) is t
    store.discard(t.id)
    assert store.get(t.id) is None and len(store) == 0


def test_store_uses_settings(monkeypatch):
    from whosthat.config import get_settings

    monkeypatch.setenv("WHOSTHAT_LIVENESS_STEPS", "3")
    monkeypatch.setenv("WHOSTHAT_LIVENESS_CHALLENGE", "random")
    monkeypatch.setenv("WHOSTHAT_PAD_MODE", "enforce")
    get_settings.cache_clear()
    try:
        s = ChallengeStore().create("k")
        assert len(s.steps) == 3 and s.pad_mode == "enforce"
    finally:
        get_settings.cache_clear()


def test_store_starts_adaptive_challenges_with_a_blink_by_default(monkeypatch):
    from whosthat.config import get_settings

    monkeypatch.delenv("WHOSTHAT_LIVENESS_CHALLENGE", raising=False)
    get_settings.cache_clear()
    try:
        s = ChallengeStore().create("k", match_threshold=default_match_threshold())
        assert s.steps == ["blink"] and set(s.adaptive_turns) == {"turn_left", "turn_right"}
        assert s.public()["adaptive"] is True
        # Without blink among the kinds there is nothing easy to start with: the steps are drawn.
        t = ChallengeStore().create("k", step_kinds=("turn_left", "turn_right"), n_steps=2)
        assert len(t.steps) == 2 and not t.adaptive_turns
    finally:
        get_settings.cache_clear()


def test_a_turn_is_needed_only_when_the_print_attack_evidence_is_unsure():
    from whosthat.liveness.challenge import turn_needed

    sure = [0.01] * 6
    assert not turn_needed("enforce", sure, 0.75, min_samples=5, unsure_frac=0.5)
    assert not turn_needed("warn", sure, 0.75, min_samples=5, unsure_frac=0.5)
    assert turn_needed("off", sure, 0.75, min_samples=5, unsure_frac=0.5)  # no evidence at all
    assert turn_needed("enforce", sure[:4], 0.75, min_samples=5, unsure_frac=0.5)  # too few frames
    assert turn_needed("enforce", [0.4] * 6, 0.75, min_samples=5, unsure_frac=0.5)  # near the threshold
    assert turn_needed("enforce", sure, None, min_samples=5, unsure_frac=0.5)  # no detector loaded
