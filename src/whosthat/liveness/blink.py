"""Blinks over time: fuse eye openness signals per frame, find open -> closed -> open with human timing.

Everything here works on timestamps (seconds), never on frame counts, so the same rules hold from
5 to 30 frames per second. With frames `dt` apart, a closed phase seen on frames t1..tk lasted at
least `tk - t1` and at most `t_open_after - t_open_before`; a blink is accepted when that interval
overlaps the human range [min_closed_s, max_closed_s].
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass


def ear_closed_prob(ear: float, open_baseline: float) -> float:
    """Closed probability from the eye aspect ratio relative to this face's open-eye EAR.

    People's open EAR differs (about 0.22-0.35), so the ratio to the session's own open level is used:
    ratio 1 -> ~0, 0.6 -> 0.5, 0.35 -> ~0.97.
    """
    if open_baseline <= 1e-6:
        return 0.0
    r = ear / open_baseline
    return 1.0 / (1.0 + math.exp(-(0.6 - r) / 0.07))


class OpenEarBaseline:
    """Running estimate of a face's open-eye EAR: a high percentile of recent EARs (blinks are brief)."""

    def __init__(self, window_s: float = 4.0, default: float = 0.28):
        self.window_s = window_s
        self.default = default
        self._values: deque[tuple[float, float]] = deque()

    def update(self, t: float, ear: float) -> float:
        self._values.append((t, ear))
        while self._values and t - self._values[0][0] > self.window_s:
            self._values.popleft()
        return self.value

    @property
    def value(self) -> float:
        if len(self._values) < 3:
            return max(self.default, max((e for _, e in self._values), default=0.0))
        ears = sorted(e for _, e in self._values)
        return ears[int(0.8 * (len(ears) - 1))]


def fuse_closed_prob(p_ear: float, p_model: float | None, model_weight: float = 0.6) -> float:
    """One closed probability from the EAR and the eye-state model (when there is one)."""
    if p_model is None:
        return p_ear
    return model_weight * p_model + (1.0 - model_weight) * p_ear


@dataclass
class BlinkEvent:
    t: float  # time the eye re-opened
    closed_min_s: float  # shortest closed duration consistent with the frames
    closed_max_s: float  # longest


class BlinkDetector:
    """Feed (t, closed_prob) per frame; `update` returns a BlinkEvent when a human blink just ended.

    Hysteresis: a frame is closed at p >= close_threshold, open at p <= open_threshold, and in between
    it changes nothing. A blink needs an open phase first (so a photo with closed eyes never blinks),
    then a closed phase of human length, then open again.
    """

    def __init__(
        self,
        *,
        close_threshold: float = 0.6,
        open_threshold: float = 0.4,
        min_closed_s: float = 0.1,
        max_closed_s: float = 0.7,
        max_gap_s: float = 0.6,
    ):
        self.close_threshold = close_threshold
        self.open_threshold = open_threshold
        self.min_closed_s = min_closed_s
        self.max_closed_s = max_closed_s
        self.max_gap_s = max_gap_s
        self.reset()

    def reset(self) -> None:
        self.state = "unknown"  # unknown | open | closed | closed_too_long
        self.last_t: float | None = None
        self.last_open_t: float | None = None
        self.closed_first_t: float | None = None
        self.closed_last_t: float | None = None
        self.rejected: list[str] = []  # why candidate closures were not blinks (for summaries / tests)

    def update(self, t: float, closed_prob: float) -> BlinkEvent | None:
        if self.last_t is not None and (t - self.last_t > self.max_gap_s or t < self.last_t):
            # Too long without a frame (or time went backwards): nothing before can be trusted.
            self.reset()
        self.last_t = t
        is_closed = closed_prob >= self.close_threshold
        is_open = closed_prob <= self.open_threshold

        if self.state == "unknown":
            if is_open:
                self.state, self.last_open_t = "open", t
            return None
        if self.state == "open":
            if is_closed:
                self.state, self.closed_first_t, self.closed_last_t = "closed", t, t
            elif is_open:
                self.last_open_t = t
            return None
        if self.state == "closed":
            if is_closed:
                self.closed_last_t = t
                if t - self.closed_first_t > self.max_closed_s:
                    self.state = "closed_too_long"
                    self.rejected.append("closed_too_long")
                return None
            if is_open:
                lo = self.closed_last_t - self.closed_first_t
                hi = t - self.last_open_t
                self.state, self.last_open_t = "open", t
                if hi < self.min_closed_s:
                    self.rejected.append("too_short")
                    return None
                if lo > self.max_closed_s:
                    self.rejected.append("closed_too_long")
                    return None
                return BlinkEvent(t=t, closed_min_s=lo, closed_max_s=hi)
            return None
        # closed_too_long: wait for the eye to open again, then start over.
        if is_open:
            self.state, self.last_open_t = "open", t
        return None
