"""FacePipeline: image in, one face's embedding out (or a reason why not).

decode (vision.image) -> detect (vision.detect) -> dominant-face rule -> 5-point landmarks ->
aligned chip -> quality rules -> embedding. `get_pipeline()` returns a cached instance built from the
settings, so models load once per process, lazily.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from whosthat.errors import MultipleFacesError, NoFaceError, QualityError
from whosthat.i18n import M_, Joined
from whosthat.vision.align import FaceAlignTransform, dlib_chip
from whosthat.vision.detect import Detection, get_detector
from whosthat.vision.embedders import DEFAULT_EMBEDDER, Embedder, embed_frame, get_embedder, looks_at_frame
from whosthat.vision.landmarks import get_landmarker
from whosthat.vision.quality import Quality, assess_quality
from whosthat.vision.reasons import MULTIPLE_FACES, NO_FACE

# A second face counts as "another person in front of the camera" when its box side is at least
# this fraction of the largest face's; smaller ones are people far behind and are ignored.
DOMINANCE_RATIO = 0.6


@dataclass
class FaceResult:
    """One face, measured and embedded.

    embedding: float32[dim] from `model`; detection: the detector's box; landmarks: dlib 5-point
    float[5, 2] in image pixels; chip: the embedder's aligned input (uint8, 150x150x3 for dlib);
    quality: the enrollment/login rules' measurements; timings: seconds per stage; alignment: how an
    embedder that looks at the photo placed its input ("yunet", or "chip-map" where YuNet found no face:
    `vision.sface.SFaceYuNetEmbedder`), None for the embedders that take the chip.
    """

    embedding: np.ndarray
    detection: Detection
    landmarks: np.ndarray
    chip: np.ndarray
    quality: Quality
    model: str
    timings: dict = field(default_factory=dict)
    alignment: str | None = None

    def to_dict(self) -> dict:
        return {"model": self.model, "detection": self.detection.to_dict(), "quality": self.quality.to_dict()}


#: embed_single's purposes: the kiosk's and API's rule, enrolment's rules, or none (research commands)
PURPOSES = ("login", "enroll", "research")


class FacePipeline:
    """detector name ("auto", "mediapipe", "hog"), embedder name, and mirror test-time augmentation."""

    def __init__(
        self, detector: str = "auto", embedder: str | Embedder = DEFAULT_EMBEDDER, flip: bool = False
    ):
        self.detector_name = detector
        self.detector = get_detector(detector)
        self.landmarker = get_landmarker()
        # A name from the zoo, or an embedder built by the caller (the fusion's calibration does that).
        self.embedder: Embedder = get_embedder(embedder, flip=flip) if isinstance(embedder, str) else embedder
        self.flip = flip
        self._align: FaceAlignTransform | None = None
        kind = self.embedder.input_kind
        if kind.startswith("aligned:"):
            _, size, how = kind.split(":")
            self._align = FaceAlignTransform(int(size), how)
        self._lock = threading.Lock()

    @property
    def model(self) -> str:
        return self.embedder.name

    @property
    def key(self) -> str:
        """Identifies everything that changes an embedding: for caches."""
        from whosthat.vision.detect import CALIBRATION_FILE

        calib = (
            hashlib.sha256(CALIBRATION_FILE.read_bytes()).hexdigest()[:12]
            if CALIBRATION_FILE.exists()
            else "none"
        )
        detector = getattr(self.detector, "cache_key", self.detector_name)
        embedder = getattr(self.embedder, "cache_key", self.embedder.name)
        return f"{detector}|{embedder}|flip={int(self.flip)}|calib={calib}"

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        """All faces, largest first."""
        return self.detector.detect(rgb)

    def dominant_face(self, detections: list[Detection]) -> Detection:
        """The one face a login or an enrollment is about; raise when there is none or several."""
        if not detections:
            raise NoFaceError(M_(NO_FACE))
        if len(detections) > 1 and detections[1].size >= DOMINANCE_RATIO * detections[0].size:
            raise MultipleFacesError(M_(MULTIPLE_FACES, num=len(detections)))
        return detections[0]

    def align(self, rgb: np.ndarray, detection: Detection) -> tuple[np.ndarray, np.ndarray]:
        """(landmarks float[5, 2], the embedder's chip)."""
        shape = self.landmarker.shape(rgb, detection)
        landmarks = np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float64)
        if self._align is not None:
            chip = self._align(rgb, detection.box, landmarks)
        else:
            chip = dlib_chip(rgb, shape)
        return landmarks, chip

    def embed_single(self, rgb: np.ndarray, purpose: str = "login") -> FaceResult:
        """Embed the one dominant face of `rgb`.

        purpose: "login" (size rule only), "enroll" (all quality rules; raises QualityError with
        every failed rule) or "research" (the dominant face whatever its size or quality, never raising
        on quality; `quality` is the enrolment assessment, for the caller to report). Raises
        NoFaceError / MultipleFacesError.
        """
        if purpose not in PURPOSES:
            raise ValueError(f"purpose must be one of {', '.join(PURPOSES)}")
        t0 = time.perf_counter()
        detection = self.dominant_face(self.detect(rgb))
        t1 = time.perf_counter()
        result = self.embed_detection(rgb, detection, purpose="enroll" if purpose == "research" else purpose)
        result.timings = {"detect": t1 - t0, **result.timings}
        if purpose == "enroll" and not result.quality.ok:
            raise QualityError(
                M_("photo not good enough: %(reasons)s", reasons=Joined(result.quality.reasons)),
                result.quality.reasons,
            )
        if purpose == "login" and not result.quality.ok:
            raise QualityError(result.quality.reasons[0], result.quality.reasons)
        return result

    def embed_detection(self, rgb: np.ndarray, detection: Detection, purpose: str = "login") -> FaceResult:
        """Embed a given detection (no dominance rule, no raising on quality)."""
        t0 = time.perf_counter()
        landmarks, chip = self.align(rgb, detection)
        t1 = time.perf_counter()
        alignment = None
        if looks_at_frame(self.embedder):
            embedding, notes = embed_frame(self.embedder, rgb, detection.box, chip)
            alignment = notes.get("alignment")
        else:
            embedding = self.embedder.embed(chip[None])[0]
        t2 = time.perf_counter()
        quality = assess_quality(
            detection.size, landmarks, chip if chip.shape[0] == 150 else dlib_chip_like(chip), purpose
        )
        return FaceResult(
            embedding=embedding,
            detection=detection,
            landmarks=landmarks,
            chip=chip,
            quality=quality,
            model=self.model,
            timings={"align": t1 - t0, "embed": t2 - t1},
            alignment=alignment,
        )

    def embed_all(self, rgb: np.ndarray) -> list[FaceResult]:
        """Every face in the image, largest first (for `whosthat embed` on group photos)."""
        return [self.embed_detection(rgb, d) for d in self.detect(rgb)]

    @property
    def chip_alignment(self) -> str | None:
        """How `embed_chips` places an embedder's input that is otherwise placed from the photo: the
        chip map ("chip-map"), a fallback the templates record; None for embedders that take the chip."""
        from whosthat.vision.sface import ALIGNED_CHIP_MAP

        return ALIGNED_CHIP_MAP if looks_at_frame(self.embedder) else None

    def embed_chips(self, chips: np.ndarray) -> np.ndarray:
        """Re-embed stored chips (uint8[N, 150, 150, 3]) with this pipeline's embedder (embedders that
        look at the photo fall back to their chip-map crop: `chip_alignment`)."""
        if self._align is not None:
            raise QualityError(f"{self.model} takes its own aligned crops, not stored dlib chips: re-enroll")
        return self.embedder.embed(np.asarray(chips, dtype=np.uint8))

    @staticmethod
    def distance(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.linalg.norm(np.asarray(a, np.float32) - np.asarray(b, np.float32)))


def dlib_chip_like(chip: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.resize(chip, (150, 150), interpolation=cv2.INTER_AREA)


@lru_cache(maxsize=8)
def _pipeline(detector: str, embedder: str, flip: bool) -> FacePipeline:
    return FacePipeline(detector=detector, embedder=embedder, flip=flip)


def get_pipeline(
    embedder: str | None = None, detector: str | None = None, flip: bool | None = None
) -> FacePipeline:
    """The shared pipeline; unspecified parts come from the settings (WHOSTHAT_DETECTOR, ...)."""
    from whosthat.config import get_settings

    s = get_settings()
    return _pipeline(detector or s.detector, embedder or s.embedder, s.flip_tta if flip is None else flip)
