"""Print-attack evidence fused over a challenge's key frames: off, warn and enforce."""

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

    def attack_prob_box(self, rgb, box):
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
