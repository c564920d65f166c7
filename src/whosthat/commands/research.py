"""`whosthat train prepare|siamese-bce|siamese-contrastive|group-loss|arcface`, `whosthat eval baseline`,
`whosthat tune`, `whosthat export`: the research block's command line.

Folds are numbered 1..10 on the command line (LFW's own numbering); `--test-fold 10` trains on the
people of folds 1-9. Progress bars and logs go to stderr, `--json` results to stdout.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from whosthat.errors import BadInputError

METHOD_NAMES = {
    "siamese-bce": "siamese_bce",
    "siamese-contrastive": "siamese_contrastive",
    "group-loss": "group_loss",
    "arcface": "arcface",
}

DataOpt = Annotated[
    Path | None, typer.Option("--data", help="LFW folder or a folder holding lfw/ (default: $WHOSTHAT_DATA)")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="print the result as JSON on stdout")]
FoldsOpt = Annotated[
    list[int] | None,
    typer.Option("--test-fold", help="held-out LFW fold 1..10 (repeatable; default all ten)"),
]


def _parse_params(params: list[str] | None) -> dict:
    """`key=value` strings -> dict with numbers and booleans parsed."""
    out = {}
    for item in params or []:
        if "=" not in item:
            raise BadInputError(f"--param wants key=value, got {item!r}")
        key, value = item.split("=", 1)
        for cast in (int, float):
            try:
                out[key] = cast(value)
                break
            except ValueError:
                continue
        else:
            out[key] = {"true": True, "false": False}.get(value.lower(), value)
    return out


def _folds(test_fold: list[int] | None) -> list[int]:
    folds = test_fold or list(range(1, 11))
    bad = [k for k in folds if not 1 <= k <= 10]
    if bad:
        raise BadInputError(f"test folds are numbered 1..10, got {bad[0]}")
    return [k - 1 for k in folds]


def _emit(result: dict, as_json: bool, lines: list[str]) -> None:
    if as_json:
        typer.echo(json.dumps(result))
    else:
        for line in lines:
            typer.echo(line)


def prepare_command(
    data: DataOpt = None,
    features: Annotated[
        bool, typer.Option("--features/--no-features", help="frozen dlib descriptors of every image")
    ] = True,
    crops: Annotated[
        bool, typer.Option("--crops/--no-crops", help="FaceAlignTransform crops of every image")
    ] = True,
    size: Annotated[int, typer.Option(help="crop size in pixels")] = 112,
    kind: Annotated[str, typer.Option(help="rotation or simple")] = "rotation",
    limit: Annotated[
        int | None, typer.Option(help="only the first N images (by path), for a quick check")
    ] = None,
    carry_dir: Annotated[
        Path | None,
        typer.Option(
            help="also write a compact copy for a GPU machine here: the crops the fold protocol uses + pairs.txt/people.txt"
        ),
    ] = None,
) -> None:
    """Prepare LFW once: dlib descriptors (through the shared embedding cache) and aligned crops, under $WHOSTHAT_HOME/cache/research."""
    from whosthat.research.prepare import embed_lfw_stages, prepare_lfw_crops, prepare_lfw_features
    from whosthat.vision import lfw

    if kind not in ("rotation", "simple"):
        raise BadInputError("--kind must be rotation or simple")
    if size < 32 or size > 512:
        raise BadInputError("--size must be between 32 and 512")
    root = lfw.lfw_root(data)
    if features:
        path = prepare_lfw_features(root, limit=limit) if limit else embed_lfw_stages(root)
        typer.echo(f"features: {path}", err=True)
    if crops:
        typer.echo(f"crops: {prepare_lfw_crops(root, size=size, kind=kind, limit=limit)}", err=True)
    if carry_dir is not None:
        import shutil

        from whosthat.research.prepare import default_crops_path, gpu_training_subset

        (carry_dir / "lfw").mkdir(parents=True, exist_ok=True)
        for name in ("pairs.txt", "people.txt"):
            shutil.copy(root / name, carry_dir / "lfw" / name)
        typer.echo(
            f"carry: {gpu_training_subset(root, default_crops_path(size, kind), carry_dir / 'crops.npz')}",
            err=True,
        )


def _train(
    method: str,
    backbone: str,
    data: Path | None,
    test_fold: list[int] | None,
    epochs: int,
    lr: float,
    weight_decay: float,
    batch_classes: int,
    batch_images: int,
    dim: int | None,
    image_size: int | None,
    weights: Path | None,
    accelerator: str,
    devices: str,
    strategy: str,
    num_nodes: int,
    out: Path | None,
    params: list[str] | None,
    features: Path | None,
    crops: Path | None,
    limit_train_batches: int | None,
    val_fold: int | None,
    seed: int,
    as_json: bool,
) -> None:
    from whosthat.research.backbones import BACKBONES
    from whosthat.research.train import TrainConfig, train_folds
    from whosthat.vision import lfw

    if backbone not in BACKBONES:
        raise BadInputError(f"unknown backbone {backbone!r}; choose one of {', '.join(BACKBONES)}")
    if epochs < 1:
        raise BadInputError("--epochs must be >= 1")
    if val_fold is not None and not 0 <= val_fold <= 10:
        raise BadInputError("--val-fold is numbered 1..10 (0: none)")
    folds = _folds(test_fold)
    root = lfw.lfw_root(data)
    if val_fold and val_fold - 1 in folds:
        raise BadInputError("the validation fold cannot be a test fold")
    method_kwargs = _parse_params(params)
    backbone_kwargs = {
        k[len("backbone.") :]: method_kwargs.pop(k) for k in list(method_kwargs) if k.startswith("backbone.")
    }
    cfg = TrainConfig(
        method=method,
        backbone=backbone,
        dim=dim,
        epochs=epochs,
        lr=lr,
        weight_decay=weight_decay,
        n_classes=batch_classes,
        m_per_class=batch_images,
        image_size=image_size,
        accelerator=accelerator,
        devices=int(devices) if devices.isdigit() else devices,
        strategy=strategy,
        num_nodes=num_nodes,
        backbone_weights=str(weights) if weights else None,
        method_kwargs=method_kwargs,
        backbone_kwargs=backbone_kwargs,
        limit_train_batches=limit_train_batches,
        val_fold=val_fold - 1 if val_fold is not None else None,
        seed=seed,
        command="whosthat " + " ".join(sys.argv[1:]),
    )
    from whosthat.config import get_settings

    out = out or get_settings().home / "runs" / f"{method}-{backbone}"
    with contextlib.redirect_stdout(sys.stderr):  # Lightning prints to stdout; keep stdout for --json
        report = train_folds(cfg, root, folds, out, features=features, crops=crops)
    if not report:
        return  # a DDP worker that is not rank 0
    s = report["summary"]
    _emit(
        report,
        as_json,
        [
            f"{method} on {backbone}, held-out folds {s['folds']}: accuracy {s['accuracy']:.4f} +- {s['accuracy_std']:.4f}, "
            f"AUC {s['auc']:.4f}, recall@1 {s['recall1']:.4f} (8x3 batches {s['recall1_batch_8x3']:.4f}), NMI {s['nmi']:.4f}, "
            f"train {s['train_seconds']:.0f} s on {report['hardware']}",
            f"report: {Path(out) / 'report.json'}",
        ],
    )


def _train_method_command(cli_name: str, method: str):
    """The `whosthat train CLI_NAME` function of one research method (cli.py registers it)."""

    def command(
        backbone: Annotated[
            str, typer.Option(help="dlib_features, small_cnn, inception_resnet_v1, bn_inception")
        ] = "dlib_features",
        data: DataOpt = None,
        test_fold: FoldsOpt = None,
        val_fold: Annotated[
            int | None,
            typer.Option(
                help="fold left out of training whose pairs choose the threshold (default: the one before the test fold; 0: none, threshold from the trained-on folds)"
            ),
        ] = None,
        epochs: Annotated[int, typer.Option(help="training epochs")] = 10,
        lr: Annotated[float, typer.Option(help="learning rate (AdamW, cosine schedule)")] = 1e-3,
        weight_decay: Annotated[float, typer.Option(help="AdamW weight decay")] = 0.0,
        batch_classes: Annotated[int, typer.Option(help="identities per batch (n)")] = 24,
        batch_images: Annotated[int, typer.Option(help="images per identity in a batch (m)")] = 2,
        dim: Annotated[int | None, typer.Option(help="embedding size (default per backbone)")] = None,
        image_size: Annotated[int | None, typer.Option(help="resize the prepared crops to this size")] = None,
        weights: Annotated[
            Path | None, typer.Option(help="backbone weights file (state dict or checkpoint)")
        ] = None,
        accelerator: Annotated[str, typer.Option(help="cpu, gpu or auto")] = "cpu",
        devices: Annotated[str, typer.Option(help="devices per node (a number or auto)")] = "1",
        strategy: Annotated[str, typer.Option(help="auto, ddp, ddp_spawn, ...")] = "auto",
        num_nodes: Annotated[int, typer.Option(help="nodes for multi-node DDP")] = 1,
        out: Annotated[
            Path | None, typer.Option(help="run folder (default $WHOSTHAT_HOME/runs/METHOD-BACKBONE)")
        ] = None,
        param: Annotated[
            list[str] | None,
            typer.Option(
                "--param",
                help="method setting key=value, e.g. temperature=5; backbone.KEY=value for the backbone",
            ),
        ] = None,
        features: Annotated[Path | None, typer.Option(help="prepared dlib features .npz")] = None,
        crops: Annotated[Path | None, typer.Option(help="prepared crops .npz")] = None,
        limit_train_batches: Annotated[
            int | None, typer.Option(help="batches per epoch (quick checks)")
        ] = None,
        seed: Annotated[int, typer.Option(help="random seed")] = 0,
        as_json: JsonOpt = False,
    ) -> None:
        _train(
            method,
            backbone,
            data,
            test_fold,
            epochs,
            lr,
            weight_decay,
            batch_classes,
            batch_images,
            dim,
            image_size,
            weights,
            accelerator,
            devices,
            strategy,
            num_nodes,
            out,
            param,
            features,
            crops,
            limit_train_batches,
            val_fold,
            seed,
            as_json,
        )

    command.__doc__ = f"Train {cli_name} on LFW, one model per held-out fold, and evaluate on that fold."
    return command


def train_method_commands() -> dict:
    """{command name: function} for every research method (siamese-bce, group-loss, ...)."""
    return {cli_name: _train_method_command(cli_name, method) for cli_name, method in METHOD_NAMES.items()}


def eval_baseline_command(
    data: DataOpt = None,
    test_fold: FoldsOpt = None,
    features: Annotated[Path | None, typer.Option(help="prepared dlib features .npz")] = None,
    normalise: Annotated[
        bool, typer.Option("--normalise/--raw", help="L2-normalise the descriptors first")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """The plain dlib descriptors under the research protocol (same folds, thresholds and metrics as `whosthat train`)."""
    from whosthat.research.train import baseline_folds
    from whosthat.vision import lfw

    report = baseline_folds(lfw.lfw_root(data), _folds(test_fold), features, normalise)
    s = report["summary"]
    _emit(
        report,
        as_json,
        [
            f"dlib-resnet-v1 descriptors, folds {s['folds']}: accuracy {s['accuracy']:.4f} +- "
            f"{s['accuracy_std']:.4f}, AUC {s['auc']:.4f}, recall@1 {s['recall1']:.4f} "
            f"(8x3 batches {s['recall1_batch_8x3']:.4f}), NMI {s['nmi']:.4f}"
        ],
    )


def tune_command(
    method: Annotated[
        str, typer.Argument(help="siamese-bce, siamese-contrastive, group-loss or arcface")
    ] = "group-loss",
    backbone: Annotated[
        str, typer.Option(help="backbone (tuning is meant for dlib_features on a CPU)")
    ] = "dlib_features",
    data: DataOpt = None,
    trials: Annotated[int, typer.Option(help="trials to run in this process")] = 20,
    test_fold: Annotated[int, typer.Option(help="fold never looked at while tuning (1..10)")] = 10,
    val_fold: Annotated[int, typer.Option(help="fold the objective is measured on (1..10)")] = 9,
    epochs: Annotated[int, typer.Option(help="epochs per trial")] = 10,
    storage: Annotated[
        str | None,
        typer.Option(help="SQLAlchemy URL of the study (default sqlite:///$WHOSTHAT_HOME/optuna.sqlite3)"),
    ] = None,
    study_name: Annotated[str | None, typer.Option(help="study name (default tune-METHOD-BACKBONE)")] = None,
    features: Annotated[Path | None, typer.Option(help="prepared dlib features .npz")] = None,
    crops: Annotated[Path | None, typer.Option(help="prepared crops .npz")] = None,
    out: Annotated[Path | None, typer.Option(help="folder for the trials' runs")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Optuna search of a method's settings: objective = accuracy on --val-fold pairs; --test-fold is never used.
    Several machines can share one study through the same --storage URL."""
    from whosthat.config import get_settings
    from whosthat.research.tuning import tune
    from whosthat.vision import lfw

    if method not in METHOD_NAMES:
        raise BadInputError(f"unknown method {method!r}; choose one of {', '.join(METHOD_NAMES)}")
    if not (1 <= test_fold <= 10 and 1 <= val_fold <= 10) or test_fold == val_fold:
        raise BadInputError("--test-fold and --val-fold must be two different folds in 1..10")
    if trials < 1:
        raise BadInputError("--trials must be >= 1")
    home = get_settings().home
    storage = storage or f"sqlite:///{(home / 'optuna.sqlite3').resolve()}"
    home.mkdir(parents=True, exist_ok=True)
    name = study_name or f"tune-{method}-{backbone}"
    with contextlib.redirect_stdout(sys.stderr):
        result = tune(
            METHOD_NAMES[method],
            backbone,
            lfw.lfw_root(data),
            trials,
            test_fold - 1,
            val_fold - 1,
            epochs,
            storage,
            name,
            features,
            crops,
            out or home / "runs" / name,
        )
    _emit(
        result,
        as_json,
        [
            f"study {name} ({result['trials']} trials in {storage}): best val accuracy "
            f"{result['best_value']:.4f} with {json.dumps(result['best_params'])}"
        ],
    )


def export_command(
    checkpoint: Annotated[
        Path, typer.Argument(help="a checkpoint written by `whosthat train` (fold*/model.ckpt)")
    ],
    out: Annotated[
        Path, typer.Option("--out", help="FILE.onnx (default folder for the app: $WHOSTHAT_HOME/models/)")
    ],
    name: Annotated[
        str | None, typer.Option(help="registry name (default: the file name without .onnx)")
    ] = None,
    threshold: Annotated[
        float | None, typer.Option(help="match threshold (default: the one chosen on the training folds)")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Export a trained model to ONNX with whosthat metadata and a model card; checks ONNX against PyTorch."""
    from whosthat.research.export import export_checkpoint

    if out.suffix != ".onnx":
        raise BadInputError("--out must end in .onnx")
    with contextlib.redirect_stdout(sys.stderr):
        result = export_checkpoint(checkpoint, out, name=name, threshold=threshold)
    _emit(
        result,
        as_json,
        [
            f"exported {result['name']} to {result['path']} (max |onnx - torch| = {result['parity_max_abs_diff']:.2e}); "
            f"card {result['card']}"
        ],
    )
