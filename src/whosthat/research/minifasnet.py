"""MiniFASNet (Minivision's silent face anti-spoofing networks) in PyTorch, written for their published weights.

Two networks, MiniFASNetV2 and MiniFASNetV1SE, share one MobileFaceNet-like layout on an 80x80 face
crop (four stride-2 stages: 80 -> 40 -> 20 -> 10 -> 5):

- stem: 3x3 conv (stride 2) and a 3x3 depthwise conv, each conv-BN-PReLU;
- three "transitions" (1x1 expand, 3x3 depthwise stride 2, 1x1 linear projection; no shortcut) between
  stages of residual depthwise blocks (the same three layers at stride 1, added to their input): 4 blocks
  of 64 channels, 6 of 128, 2 of 128;
- head: 1x1 conv to 512, a 5x5 depthwise conv over the whole 5x5 map (conv-BN, no activation),
  a linear layer to 128 (no bias), BatchNorm1d, dropout, and a linear layer to 3 logits (no bias).

The networks are channel-pruned: every expansion width is its own number, read here from the state
dict's tensor shapes (`widths_from_state_dict`) rather than written down, so the module builds exactly
the network whose weights it is given. MiniFASNetV1SE adds a squeeze-excitation gate to the last block of
each residual stage (global average pool, 1x1 conv to C/4, BN, ReLU, 1x1 conv back to C, BN, sigmoid;
the block's output is scaled by it before the shortcut is added). The Fourier-spectrum auxiliary head of
their training recipe is not part of the inference network and not in the released weights.

Input convention of the released weights (their README; /work/shared/models/silent-face-anti-spoofing):
BGR channel order, float 0-255 (not divided), NCHW 80x80; output 3 logits, softmax class 1 = real face,
classes 0 and 2 = two kinds of attack. `2.7_80x80_MiniFASNetV2.pth` takes a crop 2.7x the RetinaFace box,
`4_0_0_80x80_MiniFASNetV1SE.pth` one 4.0x that box (see `whosthat.liveness.pad.minifas_crop`).

Licence of the weights: Apache-2.0, Minivision (minivision-ai/Silent-Face-Anti-Spoofing). This code is
the project's own, written from the architecture description and the state dicts' layer names and shapes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

#: The released weight files, the crop scale each was trained on, and their sha256 (from the source README).
WEIGHTS = {
    "v2": (
        "2.7_80x80_MiniFASNetV2.pth",
        2.7,
        "a5eb02e1843f19b5386b953cc4c9f011c3f985d0ee2bb9819eea9a142099bec0",
    ),
    "v1se": (
        "4_0_0_80x80_MiniFASNetV1SE.pth",
        4.0,
        "84ee1d37d96894d5e82de5a57df044ef80a58be2b218b5ed7cdfd875ec2f5990",
    ),
}
SOURCE_REPOSITORY = "https://github.com/minivision-ai/Silent-Face-Anti-Spoofing"
SOURCE_COMMIT = "b6d5f04ad78778917853b25c778acef6d5626d15"
INPUT_SIZE = 80
REAL_CLASS = 1


class ConvBNPReLU(nn.Module):
    def __init__(
        self, cin: int, cout: int, kernel: int = 1, stride: int = 1, padding: int = 0, groups: int = 1
    ):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride, padding, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.prelu = nn.PReLU(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.prelu(self.bn(self.conv(x)))


class ConvBN(nn.Module):
    """A linear (activation-free) conv: the projections and the global depthwise conv of the head."""

    def __init__(
        self, cin: int, cout: int, kernel: int = 1, stride: int = 1, padding: int = 0, groups: int = 1
    ):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride, padding, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))


class SqueezeExcitation(nn.Module):
    def __init__(self, channels: int, hidden: int):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, hidden, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(hidden)
        self.relu = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(hidden, channels, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = self.bn2(self.fc2(self.relu(self.bn1(self.fc1(self.pool(x))))))
        return x * torch.sigmoid(gate)


class DepthwiseBlock(nn.Module):
    """1x1 expand -> 3x3 depthwise (stride 1 or 2) -> 1x1 linear projection [-> SE gate] [+ input]."""

    def __init__(self, cin: int, expand: int, cout: int, stride: int, residual: bool, se_hidden: int = 0):
        super().__init__()
        self.conv = ConvBNPReLU(cin, expand, 1)
        self.conv_dw = ConvBNPReLU(expand, expand, 3, stride, 1, groups=expand)
        self.project = ConvBN(expand, cout, 1)
        if se_hidden:
            self.se_module = SqueezeExcitation(cout, se_hidden)
        self.residual = residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.project(self.conv_dw(self.conv(x)))
        if hasattr(self, "se_module"):
            y = self.se_module(y)
        return x + y if self.residual else y


class ResidualStage(nn.Module):
    def __init__(self, channels: int, expands: list[int], se_hidden: dict[int, int]):
        super().__init__()
        self.model = nn.Sequential(
            *(
                DepthwiseBlock(channels, e, channels, 1, residual=True, se_hidden=se_hidden.get(i, 0))
                for i, e in enumerate(expands)
            )
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


@dataclass(frozen=True)
class MiniFASNetWidths:
    """Every channel count of one pruned MiniFASNet, as read from its weights."""

    stem: int
    transitions: tuple[tuple[int, int], ...]  # (expand, out) of conv_23, conv_34, conv_45
    stages: tuple[tuple[int, ...], ...]  # expansion width of each residual block of conv_3, conv_4, conv_5
    se_hidden: tuple[dict[int, int], ...]  # per stage: block index -> SE hidden width (V1SE only)
    head: int  # conv_6 width
    embedding: int
    classes: int
    head_kernel: int


STAGES = ("conv_3", "conv_4", "conv_5")
TRANSITIONS = ("conv_23", "conv_34", "conv_45")


def strip_prefix(state: dict) -> dict:
    """The released files were saved from DataParallel: every key starts with `module.`."""
    return {(k[len("module.") :] if k.startswith("module.") else k): v for k, v in state.items()}


def widths_from_state_dict(state: dict) -> MiniFASNetWidths:
    state = strip_prefix(state)

    def out_channels(key: str) -> int:
        return int(state[key].shape[0])

    transitions = tuple(
        (out_channels(f"{t}.conv.conv.weight"), out_channels(f"{t}.project.conv.weight")) for t in TRANSITIONS
    )
    stages, se = [], []
    for s in STAGES:
        blocks = sorted(
            {int(m.group(1)) for k in state if (m := re.match(rf"{s}\.model\.(\d+)\.conv\.conv\.weight$", k))}
        )
        stages.append(tuple(out_channels(f"{s}.model.{b}.conv.conv.weight") for b in blocks))
        se.append(
            {
                b: out_channels(f"{s}.model.{b}.se_module.fc1.weight")
                for b in blocks
                if f"{s}.model.{b}.se_module.fc1.weight" in state
            }
        )
    return MiniFASNetWidths(
        stem=out_channels("conv1.conv.weight"),
        transitions=transitions,
        stages=tuple(stages),
        se_hidden=tuple(se),
        head=out_channels("conv_6_sep.conv.weight"),
        embedding=out_channels("linear.weight"),
        classes=out_channels("prob.weight"),
        head_kernel=int(state["conv_6_dw.conv.weight"].shape[-1]),
    )


class MiniFASNet(nn.Module):
    """One MiniFASNet (V2 or V1SE, told apart only by their SE gates); forward -> logits float[N, 3]."""

    def __init__(self, widths: MiniFASNetWidths, dropout: float = 0.2):
        super().__init__()
        w = widths
        self.conv1 = ConvBNPReLU(3, w.stem, 3, 2, 1)
        self.conv2_dw = ConvBNPReLU(w.stem, w.stem, 3, 1, 1, groups=w.stem)
        cin = w.stem
        for name, stage_name, (expand, cout), expands, se in zip(
            TRANSITIONS, STAGES, w.transitions, w.stages, w.se_hidden, strict=True
        ):
            setattr(self, name, DepthwiseBlock(cin, expand, cout, 2, residual=False))
            setattr(self, stage_name, ResidualStage(cout, list(expands), se))
            cin = cout
        self.conv_6_sep = ConvBNPReLU(cin, w.head, 1)
        self.conv_6_dw = ConvBN(w.head, w.head, w.head_kernel, groups=w.head)
        self.linear = nn.Linear(w.head, w.embedding, bias=False)
        self.bn = nn.BatchNorm1d(w.embedding)
        self.drop = nn.Dropout(dropout)
        self.prob = nn.Linear(w.embedding, w.classes, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv2_dw(self.conv1(x))
        x = self.conv_5(self.conv_45(self.conv_4(self.conv_34(self.conv_3(self.conv_23(x))))))
        x = self.conv_6_dw(self.conv_6_sep(x)).flatten(1)
        return self.prob(self.drop(self.bn(self.linear(x))))


def load_minifasnet(path: str | Path) -> MiniFASNet:
    """A MiniFASNet built from and loaded with the state dict at `path` (strict: every tensor must fit), eval mode."""
    state = strip_prefix(torch.load(str(path), map_location="cpu", weights_only=True))
    net = MiniFASNet(widths_from_state_dict(state))
    net.load_state_dict(state, strict=True)
    return net.eval()


class MiniFASNetPair(nn.Module):
    """Both released networks in one graph: crops float[N, 6, 80, 80] (channels 0-2 the 2.7x crop for V2,
    3-5 the 4.0x crop for V1SE, BGR 0-255) -> attack probabilities float[N, 3]: fused, V2, V1SE.

    An attack probability is 1 - the real-class probability; the fused one is that of the two networks'
    mean softmax (the reference combines the models by averaging their softmax outputs).
    """

    def __init__(self, v2: MiniFASNet, v1se: MiniFASNet):
        super().__init__()
        self.v2 = v2
        self.v1se = v1se

    def forward(self, crops: torch.Tensor) -> torch.Tensor:
        real_v2 = torch.softmax(self.v2(crops[:, :3]), dim=1)[:, REAL_CLASS]
        real_v1se = torch.softmax(self.v1se(crops[:, 3:]), dim=1)[:, REAL_CLASS]
        return 1.0 - torch.stack([0.5 * (real_v2 + real_v1se), real_v2, real_v1se], dim=1)


class LinearFormPReLU(nn.Module):
    """PReLU written as a*x + (1-a)*relu(x): the same function, which onnxruntime runs about a quarter faster
    (its PRelu kernel broadcasts the per-channel slope slowly); used in the exported graph only."""

    def __init__(self, prelu: nn.PReLU):
        super().__init__()
        self.weight = nn.Parameter(prelu.weight.detach().clone().view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.weight * x + (1.0 - self.weight) * torch.relu(x)


def for_export(module: nn.Module) -> nn.Module:
    """A copy of `module` with every PReLU in its linear form (`LinearFormPReLU`), in eval mode."""
    import copy

    out = copy.deepcopy(module).eval()
    for parent in out.modules():
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.PReLU):
                setattr(parent, name, LinearFormPReLU(child))
    return out


def load_pair(weights_dir: str | Path) -> MiniFASNetPair:
    """The two released networks from the folder holding their .pth files (sha256-checked)."""
    from whosthat.errors import BadInputError
    from whosthat.models.files import file_sha256

    weights_dir = Path(weights_dir)
    nets = {}
    for key, (name, _scale, sha) in WEIGHTS.items():
        path = weights_dir / name
        if not path.is_file():
            raise BadInputError(f"{path} is missing (MiniFASNet weights: {SOURCE_REPOSITORY})")
        if file_sha256(path) != sha:
            raise BadInputError(f"{path} is not the released file (sha256 differs from {sha[:12]}...)")
        nets[key] = load_minifasnet(path)
    return MiniFASNetPair(nets["v2"], nets["v1se"]).eval()


# ------------------------------------------------------------------ export: `whosthat export <weights folder>`
NAME = "pad-minifasnet"
INPUT_SPEC = f"minifasnet:{INPUT_SIZE}:bgr255:scales=" + ",".join(str(s) for _, s, _ in WEIGHTS.values())
LICENCE_FILE = "LICENSE"


def is_weights_folder(path: Path) -> bool:
    """True when `path` is a folder holding both released MiniFASNet weight files."""
    path = Path(path)
    return path.is_dir() and all((path / name).is_file() for name, _, _ in WEIGHTS.values())


def _metadata(threshold: float | None, card: str, licence: str) -> dict[str, str]:
    meta = {
        "whosthat_name": NAME,
        "whosthat_kind": "pad",
        "whosthat_input": INPUT_SPEC,
        "whosthat_box": "retinaface-caffe",
        "whosthat_score": "fused",
        "whosthat_card": card,
        "whosthat_licence": f"Apache-2.0 ({licence})",
        "whosthat_source": f"{SOURCE_REPOSITORY} commit {SOURCE_COMMIT}: "
        + ", ".join(name for name, _, _ in WEIGHTS.values()),
    }
    if threshold is not None:
        meta["whosthat_threshold"] = f"{threshold:.4f}"
    return meta


def real_crops(faces: list, count: int = 16) -> np.ndarray:
    """float32[count, 6, 80, 80]: the served crops (mapped mesh box) of `count` frames spread over `faces`."""
    from whosthat.liveness.pad import box_from_mesh, minifas_input
    from whosthat.vision.image import decode_image

    usable = [f for f in faces if f.mesh is not None]
    step = max(1, len(usable) // count)
    scales = tuple(s for _, s, _ in WEIGHTS.values())
    return np.stack(
        [
            minifas_input(decode_image(f.frame.path), box_from_mesh(f.mesh, "retinaface-caffe"), scales)
            for f in usable[::step][:count]
        ]
    )


def export_minifasnet(weights_dir: Path, data: Path, out: Path, command: str = "") -> dict:
    """Port, export and document MiniFASNet: `out` (FILE.onnx), its card and its licence beside it.

    1. Both networks are built from the released state dicts and written as one ONNX graph; ONNX Runtime
       must agree with PyTorch on the served crops of real NUAA frames (`research.export.export_onnx`).
    2. The operating threshold of the fused score is the equal-error point on the NUAA CNN's validation
       subjects (training side), scored exactly as the challenge scores (the mapped face-mesh box).
    3. `whosthat eval pad` runs on the same folder and its numbers go on the card.
    """
    from whosthat.datasets import nuaa
    from whosthat.liveness.pad import DEFAULT_PAD_MODEL, MiniFASNetDetector
    from whosthat.research.export import PARITY_TOLERANCE, export_onnx, set_metadata
    from whosthat.research.pad_evaluation import eer_threshold, evaluate_pad, nuaa_model_split, score_frames
    from whosthat.research.pad_frames import face_boxes

    out = Path(out)
    card, licence = f"{out.stem}.md", f"{out.stem}.{LICENCE_FILE}"
    pair = load_pair(weights_dir)
    frames = nuaa.read_nuaa(data)
    split, sessions = nuaa_model_split(DEFAULT_PAD_MODEL, [f.subject for f in frames])
    faces = face_boxes(frames, weights_dir)
    check = real_crops(faces)
    # Traced from the PReLU-rewritten copy (export_onnx checks the file against that copy), then checked
    # against the networks as loaded from the released weights.
    export_onnx(
        for_export(pair),
        out,
        example=check[:1],
        input_name="crops",
        output_name="attack_probs",
        metadata=_metadata(None, card, licence),
        batch_axis="n",
        check_inputs=check,
    )
    with torch.no_grad():
        expected = pair(torch.from_numpy(check)).numpy()
    diff = float(np.abs(MiniFASNetDetector(out).attack_probs(check) - expected).max())
    if diff > PARITY_TOLERANCE:
        raise RuntimeError(f"the exported MiniFASNet disagrees with PyTorch by {diff:.2e}")
    dev = [
        f
        for f in faces
        if f.frame.subject in split["validation"] and (not sessions or f.frame.session in sessions)
    ]
    detector = MiniFASNetDetector(out)
    scores = score_frames(dev, detector)[:, detector.column]
    threshold = eer_threshold(np.array([f.frame.attack for f in dev]), scores)
    set_metadata(out, _metadata(threshold, card, licence))
    (out.parent / licence).write_text((Path(weights_dir) / LICENCE_FILE).read_text())
    report = evaluate_pad(data, minifasnet=out, retinaface=weights_dir)
    result = {
        "path": str(out),
        "threshold": threshold,
        "parity_max_abs_diff": diff,
        "parity_frames": int(len(check)),
        "parameters": {k: int(sum(p.numel() for p in getattr(pair, k).parameters())) for k in ("v2", "v1se")},
        "bytes": out.stat().st_size,
        "command": command,
        "card": str(out.parent / card),
        "licence": str(out.parent / licence),
    }
    (out.parent / card).write_text(model_card(result, report))
    return result


def model_card(result: dict, report: dict) -> str:
    """The card beside the ONNX file: what it is, where it comes from, how it is fed, our numbers."""
    from whosthat.research.pad_evaluation import report_markdown

    p = result["parameters"]
    return f"""# {NAME} (`{Path(result["path"]).name}`)

Print-attack (presentation attack) detector: Minivision's two MiniFASNet networks (silent face
anti-spoofing), ported to PyTorch by this project (`whosthat.research.minifasnet`, written from the
published architecture and the state dicts' layer names and shapes) and exported as one ONNX graph.

- **Source** {SOURCE_REPOSITORY}, commit {SOURCE_COMMIT}: `2.7_80x80_MiniFASNetV2.pth`
  ({p["v2"]:,} parameters) and `4_0_0_80x80_MiniFASNetV1SE.pth` ({p["v1se"]:,} parameters), converted,
  not retrained. **Licence** Apache-2.0, Copyright Minivision: `{Path(result["licence"]).name}` beside
  this card is the licence text; this ONNX file is a derivative work of those weights.
- **Input** `crops` float32[N, 6, 80, 80]: channels 0-2 the crop for MiniFASNetV2 (2.7x the face box),
  3-5 the crop for MiniFASNetV1SE (4.0x), each BGR 0-255 (not divided), resized to 80x80 without keeping
  the aspect ratio (`whosthat.liveness.pad.minifas_crop`). The box is in the convention of the
  RetinaFace detector the models were trained with; the app maps the face mesh's box onto it
  (`mesh_box_maps.json`, `whosthat calibrate-boxes --mesh`) instead of running that detector.
- **Output** `attack_probs` float32[N, 3]: 1 - the real-class probability of the two networks' mean
  softmax (the reference's fusion; the one the app uses, metadata `whosthat_score`), of V2 alone, of
  V1SE alone. Attack when >= {result["threshold"]:.3f} (metadata `whosthat_threshold`): the equal-error
  point on the NUAA CNN's validation subjects, never on the subjects reported below.
- **Export check** ONNX Runtime vs PyTorch on the served crops of {result["parity_frames"]} real NUAA
  frames: max |difference| {result["parity_max_abs_diff"]:.1e}. {result["bytes"] / 1e6:.1f} MB.
- **Training data** not published by Minivision. NUAA may be among it: the numbers below show that the
  models work on NUAA's camera, prints and rooms, not that they generalise to other ones.

## Measured here (`whosthat eval pad --data $WHOSTHAT_DATA/nuaa --retinaface $MINIFASNET_DIR`)

{report_markdown(report, groups_of=("minifasnet",)).split(chr(10), 2)[2]}

## Reproduce

`$MINIFASNET_DIR` is the folder of Minivision's release (the two .pth files, `deploy.prototxt`,
`Widerface-RetinaFace.caffemodel`, `LICENSE`).

```
whosthat calibrate-boxes --mesh --data $WHOSTHAT_DATA/nuaa --retinaface $MINIFASNET_DIR   # mesh_box_maps.json
{result["command"]}
whosthat eval pad --data $WHOSTHAT_DATA/nuaa --retinaface $MINIFASNET_DIR
# the same, with the NUAA CNN's recipe trained on session 01 only (sessions outside every training set):
whosthat train pad --data $WHOSTHAT_DATA/nuaa --seed 0 --epochs 12 --sessions 01 --out DIR
whosthat eval pad --data $WHOSTHAT_DATA/nuaa --model DIR/pad.onnx
```
"""
