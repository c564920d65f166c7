"""Print-attack detector at serve time: face crop -> probability that the camera sees a printed photo.

Trained by `whosthat train pad` on NUAA (live webcam frames vs. printed-photo frames, see
`research/pad.py`) and shipped as `whosthat/models/pad.onnx`; run with onnxruntime on the CPU.
Presentation-attack detection (PAD) terms follow ISO/IEC 30107-3: APCER = attacks accepted as live,
BPCER = live faces rejected as attacks, ACER = their mean.

Crop convention shared by training and serving (`face_crop`): the face box, made square around its
centre and enlarged by CROP_SCALE (so some background and the photo's edge are in view), resized to
CROP_SIZE x CROP_SIZE RGB.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from whosthat.liveness.onnx_model import OnnxProbabilityModel, load_by_name
from whosthat.models import SHIPPED_DIR

CROP_SIZE = 64
CROP_SCALE = 1.6
DEFAULT_PAD_MODEL = SHIPPED_DIR / "pad.onnx"


def face_crop(rgb: np.ndarray, box, size: int = CROP_SIZE, scale: float = CROP_SCALE) -> np.ndarray:
    """uint8[size, size, 3]: the square around `box` (left, top, right, bottom), `scale` x its side."""
    import cv2

    left, top, right, bottom = (float(v) for v in box)
    cx, cy = (left + right) / 2, (top + bottom) / 2
    side = max(right - left, bottom - top) * scale
    zoom = size / max(side, 1.0)
    m = np.array([[zoom, 0, size / 2 - cx * zoom], [0, zoom, size / 2 - cy * zoom]], np.float64)
    return cv2.warpAffine(
        rgb,
        m,
        (size, size),
        flags=cv2.INTER_AREA if zoom < 1 else cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )


def prepare_crops(crops: np.ndarray) -> np.ndarray:
    """uint8[N, S, S, 3] RGB -> float32[N, 3, S, S] in [-1, 1]."""
    x = np.asarray(crops, np.float32).transpose(0, 3, 1, 2)
    return (x / 255.0 - 0.5) / 0.5


class PrintAttackDetector(OnnxProbabilityModel):
    """`attack_prob(crops)` -> float32[N]; `threshold` is the operating point chosen on validation data."""

    what = "print-attack"
    train_command = "whosthat train pad"

    def __init__(self, path: str | Path = DEFAULT_PAD_MODEL):
        super().__init__(path)
        self.crop_size = int(self.metadata.get("whosthat_crop_size", CROP_SIZE))
        self.crop_scale = float(self.metadata.get("whosthat_crop_scale", CROP_SCALE))

    def attack_prob(self, crops: np.ndarray) -> np.ndarray:
        return self._probabilities(crops, prepare_crops)

    def attack_prob_box(self, rgb: np.ndarray, box) -> float:
        crop = face_crop(rgb, box, self.crop_size, self.crop_scale)
        return float(self.attack_prob(crop[None])[0])


def get_pad_detector(name: str | None = None) -> PrintAttackDetector:
    """The print-attack detector called `name` in the zoo (default: settings.pad_model), cached.
    UnknownModelError when the zoo has no such pad model."""
    from whosthat.config import get_settings

    return load_by_name(PrintAttackDetector, "pad", name or get_settings().pad_model)
