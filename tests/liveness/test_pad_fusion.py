"""Print-attack evidence fused over a challenge's sampled frames: off, warn and enforce, the sampling cadence,
and the advice given when a face is refused."""

from __future__ import annotations

import numpy as np
import pytest

import whosthat.liveness.pad as pad_module
from whosthat.liveness.pad_fusion import FusedPadScore

BOX = (10, 10, 60, 70)
FRAME = np.zeros((100, 100, 3), np.uint8)


class ScriptedDetector:
    """Stands in for the PrintAttackDetector: returns the given attack probabilities in turn."""

    threshold = 0.5

    def __init__(self, probs):
        self.probs = list(probs)

    name = "scripted"

    def attack_prob_mesh(self, rgb, mesh_box):
        value = self.probs.pop(0)
        if isinstance(value, Exception):
            raise value
        return value


@pytest.fixture
def detector(monkeypatch):
    def use(probs):
        det = ScriptedDetector(probs)
        monkeypatch.setattr(pad_module, "get_pad_detector", lambda name=None: det)
        return det

    return use


def test_off_never_loads_the_detector(monkeypatch):
    def refuse(name=None):
        raise AssertionError("pad_mode off must not load a print-attack model")

    monkeypatch.setattr(pad_module, "get_pad_detector", refuse)
    fused = FusedPadScore("off", min_samples=3)
    fused.add(FRAME, BOX)
    assert fused.mean is None and fused.threshold is None and not fused.flagged
    assert not fused.fails(final=True)


def test_enforce_waits_for_min_samples_during_the_challenge_but_not_at_its_end(detector):
    detector([0.9, 0.8, 0.7])
    fused = FusedPadScore("enforce", min_samples=3)
    fused.add(FRAME, BOX)
    assert fused.flagged and not fused.fails(final=False) and fused.fails(final=True)
    fused.add(FRAME, BOX)
    fused.add(FRAME, BOX)
    assert fused.mean == pytest.approx(0.8) and fused.fails(final=False)


def test_the_mean_decides_not_one_frame(detector):
    detector([0.9, 0.1, 0.2])
    fused = FusedPadScore("enforce", min_samples=3)
    for _ in range(3):
        fused.add(FRAME, BOX)
    assert fused.mean == pytest.approx(0.4) and not fused.flagged and not fused.fails(final=True)


def test_warn_flags_but_never_fails(detector):
    detector([0.9] * 3)
    fused = FusedPadScore("warn", min_samples=3)
    for _ in range(3):
        fused.add(FRAME, BOX)
    assert fused.flagged and fused.threshold == 0.5
    assert not fused.fails(final=False) and not fused.fails(final=True)


def test_a_detector_hiccup_is_skipped(detector):
    detector([RuntimeError("onnxruntime hiccup"), 0.2])
    fused = FusedPadScore("enforce", min_samples=1)
    fused.add(FRAME, BOX)
    fused.add(FRAME, BOX)
    assert fused.scores == [0.2]


def test_an_unknown_mode_is_rejected():
    with pytest.raises(ValueError, match="pad_mode"):
        FusedPadScore("strict", min_samples=3)


def test_frames_are_scored_at_most_once_per_interval(detector):
    detector([0.1] * 10)
    fused = FusedPadScore("warn", min_samples=3, every_s=0.3)
    scored = []
    for i in range(10):  # 10 fps for one second
        t = i / 10
        if fused.due(t):
            fused.add(FRAME, BOX, t)
            scored.append(t)
    assert scored == pytest.approx([0.0, 0.3, 0.6, 0.9])
    assert not FusedPadScore("off", min_samples=3, every_s=0.3).due(0.0)


@pytest.mark.parametrize(
    "frame,box,advice",
    [
        (np.full((480, 640, 3), 150, np.uint8), (270, 190, 370, 310), "far"),  # face 100 px wide of 640
        (np.full((480, 640, 3), 150, np.uint8), (60, 0, 560, 480), "near"),
        (np.full((480, 640, 3), 40, np.uint8), (220, 140, 420, 360), "dark"),
        (np.full((480, 640, 3), 150, np.uint8), (220, 140, 420, 360), None),
    ],
)
def test_advice_names_what_to_change(detector, frame, box, advice):
    detector([0.9] * 5)
    fused = FusedPadScore("enforce", min_samples=3)
    for _ in range(5):
        fused.add(frame, box)
    assert fused.advice() == advice


def test_advice_for_a_face_against_the_light(detector):
    frame = np.full((480, 640, 3), 230, np.uint8)  # a bright window behind
    frame[140:360, 220:420] = 100  # the face, in its shadow
    detector([0.9] * 3)
    fused = FusedPadScore("enforce", min_samples=3)
    for _ in range(3):
        fused.add(frame, (220, 140, 420, 360))
    assert fused.advice() == "backlit"
