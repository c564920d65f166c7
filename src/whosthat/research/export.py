"""ONNX export: the one helper every trained model goes through (`export_onnx`), and the embedder export
of `whosthat export` built on it.

`export_onnx` traces a PyTorch module (opset 17, first axis dynamic), writes the `whosthat_*` metadata
the app reads (name, kind, input, threshold, card, ...), checks the graph, and compares ONNX Runtime with
PyTorch on a batch of inputs: they must agree to within 1e-4. Used by `whosthat export` (embedders),
`whosthat train eyes` (research.eyes) and `whosthat train pad` (research.pad).

Embedders: the graph is backbone + L2 normalisation; input `features` float32[N, 128] (dlib descriptors)
or `image` float32[N, 3, S, S]; output `embedding` float32[N, dim]. Metadata: whosthat_name, _kind
(embedder), _input, _threshold, _method, _backbone, _card.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

PARITY_TOLERANCE = 1e-4


def export_onnx(
    net,
    out: Path,
    *,
    example: np.ndarray,
    input_name: str,
    output_name: str,
    metadata: dict[str, str],
    batch_axis: str = "batch",
    check_inputs: np.ndarray | None = None,
) -> float:
    """Write `net` (a torch module, run in eval mode) to `out` as ONNX and return the largest absolute
    difference between ONNX Runtime and PyTorch on `check_inputs` (default: `example`).

    `example` (float32[n, ...]) is the tracing input; the first axis of the input `input_name` and the
    output `output_name` is dynamic and named `batch_axis` (the name is part of the file's bytes).
    `metadata` replaces the model's metadata properties, in the order given. Raises RuntimeError when the
    difference exceeds PARITY_TOLERANCE.
    """
    import torch

    from whosthat.models.onnx import onnx_session

    net = net.eval()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(
        net,
        (torch.from_numpy(example),),
        str(out),
        input_names=[input_name],
        output_names=[output_name],
        dynamic_axes={input_name: {0: batch_axis}, output_name: {0: batch_axis}},
        opset_version=17,
        dynamo=False,
    )
    set_metadata(out, metadata)
    x = example if check_inputs is None else check_inputs
    with torch.no_grad():
        expected = net(torch.from_numpy(x)).numpy()
    got = onnx_session(out).run(None, {input_name: x})[0]
    diff = float(np.abs(expected - got).max())
    if diff > PARITY_TOLERANCE:
        raise RuntimeError(f"ONNX and PyTorch disagree by {diff:.2e} (> {PARITY_TOLERANCE:g})")
    return diff


def set_metadata(path: Path, metadata: dict[str, str]) -> None:
    """Replace the metadata properties of the ONNX file at `path` with `metadata` (in that order), check it."""
    import onnx

    model = onnx.load(str(path))
    del model.metadata_props[:]
    for key, value in metadata.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, str(value)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def _wrapper(module):
    import torch.nn.functional as F
    from torch import nn

    class Normalised(nn.Module):
        def __init__(self, backbone):
            super().__init__()
            self.backbone = backbone

        def forward(self, x):
            return F.normalize(self.backbone(x), dim=1)

    return Normalised(module.backbone).eval()


def example_input(input_spec: str, n: int = 4, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    kind = input_spec.split(":")
    if kind[0] == "features":
        # dlib descriptors live in roughly [-0.3, 0.3] per component
        return (rng.standard_normal((n, 128)) * 0.1).astype(np.float32)
    size = int(kind[1])
    return rng.uniform(-1, 1, (n, 3, size, size)).astype(np.float32)


def export_module(
    module,
    out: Path,
    name: str,
    threshold: float,
    card: str | None = None,
    check_inputs: np.ndarray | None = None,
) -> dict:
    """Write `module` (an EmbeddingModule) to `out` with metadata; return parity numbers."""
    input_spec = module.hparams.input_spec
    meta = {
        "whosthat_name": name,
        "whosthat_kind": "embedder",
        "whosthat_input": input_spec,
        "whosthat_threshold": f"{threshold:.6f}",
        "whosthat_method": getattr(module, "method", ""),
        "whosthat_backbone": module.hparams.backbone,
    }
    if card:
        meta["whosthat_card"] = card
    diff = export_onnx(
        _wrapper(module.cpu()),
        out,
        example=example_input(input_spec, 2),
        input_name="features" if input_spec.startswith("features") else "image",
        output_name="embedding",
        metadata=meta,
        check_inputs=check_inputs if check_inputs is not None else example_input(input_spec, 8, seed=1),
    )
    return {
        "path": str(out),
        "name": name,
        "input": input_spec,
        "threshold": threshold,
        "parity_max_abs_diff": diff,
    }


def export_checkpoint(
    checkpoint: Path, out: Path, name: str | None = None, threshold: float | None = None
) -> dict:
    """Export a `whosthat train` checkpoint; threshold and card numbers come from the metrics.json beside it."""
    from whosthat.errors import BadInputError
    from whosthat.research.modules import load_module

    checkpoint = Path(checkpoint)
    module = load_module(checkpoint)
    metrics_file = checkpoint.parent / "metrics.json"
    metrics = json.loads(metrics_file.read_text()) if metrics_file.is_file() else {}
    if threshold is None:
        if "threshold" not in metrics:
            raise BadInputError(f"no metrics.json beside {checkpoint}: pass --threshold")
        threshold = float(metrics["threshold"])
    out = Path(out)
    name = name or out.stem
    card_name = f"{out.stem}.md"
    result = export_module(module, out, name, threshold, card=card_name)
    (out.parent / card_name).write_text(model_card(name, module, metrics, checkpoint, result))
    result["card"] = str(out.parent / card_name)
    return result


def model_card(name: str, module, metrics: dict, checkpoint: Path, export: dict) -> str:
    hp = dict(module.hparams)
    report_file = checkpoint.parent.parent / "report.json"
    command = ""
    if report_file.is_file():
        command = json.loads(report_file.read_text()).get("command", "")
    lines = [
        f"# {name}",
        "",
        f"Embedder exported by `whosthat export` from `{checkpoint}`.",
        "",
        f"- method: {getattr(module, 'method', '?')}; backbone: {hp.get('backbone')}; embedding size {hp.get('dim')}",
        f"- input (`whosthat_input`): `{export['input']}`"
        + (
            " - the app runs dlib's ResNet on the aligned chip, then this head"
            if export["input"].startswith("features")
            else ""
        ),
        "- output: L2-normalised embedding, compared with Euclidean distance",
        f"- threshold: {export['threshold']:.4f} (chosen on the pairs of "
        + (
            f"fold {', '.join(map(str, metrics['threshold_folds']))}, whose people were not trained on"
            if isinstance(metrics.get("threshold_folds"), list)
            else "the other folds"
        )
        + "; never on the test fold)",
        f"- settings: `{json.dumps({k: v for k, v in hp.items() if k not in ('backbone_weights',)}, default=str)}`",
    ]
    if command:
        lines.append(f"- training command: `{command}`")

    def num(value) -> str:
        return "n/a" if value is None else f"{value:.4f}"

    if metrics:
        lines += [
            "",
            "## Measured (LFW, people of the test fold never seen in training)",
            "",
            f"- held-out fold {metrics.get('test_fold')}: accuracy {num(metrics.get('accuracy'))} "
            f"({metrics.get('test_pairs')} pairs, threshold as above), AUC {num(metrics.get('auc'))}",
            f"- recall@1 over the fold's {metrics.get('test_images')} images: {num((metrics.get('recall_at') or {}).get('1'))}; "
            f"8x3-batch recall@1: {num(metrics.get('recall1_batch_8x3'))}; NMI {num(metrics.get('nmi'))}",
            f"- trained on {metrics.get('train_identities')} identities / {metrics.get('train_images')} images in "
            f"{metrics.get('train_seconds')} s",
        ]
    lines += [
        "",
        "Data: Labeled Faces in the Wild (Huang et al. 2007), deep-funneled. See docs/research.md.",
        "",
    ]
    return "\n".join(lines)
