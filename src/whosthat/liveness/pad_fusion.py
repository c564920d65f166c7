"""Print-attack evidence of one challenge: the detector's score of frames sampled through it, fused by their mean.

The challenge offers every frame whose face is in range (`due`, `add`); one every `every_s` seconds is
scored, on the face mesh's box of that frame (mapped onto the detector's box convention by the detector:
`liveness.pad`), so the frame's own detection and crop are reused and no second detector runs. About
three frames a second are scored, so the evidence of a challenge is many frames, not one.

`pad_mode` (WHOSTHAT_PAD_MODE) decides what the evidence does: "off" never loads the detector, "warn"
records the score in the challenge's summary, "enforce" (the default) fails the challenge with
`print_attack` when the mean attack probability reaches the detector's threshold: during the challenge
once `min_samples` frames are scored, at its end on whatever was scored.

With each scored frame the conditions that make a live face look flat to the detector are measured (how
lit the face is, against its surroundings, and how big it is); `advice` names the one to fix when the
challenge is refused (`liveness.outcomes.ADVICE`).
"""

from __future__ import annotations

import numpy as np

PAD_MODES = ("off", "warn", "enforce")

# Conditions behind `advice` (640x480 frames, 8-bit luminance of the face box and of the frame around it).
DARK_FACE = 70.0  # mean face luminance below this: too dark
BACKLIGHT = 60.0  # surroundings brighter than the face by more than this: light from behind
FAR_FACE = 0.2  # face narrower than this fraction of the frame width (128 px of 640): too far
NEAR_FACE = 0.6  # wider than this: too close


def face_conditions(rgb: np.ndarray, box) -> tuple[float, float, float]:
    """(face luminance, surroundings luminance, face width / frame width) of the face at `box`."""
    h, w = rgb.shape[:2]
    left, top, right, bottom = (int(round(v)) for v in box)
    left, top, right, bottom = max(left, 0), max(top, 0), min(right, w), min(bottom, h)
    luma = rgb[::4, ::4] @ np.array([0.299, 0.587, 0.114], np.float32)
    inside = np.zeros(luma.shape, bool)
    inside[top // 4 : max(bottom // 4, top // 4 + 1), left // 4 : max(right // 4, left // 4 + 1)] = True
    face = float(luma[inside].mean()) if inside.any() else 0.0
    around = float(luma[~inside].mean()) if (~inside).any() else face
    return face, around, max(right - left, 0) / max(w, 1)


class FusedPadScore:
    """Scores of sampled frames (`add`), their mean, and whether they make the challenge an attack."""

    def __init__(self, mode: str, *, min_samples: int, every_s: float = 0.0):
        if mode not in PAD_MODES:
            raise ValueError("pad_mode must be off, warn or enforce")
        self.mode = mode
        self.min_samples = min_samples  # frames scored before an enforced check may fail early
        self.every_s = every_s  # at most one scored frame per this many seconds
        self.detector = None  # a liveness.pad detector, loaded with the first scored frame unless mode is off
        self.scores: list[float] = []
        self.conditions: list[tuple[float, float, float]] = []
        self._last_t: float | None = None

    def due(self, now: float) -> bool:
        """Whether a frame arriving at `now` should be scored (never when mode is off)."""
        return self.mode != "off" and (self._last_t is None or now - self._last_t >= self.every_s)

    def add(self, rgb: np.ndarray, mesh_box, now: float | None = None) -> None:
        """Score the face whose face-mesh landmark box (left, top, right, bottom in pixels) is `mesh_box`."""
        if self.mode == "off":
            return
        if self.detector is None:
            from whosthat.liveness.pad import get_pad_detector

            self.detector = get_pad_detector()
        self._last_t = now
        try:
            score = float(self.detector.attack_prob_mesh(rgb, mesh_box))
        except Exception:  # noqa: BLE001 - a PAD hiccup must not crash the session; it is only a signal
            return
        self.scores.append(score)
        self.conditions.append(face_conditions(rgb, mesh_box))

    @property
    def mean(self) -> float | None:
        """Mean attack probability of the scored frames, or None before the first."""
        return float(np.mean(self.scores)) if self.scores else None

    @property
    def threshold(self) -> float | None:
        return self.detector.threshold if self.detector is not None else None

    @property
    def model(self) -> str | None:
        return self.detector.name if self.detector is not None else None

    @property
    def flagged(self) -> bool:
        """The mean so far reaches the detector's threshold (whatever the mode)."""
        mean = self.mean
        return self.detector is not None and mean is not None and mean >= self.detector.threshold

    def fails(self, *, final: bool) -> bool:
        """An enforced attack. During the challenge only after `min_samples` scored frames (a first frame or
        two are noisy evidence); at its end (`final`) on every frame scored, however few."""
        needed = 1 if final else self.min_samples
        return self.mode == "enforce" and len(self.scores) >= needed and self.flagged

    def advice(self) -> str | None:
        """What would most help a live person whose face was refused: "dark", "backlit", "far", "near"
        (keys of liveness.outcomes.ADVICE), from the median conditions of the scored frames; None when
        none of them stands out."""
        if not self.conditions:
            return None
        face, around, width = np.median(np.array(self.conditions), axis=0)
        if width < FAR_FACE:
            return "far"
        if width > NEAR_FACE:
            return "near"
        if around - face > BACKLIGHT:
            return "backlit"
        if face < DARK_FACE:
            return "dark"
        return None
