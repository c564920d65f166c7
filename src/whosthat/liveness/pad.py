"""Print-attack detectors at serve time: a face on a frame -> probability that the camera sees a printed photo.

Presentation-attack detection (PAD) terms follow ISO/IEC 30107-3: APCER = attacks accepted as live,
BPCER = live faces rejected as attacks, ACER = their mean. Two kinds of model, both ONNX files in the
zoo (kind `pad`), both run with onnxruntime on the CPU, both answering `attack_prob_box(rgb, box)` for a
box in their own convention and `attack_prob_mesh(rgb, mesh_box)` for the face mesh's landmark box (what
the challenge has on every frame), mapped onto that convention first:

- `PrintAttackDetector` (pad-nuaa-cnn, `pad.onnx`): the project's own CNN, trained by `whosthat train pad`
  on NUAA (`research/pad.py`). Crop (`face_crop`): the MediaPipe detector's box (dlib convention), made
  square around its centre and enlarged by CROP_SCALE, resized to CROP_SIZE x CROP_SIZE RGB.
- `MiniFASNetDetector` (pad-minifasnet, `pad-minifasnet.onnx`): Minivision's two MiniFASNet networks
  (Apache-2.0 weights, ported in `research/minifasnet.py`) in one graph. Crops (`minifas_crop`): 2.7x
  and 4.0x the box of the RetinaFace detector they were trained with, 80x80, BGR 0-255.

The mesh box is mapped onto each convention with `vision.detect.calibrated_box` and the maps in
MESH_BOX_MAPS (`whosthat calibrate-boxes --mesh`, fitted on NUAA frames of training-side subjects, where
the face mesh and each detector ran on the same frame), so the challenge never runs a second detector.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np

from whosthat.liveness.onnx_model import OnnxProbabilityModel, load_by_name
from whosthat.models import SHIPPED_DIR, zoo

CROP_SIZE = 64
CROP_SCALE = 1.6
DEFAULT_PAD_MODEL = SHIPPED_DIR / "pad.onnx"
MINIFASNET_MODEL = SHIPPED_DIR / "pad-minifasnet.onnx"
MESH_BOX_MAPS = SHIPPED_DIR / "mesh_box_maps.json"
# The box convention a pad model was trained on (metadata `whosthat_box`; pad.onnx predates the key).
DEFAULT_BOX_CONVENTION = "mediapipe"
MINIFASNET_INPUT = "minifasnet"  # the start of a MiniFASNet model's `whosthat_input`


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


def minifas_crop(rgb: np.ndarray, box, scale: float, size: int = 80) -> np.ndarray:
    """uint8[size, size, 3]: MiniFASNet's crop of `box` (left, top, right, bottom, RetinaFace's convention).

    The box's width and height are each multiplied by `scale` (less when that would not fit in the frame),
    the rectangle is centred on the box and shifted inwards where it crosses the frame's edge, and resized
    to size x size without keeping its aspect ratio, as the released models were trained.
    """
    import cv2

    h, w = rgb.shape[:2]
    left, top, right, bottom = (float(v) for v in box)
    bw, bh = max(right - left, 1.0), max(bottom - top, 1.0)
    scale = min((h - 1) / bh, (w - 1) / bw, scale)
    cw, ch = bw * scale, bh * scale
    x0 = (left + right) / 2 - cw / 2
    y0 = (top + bottom) / 2 - ch / 2
    x0 = min(max(x0, 0.0), w - 1 - cw)
    y0 = min(max(y0, 0.0), h - 1 - ch)
    x0, y0, x1, y1 = int(x0), int(y0), int(x0 + cw), int(y0 + ch)
    return cv2.resize(rgb[y0 : y1 + 1, x0 : x1 + 1], (size, size), interpolation=cv2.INTER_LINEAR)


def minifas_input(rgb: np.ndarray, box, scales: tuple[float, ...], size: int = 80) -> np.ndarray:
    """float32[3 x len(scales), size, size]: MiniFASNet's crops of `box` at each scale, BGR 0-255, channels first."""
    both = np.concatenate([minifas_crop(rgb, box, s, size) for s in scales], axis=2)
    bgr = [c for k in range(len(scales)) for c in (3 * k + 2, 3 * k + 1, 3 * k)]
    return both[:, :, bgr].transpose(2, 0, 1).astype(np.float32)


@cache
def mesh_box_maps(path: Path = MESH_BOX_MAPS) -> dict:
    """{convention: {"dx", "dy", "scale_w", "scale_h", ...}}: face-mesh box -> each detector's box."""
    return json.loads(Path(path).read_text())["maps"]


def box_from_mesh(mesh_box, convention: str) -> tuple[float, float, float, float]:
    """The box the detector of `convention` would give for the face whose mesh landmark box is `mesh_box`."""
    from whosthat.errors import UnknownModelError
    from whosthat.vision.detect import calibrated_box

    maps = mesh_box_maps()
    if convention not in maps:
        raise UnknownModelError(f"no face-mesh box map for {convention!r}; known: {', '.join(maps)}")
    return calibrated_box(mesh_box, maps[convention])


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
        self.box_convention = self.metadata.get("whosthat_box", DEFAULT_BOX_CONVENTION)

    def attack_prob(self, crops: np.ndarray) -> np.ndarray:
        return self._probabilities(crops, prepare_crops)

    def attack_prob_box(self, rgb: np.ndarray, box) -> float:
        crop = face_crop(rgb, box, self.crop_size, self.crop_scale)
        return float(self.attack_prob(crop[None])[0])

    def attack_prob_mesh(self, rgb: np.ndarray, mesh_box) -> float:
        return self.attack_prob_box(rgb, box_from_mesh(mesh_box, self.box_convention))


class MiniFASNetDetector(OnnxProbabilityModel):
    """Both MiniFASNet networks in one ONNX call.

    Input `crops` float32[N, 6, 80, 80]: channels 0-2 the crop at the first scale of `whosthat_input`
    (2.7x the RetinaFace box), 3-5 the crop at the second (4.0x), each BGR 0-255. Output `attack_probs`
    float32[N, 3]: 1 - the real-class probability of the two networks' mean softmax, of MiniFASNetV2, of
    MiniFASNetV1SE (SCORE_COLUMNS). `whosthat_score` names the column the model's threshold is for.
    """

    what = "print-attack"
    train_command = "whosthat export <MiniFASNet weights folder>"
    SCORE_COLUMNS = ("fused", "v2", "v1se")

    def __init__(self, path: str | Path):
        super().__init__(path)
        # whosthat_input: "minifasnet:80:bgr255:scales=2.7,4.0"
        fields = dict(f.split("=", 1) for f in self.metadata.get("whosthat_input", "").split(":") if "=" in f)
        self.crop_size = int(self.metadata.get("whosthat_input", "minifasnet:80").split(":")[1])
        self.scales = tuple(float(v) for v in fields.get("scales", "2.7,4.0").split(","))
        self.box_convention = self.metadata.get("whosthat_box", "retinaface-caffe")
        self.column = self.SCORE_COLUMNS.index(self.metadata.get("whosthat_score", "fused"))

    def crops(self, rgb: np.ndarray, box) -> np.ndarray:
        """float32[6, S, S]: the two crops of `box` (this model's convention), BGR 0-255, channels first."""
        return minifas_input(rgb, box, self.scales, self.crop_size)

    def attack_probs(self, batch: np.ndarray) -> np.ndarray:
        """float32[N, 3] (SCORE_COLUMNS) for a batch of `crops` float32[N, 6, S, S]."""
        if len(batch) == 0:
            return np.zeros((0, len(self.SCORE_COLUMNS)), np.float32)
        with self._lock:
            (probs,) = self.session.run(None, {self.input_name: np.ascontiguousarray(batch, np.float32)})
        return np.asarray(probs, np.float32)

    def attack_prob_box(self, rgb: np.ndarray, box) -> float:
        return float(self.attack_probs(self.crops(rgb, box)[None])[0, self.column])

    def attack_prob_mesh(self, rgb: np.ndarray, mesh_box) -> float:
        return self.attack_prob_box(rgb, box_from_mesh(mesh_box, self.box_convention))


def pad_class(info) -> type:
    """The detector class for a pad model's ONNX metadata (`models.onnx.OnnxModelInfo`)."""
    return MiniFASNetDetector if info.input.startswith(MINIFASNET_INPUT) else PrintAttackDetector


def open_pad_model(path: str | Path):
    """The print-attack detector in the ONNX file at `path` (either kind), not cached."""
    from whosthat.errors import BadInputError
    from whosthat.models.onnx import read_onnx_info

    path = Path(path)
    if not path.is_file():
        raise BadInputError(f"print-attack model not found: {path}")
    return pad_class(read_onnx_info(path))(path)


def get_pad_detector(name: str | None = None) -> PrintAttackDetector | MiniFASNetDetector:
    """The print-attack detector called `name` in the zoo (default: settings.pad_model), cached.
    UnknownModelError when the zoo has no such pad model."""
    from whosthat.config import get_settings

    name = name or get_settings().pad_model
    return load_by_name(pad_class(zoo.find(name, "pad").onnx), "pad", name)
