"""Eye-state classifier at serve time: 24x24 gray eye patches (like CEW's) -> probability the eye is closed.

The model is a small CNN trained by `whosthat train eyes` (see `research/eyes.py`) and shipped as
`whosthat/models/eye_state.onnx`; this module runs it with onnxruntime on the CPU only.

Input convention shared by training and serving (`prepare_patches`): gray uint8 patches of any size
are resized to 24x24 and standardised per patch (zero mean, unit variance), which removes most of
the lighting difference between CEW photos and webcam frames.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from whosthat.liveness.onnx_model import OnnxProbabilityModel, load_by_name
from whosthat.models import SHIPPED_DIR

PATCH_SIZE = 24
DEFAULT_EYE_MODEL = SHIPPED_DIR / "eye_state.onnx"


def prepare_patches(patches: np.ndarray | list[np.ndarray]) -> np.ndarray:
    """Gray (or RGB) uint8 patches of any size -> float32[N, 1, 24, 24], standardised per patch."""
    import cv2

    out = np.empty((len(patches), 1, PATCH_SIZE, PATCH_SIZE), np.float32)
    for i, p in enumerate(patches):
        p = np.asarray(p)
        if p.ndim == 3:
            p = cv2.cvtColor(p, cv2.COLOR_RGB2GRAY) if p.shape[2] == 3 else p[..., 0]
        if p.shape != (PATCH_SIZE, PATCH_SIZE):
            interp = cv2.INTER_AREA if min(p.shape) > PATCH_SIZE else cv2.INTER_LINEAR
            p = cv2.resize(p, (PATCH_SIZE, PATCH_SIZE), interpolation=interp)
        x = p.astype(np.float32)
        out[i, 0] = (x - x.mean()) / (x.std() + 8.0)  # +8 keeps flat (featureless) patches near zero
    return out


class EyeStateClassifier(OnnxProbabilityModel):
    """`closed_prob(patches)` -> float32[N] in [0, 1]; patches are gray uint8 eye images of any size."""

    what = "eye-state"
    train_command = "whosthat train eyes"

    def __init__(self, path: str | Path = DEFAULT_EYE_MODEL):
        super().__init__(path)

    def closed_prob(self, patches) -> np.ndarray:
        return self._probabilities(patches, prepare_patches)


def get_eye_classifier(name: str | None = None) -> EyeStateClassifier:
    """The eye-state classifier called `name` in the zoo (default: settings.eye_model), cached.
    UnknownModelError when the zoo has no such eyes model."""
    from whosthat.config import get_settings

    return load_by_name(EyeStateClassifier, "eyes", name or get_settings().eye_model)
