"""Enrollment quality rules. Each failed rule gives a reason a person can act on.

A template taken from a small, blurred, dark or turned face makes every later login worse, so
enrollment rejects such photos; login only needs the face to be large enough to recognise.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import cv2
import numpy as np

from whosthat.i18n import M_, Message
from whosthat.vision.landmarks import NOSE, eye_centers
from whosthat.vision.reasons import REASONS

# Smallest face (detector box side, pixels) accepted at enrollment / at login.
MIN_FACE_PX_ENROLL = 80
MIN_FACE_PX_LOGIN = 50
# Variance of the Laplacian of the 150x150 chip's gray levels; LFW's sharp photos score several hundred,
# clearly out-of-focus faces under 40.
MIN_SHARPNESS = 40.0
# |yaw| above this (degrees, estimated from the nose's offset between the eyes) is "not frontal".
MAX_YAW_DEG = 25.0
MAX_ROLL_DEG = 30.0
MIN_BRIGHTNESS, MAX_BRIGHTNESS = 40.0, 225.0


def reason(code: str, **values) -> Message:
    """The marked message of a failed rule (REASONS), which also knows its `code`."""
    message = M_(REASONS[code], **values)
    message.code = code
    return message


@dataclass
class Quality:
    """What the quality rules measured; `reasons` is empty when the face is good enough."""

    face_px: float
    sharpness: float
    yaw_deg: float
    roll_deg: float
    brightness: float
    score: float
    reasons: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.reasons

    def to_dict(self) -> dict:
        out = asdict(self)
        for k, v in out.items():
            if isinstance(v, float):
                out[k] = round(v, 2)
        out["ok"] = self.ok
        return out


def estimate_yaw_roll(landmarks5: np.ndarray) -> tuple[float, float]:
    """(yaw, roll) in degrees from dlib 5-point landmarks. Yaw > 0: the face turns to the image's left.

    In the eye-line frame the nose base of a frontal face sits under the eyes' midpoint; its sideways
    offset relative to half the eye distance approximates sin(yaw) for a head of average depth.
    """
    image_left, image_right = eye_centers(landmarks5)
    axis = image_right - image_left
    eye_dist = float(np.linalg.norm(axis)) or 1.0
    roll = float(np.degrees(np.arctan2(axis[1], axis[0])))
    unit = axis / eye_dist
    offset = float(np.dot(landmarks5[NOSE] - (image_left + image_right) / 2, unit))
    ratio = np.clip(offset / (eye_dist / 2) / 0.9, -1.0, 1.0)
    return float(np.degrees(np.arcsin(ratio))), roll


def sharpness_of(chip: np.ndarray) -> float:
    gray = cv2.cvtColor(chip, cv2.COLOR_RGB2GRAY)
    # The central part only: background texture must not count as a sharp face.
    h, w = gray.shape
    core = gray[h // 6 : h - h // 6, w // 6 : w - w // 6]
    return float(cv2.Laplacian(core, cv2.CV_64F).var())


def assess_quality(
    face_px: float, landmarks5: np.ndarray, chip: np.ndarray, purpose: str = "enroll"
) -> Quality:
    """Measure a face and list what is wrong with it for `purpose` ("enroll" or "login")."""
    yaw, roll = estimate_yaw_roll(landmarks5)
    sharp = sharpness_of(chip)
    bright = float(cv2.cvtColor(chip, cv2.COLOR_RGB2GRAY)[30:120, 30:120].mean())
    reasons: list[str] = []
    min_px = MIN_FACE_PX_ENROLL if purpose == "enroll" else MIN_FACE_PX_LOGIN
    if face_px < min_px:
        # whole pixels rounded down: a 49.6 px face is "49 px, need 50", never "50 px, need 50"
        reasons.append(reason("face_too_small", size=math.floor(face_px), need=min_px))
    if purpose == "enroll":
        if sharp < MIN_SHARPNESS:
            reasons.append(reason("too_blurry", sharpness=round(sharp), need=round(MIN_SHARPNESS)))
        if abs(yaw) > MAX_YAW_DEG:
            reasons.append(reason("not_frontal", degrees=round(abs(yaw))))
        if abs(roll) > MAX_ROLL_DEG:
            reasons.append(reason("tilted", degrees=round(abs(roll))))
        if bright < MIN_BRIGHTNESS:
            reasons.append(reason("too_dark"))
        elif bright > MAX_BRIGHTNESS:
            reasons.append(reason("overexposed"))
    score = float(
        np.clip(face_px / 160, 0, 1) * 0.3
        + np.clip(sharp / 300, 0, 1) * 0.3
        + (1 - np.clip(abs(yaw) / 45, 0, 1)) * 0.3
        + (0.1 if MIN_BRIGHTNESS <= bright <= MAX_BRIGHTNESS else 0.0)
    )
    return Quality(
        face_px=float(face_px),
        sharpness=sharp,
        yaw_deg=yaw,
        roll_deg=roll,
        brightness=bright,
        score=score,
        reasons=reasons,
    )
