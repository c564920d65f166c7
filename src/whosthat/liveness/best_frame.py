"""Which frame of a challenge is recognised: the best frontal, eyes-open frame of the one continuous face.

Between two key frames the challenge keeps the best-scoring frame seen (`offer`); at a key frame it
takes that candidate (`take`), embeds it, and reports the result (`embedded`). The best embedded frame
is the one whose embedding the web route searches in the gallery once the challenge passed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def frame_score(relative_yaw_deg: float, pitch_deg: float, face_width_px: float) -> float:
    """Higher is better for recognition: looking at the camera (yaw from the face's frontal baseline and
    pitch, in degrees, cost 1 and 0.5 points each) and a big face (a point per 10 px of width, up to 250 px)."""
    return -abs(relative_yaw_deg) - abs(pitch_deg) * 0.5 + min(face_width_px, 250) / 10.0


@dataclass
class Candidate:
    score: float  # frame_score
    t: float  # the frame's time, seconds
    rgb: np.ndarray  # the frame itself, uint8[H, W, 3] (a copy: the caller may reuse its buffer)


class BestFrame:
    """The candidate frame since the last key frame, and the best embedded frame (`recognised`)."""

    def __init__(self):
        self.candidate: Candidate | None = None
        self._best = None  # (score, FaceResult)

    def offer(self, score: float, t: float, rgb: np.ndarray) -> None:
        """A frontal, eyes-open frame: kept when it beats the current candidate."""
        if self.candidate is None or score > self.candidate.score:
            self.candidate = Candidate(score, t, rgb.copy())

    def replace(self, score: float, t: float, rgb: np.ndarray) -> None:
        """This frame is the next key frame, whatever its score (the frame that completed a step)."""
        self.candidate = Candidate(score, t, rgb.copy())

    def take(self) -> Candidate:
        """The candidate, to embed now; the next one starts empty."""
        candidate, self.candidate = self.candidate, None
        return candidate

    def embedded(self, score: float, face) -> None:
        """The candidate of `score` was embedded as `face` (a FaceResult); ties go to the later frame."""
        if self._best is None or score >= self._best[0]:
            self._best = (score, face)

    @property
    def recognised(self):
        """FaceResult of the best embedded frame, or None."""
        return self._best[1] if self._best is not None else None

    def forget(self) -> None:
        """The challenge failed: nothing of it may be recognised."""
        self._best = None
