"""Face detectors behind one small interface: `get_detector(name).detect(rgb) -> list[Detection]`.

- `mediapipe`: BlazeFace full-range (MediaPipe 0.10.21's bundled model), a few ms at 640x480. Its box
  is tighter and placed differently from dlib's, and dlib's 5-point predictor was trained on dlib
  boxes, so each box is mapped onto the dlib box convention (`calibrated_box`) before landmarks.
- `hog`: dlib's HOG + linear SVM detector, slower, used as the fallback when MediaPipe finds nothing.
- `auto` (the default pipeline's choice): MediaPipe, each box refined by HOG on a crop around it
  (HOG's box where HOG agrees), and HOG on the whole image if MediaPipe found no face.
- `auto-unrefined`: the same without the refinement (MediaPipe's mapped boxes as they are);
  `auto-upsample`: refinement at HOG's upsample 1 instead of a 100 px face (slower, no more accurate).

Boxes are (left, top, right, bottom) in pixels, floats, and may extend past the image border.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np

from whosthat.errors import UnknownModelError
from whosthat.models import SHIPPED_DIR

CALIBRATION_FILE = SHIPPED_DIR / "mediapipe_box_calibration.json"


@dataclass
class Detection:
    """One detected face.

    box: (left, top, right, bottom) in pixels of the image it was found in.
    score: detector confidence (MediaPipe: probability; HOG: SVM margin).
    keypoints: MediaPipe's 6 points (right eye, left eye, nose tip, mouth, right ear, left ear) in
    pixels as float[6, 2], or None for HOG.
    source: which detector produced it.
    """

    box: tuple[float, float, float, float]
    score: float
    keypoints: np.ndarray | None = None
    source: str = "hog"
    extra: dict = field(default_factory=dict)

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

    @property
    def size(self) -> float:
        """Geometric mean of width and height, in pixels."""
        return float(np.sqrt(max(self.width, 0) * max(self.height, 0)))

    @property
    def center(self) -> tuple[float, float]:
        return ((self.box[0] + self.box[2]) / 2, (self.box[1] + self.box[3]) / 2)

    def to_dict(self) -> dict:
        return {
            "box": [round(float(v), 1) for v in self.box],
            "score": round(float(self.score), 4),
            "source": self.source,
        }


class HogDetector:
    """dlib's frontal face detector (HOG). `upsample` doubles the image that many times first."""

    name = "hog"

    def __init__(self, upsample: int = 1, min_score: float = 0.2):
        import dlib

        self.upsample = upsample
        # dlib's default cut-off is 0.0; weak hits between 0 and 0.2 are mostly textures (badges,
        # patterns on clothes) and would trip the one-person rule.
        self.min_score = min_score
        self._detector = dlib.get_frontal_face_detector()
        self._lock = threading.Lock()

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        with self._lock:
            rects, scores, _ = self._detector.run(rgb, self.upsample, self.min_score)
        found = [
            Detection(
                box=(float(r.left()), float(r.top()), float(r.right()), float(r.bottom())),
                score=float(s),
                source="hog",
            )
            for r, s in zip(rects, scores, strict=True)
        ]
        return sorted(found, key=lambda d: -d.size)


class MediaPipeDetector:
    """MediaPipe BlazeFace, full range (faces up to about 5 m). Not thread-safe, hence the lock."""

    name = "mediapipe"

    def __init__(self, min_confidence: float = 0.5, full_range: bool = True, calibrate: bool = True):
        import mediapipe as mp

        self._solution = mp.solutions.face_detection.FaceDetection(
            model_selection=1 if full_range else 0, min_detection_confidence=min_confidence
        )
        self._lock = threading.Lock()
        self._calibration = load_box_calibration() if calibrate else None
        if not calibrate:
            self.name = "mediapipe-raw"

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        h, w = rgb.shape[:2]
        with self._lock:
            result = self._solution.process(np.ascontiguousarray(rgb))
        found = []
        for det in result.detections or []:
            rel = det.location_data.relative_bounding_box
            raw = (rel.xmin * w, rel.ymin * h, (rel.xmin + rel.width) * w, (rel.ymin + rel.height) * h)
            kps = np.array(
                [[k.x * w, k.y * h] for k in det.location_data.relative_keypoints], dtype=np.float64
            )
            found.append(
                Detection(
                    box=calibrated_box(raw, self._calibration),
                    score=float(det.score[0]),
                    keypoints=kps,
                    source="mediapipe",
                    extra={"raw_box": raw},
                )
            )
        return sorted(found, key=lambda d: -d.size)


HOG_FALLBACK_SIDE = 1024  # px: the whole-image HOG fallback runs on at most this longest side


class AutoDetector:
    """MediaPipe first (fast, finds small and turned faces); dlib HOG when it finds nothing.

    `refine=True` (the default pipeline) also re-detects each MediaPipe face with HOG on a small crop
    around it (resized so the face is about `face_px` wide, scanned at upsample 0; `face_px=None`: at
    upsample 1, slower) and, where HOG agrees (IoU >= `min_iou` with the mapped box), uses HOG's box: dlib's
    5-point predictor was trained on HOG boxes, and on LFW HOG's own boxes beat the mapped MediaPipe
    boxes (docs/benchmarks.md). Where HOG does not find the face (turned, small, dark) the mapped
    MediaPipe box stays, so refinement never loses a face.
    """

    def __init__(self, refine: bool = True, face_px: int | None = 100, min_iou: float = 0.4):
        self.primary = get_detector("mediapipe")
        self._hog: HogDetector | None = None
        self._hog_small: HogDetector | None = None
        self.refine = refine
        self.face_px = face_px
        self.min_iou = min_iou
        if not refine:
            # The cache key is the one "auto" had before refinement: its cached embeddings stay valid.
            self.name, self.cache_key = "auto-unrefined", "auto"
        elif face_px:
            self.name, self.cache_key = "auto", f"auto+hog-refine-{face_px}"
        else:
            self.name, self.cache_key = "auto-upsample", "auto+hog-refine"

    @property
    def hog(self) -> HogDetector:
        if self._hog is None:
            self._hog = get_detector("hog")
        return self._hog

    @property
    def hog_small(self) -> HogDetector:
        if self._hog_small is None:
            self._hog_small = HogDetector(upsample=0)
        return self._hog_small

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        found = self.primary.detect(rgb)
        if not found:
            return self.hog_fallback(rgb)
        if self.refine:
            found = sorted((self.refine_box(rgb, d) for d in found), key=lambda d: -d.size)
        return found

    def hog_fallback(self, rgb: np.ndarray) -> list[Detection]:
        """HOG (upsample 1) on the whole image when MediaPipe finds nothing, on at most
        HOG_FALLBACK_SIDE px a side: HOG at upsample 1 on a 2048 px photo costs seconds and hundreds
        of MB (a flood of faceless uploads would multiply that), and the smallest face it still finds
        there (about 80 px) is smaller than enrolment or login accept. Boxes are in `rgb`'s pixels."""
        import cv2

        h, w = rgb.shape[:2]
        scale = min(1.0, HOG_FALLBACK_SIDE / max(h, w))
        if scale >= 1.0:
            return self.hog.detect(rgb)
        small = cv2.resize(
            rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA
        )
        return [
            Detection(
                box=tuple(v / scale for v in d.box),
                score=d.score,
                keypoints=None if d.keypoints is None else d.keypoints / scale,
                source=d.source,
                extra={**d.extra, "fallback_scale": round(scale, 4)},
            )
            for d in self.hog.detect(small)
        ]

    def refine_box(self, rgb: np.ndarray, detection: Detection) -> Detection:
        """HOG's box for this face, found on a crop twice the face's size; the detection unchanged if
        HOG finds nothing there that overlaps it."""
        import cv2

        h, w = rgb.shape[:2]
        cx, cy = detection.center
        size = detection.size
        x0, y0 = max(0, int(cx - size)), max(0, int(cy - size))
        x1, y1 = min(w, int(np.ceil(cx + size))), min(h, int(np.ceil(cy + size)))
        if x1 - x0 < 16 or y1 - y0 < 16:
            return detection
        crop = np.ascontiguousarray(rgb[y0:y1, x0:x1])
        scale = 1.0
        if self.face_px:
            # Resize so the face is about `face_px` wide and scan at upsample 0 (80 px window): a crop of
            # about 2 x face_px squared, far fewer pixels than upsampling.
            scale = self.face_px / size
            interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
            crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=interpolation)
            hits = self.hog_small.detect(crop)
        else:
            # HOG's window is 80 px at upsample 0, 40 px at upsample 1: upsample small and medium faces
            # as a whole-image HOG run would (upsample 1), and shrink large ones to about 150 px first.
            if size > 150:
                scale = 150.0 / size
                crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            hits = self.hog.detect(crop)
        best, best_iou = None, self.min_iou
        for hit in hits:
            box = (
                hit.box[0] / scale + x0,
                hit.box[1] / scale + y0,
                hit.box[2] / scale + x0,
                hit.box[3] / scale + y0,
            )
            overlap = iou(box, detection.box)
            if overlap >= best_iou:
                best, best_iou = box, overlap
        if best is None:
            return detection
        return Detection(
            box=best,
            score=detection.score,
            keypoints=detection.keypoints,
            source="mediapipe+hog",
            extra={**detection.extra, "mapped_box": detection.box, "refine_iou": round(best_iou, 3)},
        )


def iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """Intersection over union of two (left, top, right, bottom) boxes."""
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def load_box_calibration(path: Path = CALIBRATION_FILE) -> dict | None:
    """The MediaPipe -> dlib box mapping fitted by `whosthat calibrate-boxes` (None: use raw boxes)."""
    if not path.exists():
        return None
    return json.loads(path.read_text())


def calibrated_box(
    raw: tuple[float, float, float, float], calibration: dict | None
) -> tuple[float, float, float, float]:
    """Map a MediaPipe box onto dlib's HOG box convention.

    The mapping is a shift of the centre and a scale of the size, each relative to the raw box size:
    centre' = centre + (dx, dy) * size, size' = scale * size. It is fitted on LFW images that no
    pairs.txt pair uses, so the evaluation never sees its own calibration data.
    """
    if not calibration:
        return raw
    left, top, right, bottom = raw
    size = float(np.sqrt(max(right - left, 1e-6) * max(bottom - top, 1e-6)))
    cx = (left + right) / 2 + calibration["dx"] * size
    cy = (top + bottom) / 2 + calibration["dy"] * size
    half_w = calibration["scale_w"] * size / 2
    half_h = calibration["scale_h"] * size / 2
    return (cx - half_w, cy - half_h, cx + half_w, cy + half_h)


DETECTORS = {
    "auto": AutoDetector,
    # MediaPipe's mapped boxes without HOG refinement (the default before refinement was measured).
    "auto-unrefined": lambda: AutoDetector(refine=False),
    # Refinement by HOG at upsample 1 on the crop (as a whole-image HOG run would): 3-4x slower, no better.
    "auto-upsample": lambda: AutoDetector(face_px=None),
    "mediapipe": MediaPipeDetector,
    "hog": HogDetector,
    # MediaPipe boxes as they come, not mapped onto dlib's convention: for the ablation in docs/benchmarks.md.
    "mediapipe-raw": lambda: MediaPipeDetector(calibrate=False),
}


@cache
def get_detector(name: str = "auto"):
    """A shared detector instance by name: "auto" (default), "auto-unrefined", "auto-upsample",
    "mediapipe", "hog" or "mediapipe-raw"."""
    try:
        factory = DETECTORS[name]
    except KeyError:
        raise UnknownModelError(f"unknown detector {name!r}; choose one of {', '.join(DETECTORS)}") from None
    return factory()
