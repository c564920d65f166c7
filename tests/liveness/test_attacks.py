"""Attacks and genuine sequences from real LFW photos, fed to ChallengeSession at 10 fps on a clock.

How the sequences are made (honestly): LFW has no video. Its deep-funneled photos are aligned (the
face sits at the same place and scale), so a person's photos held one after another look like one
continuous face to the box tracker. The "genuine" sequences are therefore slideshows of *real,
unedited* photos of one person:
- blink: Ari Fleischer with eyes open (LFW 0011) -> a photo of him with his eyes really closed
  (0012, found by the mesh's eye aspect ratio, checked by eye) for 0.3 s -> eyes open again;
- head turn: Tony Blair frontal (0058) -> head turned to his left (0054) -> frontal (0048) ->
  turned to his right (0071) -> frontal.
Such a slideshow is what a very careful attacker with several photos could also show: these tests
check that the server's logic accepts real eyelid and head changes and keeps one identity, not that
photo slideshows are impossible (that is the print-attack detector's job, see docs/models.md).
"""

from __future__ import annotations

import numpy as np
import pytest

from whosthat.liveness.challenge import ChallengeSession

from .liveness_frames import default_match_threshold, drive, moved, on_canvas


@pytest.fixture(scope="module")
def photos(lfw_root):
    from whosthat.vision.image import decode_image

    def load(name: str, n: int) -> np.ndarray:
        return on_canvas(decode_image(lfw_root / name / f"{name}_{n:04d}.jpg"))

    return {
        "ari_open": load("Ari_Fleischer", 11),
        "ari_open2": load("Ari_Fleischer", 7),
        "ari_closed": load("Ari_Fleischer", 12),
        "ari_enrolled": load("Ari_Fleischer", 2),
        "igor_open": load("Igor_Ivanov", 2),
        "igor_closed": load("Igor_Ivanov", 5),
        "tony_front": load("Tony_Blair", 58),
        "tony_front2": load("Tony_Blair", 48),
        "tony_left": load("Tony_Blair", 54),
        "tony_right": load("Tony_Blair", 71),
    }


@pytest.fixture(scope="module")
def pipeline():
    from whosthat.vision.pipeline import get_pipeline

    return get_pipeline()


def slideshow(plan):
    """plan: [(frame, seconds), ...] -> frame_at(t), holding the last frame after the plan ends."""
    ends = np.cumsum([s for _, s in plan])

    def frame_at(t: float):
        i = int(np.searchsorted(ends, t, side="right"))
        return plan[min(i, len(plan) - 1)][0]

    return frame_at


def test_genuine_blink_of_one_person_passes_and_is_recognised(photos, pipeline):
    s = ChallengeSession.create(
        "k",
        match_threshold=default_match_threshold(),
        steps=["blink"],
        timeout_s=8,
        pad_mode="off",
        pipeline=pipeline,
    )
    messages = drive(
        s, slideshow([(photos["ari_open"], 2.0), (photos["ari_closed"], 0.3), (photos["ari_open2"], 3.0)])
    )
    assert s.done and s.passed, s.summary()
    assert {"type": "progress", "completed": 1, "of": 1} in messages
    face = s.recognition()
    assert face is not None
    enrolled = pipeline.embed_single(photos["ari_enrolled"]).embedding
    stranger = pipeline.embed_single(photos["igor_open"]).embedding
    assert pipeline.distance(face.embedding, enrolled) < default_match_threshold()
    assert pipeline.distance(face.embedding, stranger) > default_match_threshold()
    assert s.summary()["blinks"] == 1


def test_adaptive_challenge_asks_for_a_turn_after_the_blink_when_unsure(photos, pipeline):
    """One blink first; with no print-attack evidence (pad off) the server is unsure and adds a turn,
    which a person who only blinks does not do: no_head_turn, with the turn prompted in their frame."""
    s = ChallengeSession.create(
        "k",
        match_threshold=default_match_threshold(),
        adaptive=True,
        step_kinds=("blink", "turn_left", "turn_right"),
        timeout_s=8,
        pad_mode="off",
        pipeline=pipeline,
    )
    assert s.steps == ["blink"]
    messages = drive(
        s, slideshow([(photos["ari_open"], 2.0), (photos["ari_closed"], 0.3), (photos["ari_open2"], 6.0)])
    )
    assert s.adapted and len(s.steps) == 2 and s.steps[1] in ("turn_left", "turn_right")
    assert {"type": "progress", "completed": 1, "of": 2} in messages
    prompt = [m for m in messages if m["type"] == "prompt" and m["step"] == 1]
    assert prompt and prompt[0]["kind"] == s.steps[1] and "your" in prompt[0]["instruction"]
    assert s.done and not s.passed and s.reason == "no_head_turn"
    assert s.summary()["adapted"] is True


def test_closed_phase_too_long_is_not_a_blink(photos, pipeline):
    s = ChallengeSession.create(
        "k",
        match_threshold=default_match_threshold(),
        steps=["blink"],
        timeout_s=5,
        pad_mode="off",
        pipeline=pipeline,
    )
    drive(s, slideshow([(photos["ari_open"], 1.5), (photos["ari_closed"], 1.5), (photos["ari_open2"], 3.0)]))
    assert s.done and not s.passed and s.reason == "no_blink"


def test_still_photo_of_enrolled_person_fails(photos, pipeline):
    s = ChallengeSession.create(
        "k",
        match_threshold=default_match_threshold(),
        steps=["blink", "turn_left"],
        timeout_s=4,
        pad_mode="off",
        pipeline=pipeline,
    )
    drive(s, lambda t: photos["ari_open"])
    assert s.done and not s.passed and s.reason == "no_blink"
    assert s.recognition() is None


def test_photo_of_enrolled_person_moved_and_rotated_fails(photos, pipeline):
    s = ChallengeSession.create(
        "k",
        match_threshold=default_match_threshold(),
        steps=["turn_right", "blink"],
        timeout_s=5,
        pad_mode="off",
        pipeline=pipeline,
    )
    drive(s, lambda t: moved(photos["ari_open"], t))
    assert s.done and not s.passed and s.reason in {"no_head_turn", "face_changed", "face_lost"}
    assert s.step_index == 0


def test_face_swapped_mid_challenge_fails(photos, pipeline):
    """Ari looks at the camera, then Igor (aligned at the same place) really blinks: the blink must not count."""
    s = ChallengeSession.create(
        "k",
        match_threshold=default_match_threshold(),
        steps=["blink"],
        timeout_s=8,
        pad_mode="off",
        pipeline=pipeline,
    )
    drive(
        s,
        slideshow(
            [
                (photos["ari_open"], 1.5),
                (photos["igor_open"], 1.5),
                (photos["igor_closed"], 0.3),
                (photos["igor_open"], 1.0),
                (photos["ari_open"], 3.0),
            ]
        ),
    )
    assert s.done and not s.passed and s.reason == "face_changed"
    assert s.summary()["max_embedding_distance"] > default_match_threshold()


def test_genuine_head_turns_pass(photos, pipeline):
    s = ChallengeSession.create(
        "k",
        match_threshold=default_match_threshold(),
        steps=["turn_left", "turn_right"],
        timeout_s=12,
        pad_mode="off",
        pipeline=pipeline,
    )
    drive(
        s,
        slideshow(
            [
                (photos["tony_front"], 2.0),
                (photos["tony_left"], 0.8),
                (photos["tony_front2"], 1.5),
                (photos["tony_right"], 0.8),
                (photos["tony_front"], 3.0),
            ]
        ),
    )
    assert s.done and s.passed, s.summary()
    assert s.recognition() is not None


def test_head_turn_the_wrong_way_does_not_count(photos, pipeline):
    s = ChallengeSession.create(
        "k",
        match_threshold=default_match_threshold(),
        steps=["turn_right"],
        timeout_s=5,
        pad_mode="off",
        pipeline=pipeline,
    )
    drive(
        s, slideshow([(photos["tony_front"], 2.0), (photos["tony_left"], 0.8), (photos["tony_front2"], 5.0)])
    )
    assert s.done and not s.passed and s.reason == "no_head_turn"
