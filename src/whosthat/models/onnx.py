"""ONNX files of the project: their whosthat_* metadata and the one way to open an onnxruntime session.

Each `NAME.onnx` the project ships or exports carries metadata_props (docs/architecture.md):
`whosthat_name` (registry name), `whosthat_kind` (embedder, eyes, pad), `whosthat_input` (what it
takes), `whosthat_threshold` (its operating point) and `whosthat_card` (the model card beside it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


def onnx_session(model: bytes | str | Path, threads: int = 2):
    """An onnxruntime CPU session (the project's models are small; two threads suit a 2-core kiosk server)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    source = model if isinstance(model, bytes) else str(model)
    return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])


@dataclass
class OnnxModelInfo:
    """What an ONNX file says about itself: name, kind, input convention, threshold, card, all metadata."""

    name: str
    kind: str
    path: Path
    input: str
    threshold: float | None
    card: Path | None
    meta: dict


def read_onnx_info(path: Path) -> OnnxModelInfo:
    """Read whosthat_* metadata from an ONNX file without building a session."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    meta = {p.key: p.value for p in model.metadata_props}
    card = meta.get("whosthat_card")
    return OnnxModelInfo(
        name=meta.get("whosthat_name", path.stem),
        kind=meta.get("whosthat_kind", "unknown"),
        path=path,
        input=meta.get("whosthat_input", ""),
        threshold=float(meta["whosthat_threshold"]) if "whosthat_threshold" in meta else None,
        card=(path.parent / card) if card else None,
        meta=meta,
    )
