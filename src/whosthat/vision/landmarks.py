"""dlib's 5-point face landmarks (two corners of each eye and the base of the nose).

The 5-point model (Apache-2.0-compatible, from the face-recognition-models package) is what
`dlib.get_face_chip` needs to build the 150x150 chip the dlib ResNet embedder was trained on. The
68-point model is non-commercial and deliberately not used.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

from whosthat.models.files import package_file
from whosthat.vision.detect import Detection

# dlib 5-point order: the two corners of the eye on the image's right (the person's left eye), the two
# corners of the eye on the image's left, then the base of the nose.
IMAGE_RIGHT_EYE = (0, 1)
IMAGE_LEFT_EYE = (2, 3)
NOSE = 4


def dlib_model_path(filename: str) -> Path:
    """Path to a file shipped by face-recognition-models(-ng) (found without importing the package)."""
    return package_file("face_recognition_models", f"models/{filename}")


class FivePointLandmarker:
    """`predict(rgb, detection) -> float[5, 2]` (x, y in pixels) and the dlib shape for chips."""

    def __init__(self):
        import dlib

        self._dlib = dlib
        self._predictor = dlib.shape_predictor(str(dlib_model_path("shape_predictor_5_face_landmarks.dat")))
        self._lock = threading.Lock()

    def shape(self, rgb: np.ndarray, detection: Detection):
        left, top, right, bottom = (int(round(v)) for v in detection.box)
        rect = self._dlib.rectangle(left, top, right, bottom)
        with self._lock:
            return self._predictor(rgb, rect)

    def predict(self, rgb: np.ndarray, detection: Detection) -> np.ndarray:
        shape = self.shape(rgb, detection)
        return np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float64)


def eye_centers(landmarks5: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(centre of the eye on the image's left, centre of the eye on the image's right)."""
    return landmarks5[list(IMAGE_LEFT_EYE)].mean(axis=0), landmarks5[list(IMAGE_RIGHT_EYE)].mean(axis=0)


@lru_cache(maxsize=1)
def get_landmarker() -> FivePointLandmarker:
    return FivePointLandmarker()
