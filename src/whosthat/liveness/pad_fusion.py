"""Print-attack evidence of one challenge: the detector's score of each key frame, fused by their mean.

`pad_mode` (WHOSTHAT_PAD_MODE) decides what the evidence does: "off" never loads the detector, "warn"
records the score in the challenge's summary, "enforce" fails the challenge with `print_attack` when
the mean attack probability reaches the detector's threshold.
"""

from __future__ import annotations

import numpy as np

PAD_MODES = ("off", "warn", "enforce")


class FusedPadScore:
    """Scores of the key frames (`add`), their mean, and whether they make the challenge an attack."""

    def __init__(self, mode: str, *, min_samples: int):
        if mode not in PAD_MODES:
            raise ValueError("pad_mode must be off, warn or enforce")
        self.mode = mode
        self.min_samples = min_samples  # key frames scored before an enforced check may fail early
        self.detector = None  # PrintAttackDetector, loaded with the first key frame unless mode is off
        self.scores: list[float] = []

    def add(self, rgb: np.ndarray, box) -> None:
        """Score the face at `box` (left, top, right, bottom in pixels) of the key frame `rgb`."""
        if self.mode == "off":
            return
        if self.detector is None:
            from whosthat.liveness.pad import get_pad_detector

            self.detector = get_pad_detector()
        try:
            self.scores.append(float(self.detector.attack_prob_box(rgb, box)))
        except Exception:  # noqa: BLE001 - a PAD hiccup must not crash the session; it is only a signal
            return

    @property
    def mean(self) -> float | None:
        """Mean attack probability of the scored key frames, or None before the first."""
        return float(np.mean(self.scores)) if self.scores else None

    @property
    def threshold(self) -> float | None:
        return self.detector.threshold if self.detector is not None else None

    @property
    def flagged(self) -> bool:
        """The mean so far reaches the detector's threshold (whatever the mode)."""
        mean = self.mean
        return self.detector is not None and mean is not None and mean >= self.detector.threshold

    def fails(self, *, final: bool) -> bool:
        """An enforced attack. During the challenge only after `min_samples` key frames (a first frame or
        two are noisy evidence); at its end (`final`) on every key frame scored, however few."""
        needed = 1 if final else self.min_samples
        return self.mode == "enforce" and len(self.scores) >= needed and self.flagged
