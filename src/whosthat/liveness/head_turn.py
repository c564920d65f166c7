"""Head turns over time: yaw away from the face's own frontal direction, then back to frontal.

Angles are degrees of head yaw from the face mesh (`liveness.mesh`: > 0 when the person turns to
*their* left). Cameras sit off-axis, so "frontal" is not 0 degrees but the face's own baseline: the
median yaw of its first frames. A flat photo moved or rotated in the image plane keeps its yaw (the
measure is a ratio along the eye line), so it never turns.
"""

from __future__ import annotations

from collections import deque

import numpy as np

# Sign of the relative yaw that each turn step asks for (liveness.mesh's convention).
TURN_SIGN = {"turn_left": 1.0, "turn_right": -1.0}


class HeadTurnDetector:
    """Feed the yaw per frame to `observe`; `update(step)` says when the asked-for turn is reached and done.

    A turn step is done when the yaw has gone past `turn_deg` from the baseline in the asked direction
    and then came back within `frontal_deg` of it. The baseline is the median of the last
    `history` yaws once the face has been seen for `baseline_after_s` seconds (at least 3 frames);
    before that every frame counts as frontal and no turn is possible.
    """

    def __init__(self, *, frontal_deg: float, turn_deg: float, baseline_after_s: float, history: int = 15):
        self.frontal_deg = frontal_deg
        self.turn_deg = turn_deg
        self.baseline_after_s = baseline_after_s
        self._yaws: deque[float] = deque(maxlen=history)
        self.baseline_deg: float | None = None
        self.relative_yaw_deg = 0.0
        self._reached = False

    def observe(self, yaw_deg: float, face_age_s: float) -> float:
        """This frame's yaw, `face_age_s` seconds after the face was first seen -> yaw relative to frontal."""
        self._yaws.append(yaw_deg)
        if self.baseline_deg is None and len(self._yaws) >= 3 and face_age_s >= self.baseline_after_s:
            self.baseline_deg = float(np.median(self._yaws))
        self.relative_yaw_deg = yaw_deg - (self.baseline_deg if self.baseline_deg is not None else yaw_deg)
        return self.relative_yaw_deg

    @property
    def frontal(self) -> bool:
        """The last observed frame looks at the camera (within frontal_deg of the baseline)."""
        return abs(self.relative_yaw_deg) <= self.frontal_deg

    def update(self, step: str) -> str | None:
        """Progress of turn step `step` ("turn_left" / "turn_right") on the last observed frame:
        "reached" when the head just got past turn_deg, "done" when it came back frontal after that."""
        if self.baseline_deg is None:
            return None
        if not self._reached and TURN_SIGN[step] * self.relative_yaw_deg >= self.turn_deg:
            self._reached = True
            return "reached"
        if self._reached and self.frontal:
            return "done"
        return None

    def reset(self) -> None:
        """Start the next turn (or redo this one) from frontal."""
        self._reached = False
