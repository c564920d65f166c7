"""One continuous face through a challenge: the rules that catch a face swapped or a face that left.

Three checks, each fed by the challenge as frames arrive (times in seconds, boxes in pixels as
(left, top, right, bottom) of the face mesh's landmarks):

- `FacePresence`: the face may not be missing for longer than `face_lost_s` while frames keep coming
  (a pause of the stream itself is `liveness.timing`'s business) -> `face_lost`;
- `BoxContinuity`: between two frames the box may only move and grow as far as a head moves -> `face_changed`;
- `KeyFrameIdentity`: the embeddings of key frames (start, each step, about once a second) must all lie
  within the match threshold of each other: two people are farther apart -> `face_changed`.

Each check returns a one-line reason when it fails (for the session's summary and log), else None.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


class FacePresence:
    """When the face was first seen, and whether it has been missing for too long."""

    def __init__(self, *, face_lost_s: float):
        self.face_lost_s = face_lost_s
        self.seen = False
        self.first_seen_t: float | None = None
        self._missing_since: float | None = None

    def absent(self, now: float) -> str | None:
        """A frame at `now` without a face; why the face counts as lost, else None."""
        if not self.seen:
            return None
        if self._missing_since is None:
            self._missing_since = now
        elif now - self._missing_since > self.face_lost_s:
            return f"no face for {now - self._missing_since:.2f} s"
        return None

    def present(self, now: float) -> str | None:
        """A frame at `now` with the face; why it came back too late, else None."""
        if self._missing_since is not None and now - self._missing_since > self.face_lost_s:
            return f"no face for {now - self._missing_since:.2f} s"
        self._missing_since = None
        self.seen = True
        if self.first_seen_t is None:
            self.first_seen_t = now
        return None

    def age_s(self, now: float) -> float:
        """Seconds since the face was first seen (call after `present`)."""
        return now - self.first_seen_t


class BoxContinuity:
    """The face box between consecutive frames with the face: a head moves, a swapped photo jumps.

    Allowed per frame: a centre jump of `jump_frac` face widths plus `jump_frac_per_s` face widths per
    second since the previous box, and a width ratio of `max_scale_change` x (1 + seconds since).
    """

    def __init__(self, *, jump_frac: float, jump_frac_per_s: float, max_scale_change: float):
        self.jump_frac = jump_frac
        self.jump_frac_per_s = jump_frac_per_s
        self.max_scale_change = max_scale_change
        self._last_box = None
        self._last_t: float | None = None

    def follow(self, box, now: float) -> str | None:
        """The face's box at `now`; why it cannot be the same face as the previous box, else None."""
        width = max(box[2] - box[0], 1.0)
        if self._last_box is not None:
            dt = now - self._last_t
            lb = self._last_box
            lw = max(lb[2] - lb[0], 1.0)
            jump = np.hypot((box[0] + box[2] - lb[0] - lb[2]) / 2, (box[1] + box[3] - lb[1] - lb[3]) / 2)
            allowed = max(width, lw) * (self.jump_frac + self.jump_frac_per_s * dt)
            scale = max(width / lw, lw / width)
            if jump > allowed or scale > self.max_scale_change * (1 + dt):
                return f"face box jumped {jump:.0f} px / scale x{scale:.2f} in {dt:.2f} s"
        self._last_box = box
        self._last_t = now
        return None


class KeyFrameIdentity:
    """Embeddings of the challenge's key frames; each new one must match every earlier one.

    `match_threshold` is the embedder's (the caller resolves it with `gallery.threshold`); distances
    above it are two people. `distance(a, b)` is the embedder's metric (`FacePipeline.distance`).
    """

    def __init__(self, match_threshold: float | None):
        self.match_threshold = match_threshold
        self.embeddings: list[tuple[float, np.ndarray]] = []  # (time in s, embedding)
        self.max_distance = 0.0

    def add(
        self, t: float, embedding: np.ndarray, distance: Callable[[np.ndarray, np.ndarray], float]
    ) -> str | None:
        """Keep the key frame taken at `t`; why it is another person than the earlier ones, else None."""
        threshold = self.match_threshold
        if threshold is None:
            raise ValueError("a ChallengeSession that embeds faces needs match_threshold")
        for _, earlier in self.embeddings:
            d = distance(earlier, embedding)
            self.max_distance = max(self.max_distance, d)
            if d > threshold:
                return f"embedding distance {d:.3f} > {threshold:.3f}"
        self.embeddings.append((t, embedding))
        return None

    def __len__(self) -> int:
        return len(self.embeddings)
