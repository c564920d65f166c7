"""ONNX files of the project: their whosthat_* metadata and the one way to open an onnxruntime session.

Each `NAME.onnx` the project ships or exports carries metadata_props (docs/architecture.md):
`whosthat_name` (registry name), `whosthat_kind` (embedder, eyes, pad), `whosthat_input` (what it
takes), `whosthat_threshold` (its operating point) and `whosthat_card` (the model card beside it).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

#: The one intra-op thread pool every session of the process shares (`onnx_session`): two threads suit
#: the 2-core kiosk server.
POOL_THREADS = 2


@lru_cache(maxsize=1)
def _shared_pool() -> None:
    """Size the process's global onnxruntime thread pool, once (before the first session)."""
    from onnxruntime.capi import _pybind_state

    _pybind_state.set_global_thread_pool_sizes(POOL_THREADS, 1)


def onnx_session(model: bytes | str | Path):
    """An onnxruntime CPU session on the process's shared thread pool (POOL_THREADS threads).

    One pool for every session, not one per session: a request runs several networks one after another
    (dlib, SFace, the liveness models), and each session's own pool kept spinning after its run, taking
    the two cores from the next one (dlib+sface-yunet's embed stage 60.5 ms median with a pool per
    session, 29.6 ms with one shared pool; per-session pools that do not spin gave 33.9 ms but slowed
    SFace alone from 12.4 to 16.6 ms: docs/benchmarks.md, "Latency" under "Recognition across populations")."""
    import onnxruntime as ort

    _shared_pool()
    options = ort.SessionOptions()
    options.use_per_session_threads = False
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


def fold_weight_graph(model, batch_dim: str | None = "N"):
    """Rewrite an ONNX model whose weights are declared as graph inputs into one onnxruntime runs.

    OpenCV Zoo's int8 "block-quantised" files (SFace, YuNet) list every weight among the graph inputs
    and compute the float weights inside the graph (`DequantizeLinear` of an int8 initializer, then a
    `Reshape`), while the convolutions' declared float weight inputs are left dangling. onnxruntime
    then insists on being fed those inputs. This rewrite, done once in memory:
    - evaluates every `DequantizeLinear` (and a `Reshape` right after it) whose operands are all
      initializers, in numpy, and stores the float result as an initializer (dequantised once, not
      on every call);
    - keeps only the graph inputs that are not initializers and that some node reads;
    - with `batch_dim`, makes the first dimension of the inputs and outputs symbolic, so that a
      batch of faces runs in one call.
    Returns a new ModelProto; the file on disk is not touched.
    """
    import onnx
    from onnx import numpy_helper

    model = onnx.ModelProto.FromString(model.SerializeToString())
    graph = model.graph
    values = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    folded: dict[str, np.ndarray] = {}
    kept_nodes = []
    for node in graph.node:
        if node.op_type == "DequantizeLinear" and all(i in values or i in folded for i in node.input if i):
            operands = [folded.get(i, values.get(i)) for i in node.input]
            attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
            folded[node.output[0]] = dequantize_linear(*operands, **attrs)
        elif node.op_type == "Reshape" and node.input[0] in folded and node.input[1] in values:
            folded[node.output[0]] = folded[node.input[0]].reshape(values[node.input[1]])
        else:
            kept_nodes.append(node)
    read = {name for node in kept_nodes for name in node.input}
    survivors = [t for t in graph.initializer if t.name in read]
    extra = [
        numpy_helper.from_array(a.astype(np.float32), name) for name, a in folded.items() if name in read
    ]
    del graph.node[:]
    graph.node.extend(kept_nodes)
    del graph.initializer[:]
    graph.initializer.extend(survivors + extra)
    initialized = {t.name for t in graph.initializer}
    inputs = [i for i in graph.input if i.name not in initialized and i.name in read]
    del graph.input[:]
    graph.input.extend(inputs)
    if batch_dim:
        for value in [*graph.input, *graph.output]:
            dims = value.type.tensor_type.shape.dim
            if dims:
                dims[0].ClearField("dim_value")
                dims[0].dim_param = batch_dim
    del graph.value_info[:]  # shapes inferred for batch 1 would contradict the symbolic batch
    return model


def dequantize_linear(
    x, scale, zero_point=None, axis: int = 1, block_size: int = 0, **_ignored
) -> np.ndarray:
    """ONNX DequantizeLinear in numpy: (x - zero_point) * scale, per tensor, per axis or per block."""
    x = np.asarray(x).astype(np.float32)
    scale = np.asarray(scale, np.float32)
    zero = np.zeros_like(scale) if zero_point is None else np.asarray(zero_point).astype(np.float32)
    if scale.ndim == 0 or scale.size == 1:
        return (x - zero.reshape(())) * scale.reshape(())
    axis = axis % x.ndim
    if block_size:
        scale = np.repeat(scale, block_size, axis=axis).take(range(x.shape[axis]), axis=axis)
        zero = np.repeat(zero, block_size, axis=axis).take(range(x.shape[axis]), axis=axis)
    else:
        shape = [1] * x.ndim
        shape[axis] = -1
        scale, zero = scale.reshape(shape), zero.reshape(shape)
    return (x - zero) * scale


def prelu_as_depthwise(model):
    """Rewrite every per-channel PRelu of an NCHW graph as Relu, two 1x1 depthwise convolutions and an
    Add, which compute the same function:

        PRelu(c) = slope * c + (1 - slope) * Relu(c)      (per channel)

    Why: onnxruntime's CPU PRelu is a generic broadcasting kernel outside its blocked (NCHWc) layout,
    so every Conv -> PRelu in a MobileFaceNet such as SFace costs the PRelu itself plus a layout
    reorder on each side (about half of SFace's time on this project's 2-core machine). Relu,
    depthwise 1x1 convolutions and an Add stay in the blocked layout (the Add is fused into the
    second convolution), which halves SFace's latency. The result equals the PRelu graph to float
    rounding (`tests/vision/test_sface.py`). PRelus whose slope is not an initializer of shape
    [C, 1, 1] or [C] are left as they are. Returns a new ModelProto.
    """
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.ModelProto.FromString(model.SerializeToString())
    graph = model.graph
    values = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    nodes, added = [], []
    for node in graph.node:
        slope = values.get(node.input[1]) if node.op_type == "PRelu" else None
        if slope is None or slope.ndim not in (1, 3) or slope.size != slope.shape[0]:
            nodes.append(node)
            continue
        x, y, p = node.input[0], node.output[0], node.name or node.output[0]
        channels = slope.shape[0]
        slope = slope.astype(np.float32).reshape(channels, 1, 1, 1)
        added += [
            numpy_helper.from_array(slope, f"{p}_slope_dw"),
            numpy_helper.from_array(1 - slope, f"{p}_rest_dw"),
        ]
        depthwise = dict(group=channels, kernel_shape=[1, 1])
        nodes += [
            helper.make_node("Relu", [x], [f"{p}_relu"], name=f"{p}_relu"),
            helper.make_node("Conv", [x, f"{p}_slope_dw"], [f"{p}_linear"], name=f"{p}_linear", **depthwise),
            helper.make_node(
                "Conv", [f"{p}_relu", f"{p}_rest_dw"], [f"{p}_rest"], name=f"{p}_rest", **depthwise
            ),
            helper.make_node("Add", [f"{p}_rest", f"{p}_linear"], [y], name=f"{p}_sum"),
        ]
    read = {name for n in nodes for name in n.input}
    kept = [t for t in graph.initializer if t.name in read]
    del graph.node[:]
    graph.node.extend(nodes)
    del graph.initializer[:]
    graph.initializer.extend(kept + added)
    return model
