"""The face detector MiniFASNet's crops were made for (RetinaFace, Caffe, Minivision's release), via OpenCV dnn.

Not a serving detector: the app crops MiniFASNet's input from the face-mesh box it already has on every
frame, mapped onto this detector's box convention (`whosthat.liveness.pad.BoxMap`). This module is the
reference that the mapping is fitted to and checked against (`whosthat eval pad`, `whosthat export
minifasnet`). Its files are not shipped: pass the folder that holds `deploy.prototxt` and
`Widerface-RetinaFace.caffemodel` (the `silent-face-anti-spoofing` folder of the shared models).

Convention (from the release's README): the detector runs on a copy of the frame scaled to about
192 x 192 pixels of area (aspect ratio kept), BGR, mean (104, 117, 123) subtracted, not scaled; the most
confident detection, in the full frame's pixels, is the box: left, top, width, height.
"""

from __future__ import annotations

import math
import threading
from pathlib import Path

import numpy as np

from whosthat.models.files import ModelFileError

PROTOTXT = "deploy.prototxt"
CAFFEMODEL = "Widerface-RetinaFace.caffemodel"
DETECT_AREA = 192 * 192
MEAN_BGR = (104.0, 117.0, 123.0)


class RetinaFaceReference:
    """`box(rgb)` -> (left, top, right, bottom) float pixels of the most confident face, or None."""

    def __init__(self, folder: str | Path, min_confidence: float = 0.6):
        import cv2

        folder = Path(folder)
        proto, weights = folder / PROTOTXT, folder / CAFFEMODEL
        for f in (proto, weights):
            if not f.is_file():
                raise ModelFileError(f"{f} is missing (the RetinaFace reference detector of MiniFASNet)")
        self.net = cv2.dnn.readNetFromCaffe(str(proto), str(weights))
        self.min_confidence = min_confidence
        self._lock = threading.Lock()

    def detections(self, rgb: np.ndarray) -> np.ndarray:
        """float[K, 5]: left, top, right, bottom (pixels), confidence; most confident first."""
        import cv2

        h, w = rgb.shape[:2]
        bgr = np.ascontiguousarray(rgb[:, :, ::-1])
        if w * h >= DETECT_AREA:
            aspect = w / h
            bgr = cv2.resize(
                bgr,
                (
                    int(math.sqrt(DETECT_AREA) * math.sqrt(aspect)),
                    int(math.sqrt(DETECT_AREA) / math.sqrt(aspect)),
                ),
                interpolation=cv2.INTER_LINEAR,
            )
        blob = cv2.dnn.blobFromImage(bgr, 1.0, mean=MEAN_BGR)
        with self._lock:
            self.net.setInput(blob, "data")
            out = self.net.forward("detection_out").reshape(-1, 7)
        out = out[np.argsort(-out[:, 2])]
        boxes = out[:, 3:7] * np.array([w, h, w, h], np.float32)
        return np.concatenate([boxes, out[:, 2:3]], axis=1)

    def box(self, rgb: np.ndarray) -> tuple[float, float, float, float] | None:
        det = self.detections(rgb)
        if len(det) == 0 or det[0, 4] < self.min_confidence:
            return None
        return tuple(float(v) for v in det[0, :4])
