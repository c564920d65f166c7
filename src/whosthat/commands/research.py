"""The training commands: `whosthat train prepare|siamese-bce|siamese-contrastive|group-loss|arcface`
(the research block on LFW), `whosthat train eyes|eyes-cv|pad` (the liveness models), `whosthat tune`,
`whosthat export` and `whosthat calibrate-boxes` (the MediaPipe -> dlib box mapping, fitted on LFW).

Folds are numbered 1..10 on the command line (LFW's own numbering); `--test-fold 10` trains on the
people of folds 1-9. Progress bars and logs go to stderr, `--json` results to stdout. Training imports
torch from research/ inside the command functions, so `whosthat --help` stays instant.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from whosthat.commands.options import (
    DatasetOpt,
    FlipOpt,
    FoldsOpt,
    JsonOpt,
    LfwDataOpt,
    PopulationDataOpt,
    data_root,
    echo_json,
    emit,
    flip_setting,
    fold_indices,
    lfw_folder,
    log,
    need_folder,
    need_torch,
)
from whosthat.errors import BadInputError

METHOD_NAMES = {
    "siamese-bce": "siamese_bce",
    "siamese-contrastive": "siamese_contrastive",
    "group-loss": "group_loss",
    "arcface": "arcface",
}


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


def prepare_command(
    data: LfwDataOpt = None,
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

    if kind not in ("rotation", "simple"):
        raise BadInputError("--kind must be rotation or simple")
    if size < 32 or size > 512:
        raise BadInputError("--size must be between 32 and 512")
    root = lfw_folder(data)
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

    if backbone not in BACKBONES:
        raise BadInputError(f"unknown backbone {backbone!r}; choose one of {', '.join(BACKBONES)}")
    if epochs < 1:
        raise BadInputError("--epochs must be >= 1")
    if val_fold is not None and not 0 <= val_fold <= 10:
        raise BadInputError("--val-fold is numbered 1..10 (0: none)")
    folds = fold_indices(test_fold)
    root = lfw_folder(data)
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
    emit(
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
        data: LfwDataOpt = None,
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


def tune_command(
    method: Annotated[
        str, typer.Argument(help="siamese-bce, siamese-contrastive, group-loss or arcface")
    ] = "group-loss",
    backbone: Annotated[
        str, typer.Option(help="backbone (tuning is meant for dlib_features on a CPU)")
    ] = "dlib_features",
    data: LfwDataOpt = None,
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
            lfw_folder(data),
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
    emit(
        result,
        as_json,
        [
            f"study {name} ({result['trials']} trials in {storage}): best val accuracy "
            f"{result['best_value']:.4f} with {json.dumps(result['best_params'])}"
        ],
    )


def export_command(
    checkpoint: Annotated[
        Path,
        typer.Argument(
            help="a checkpoint written by `whosthat train` (fold*/model.ckpt), or the MiniFASNet release folder"
        ),
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
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            help="MiniFASNet only: the NUAA folder its threshold is chosen on and its card measured on",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Export a trained model to ONNX with whosthat metadata and a model card; checks ONNX against PyTorch.

    CHECKPOINT may also be the folder of Minivision's MiniFASNet release (the two .pth files, the
    RetinaFace detector and LICENSE): both networks are ported into one ONNX print-attack model, its
    threshold chosen on NUAA (--data) training-side subjects, its card written from `eval pad`."""
    from whosthat.research.export import export_checkpoint

    if out.suffix != ".onnx":
        raise BadInputError("--out must end in .onnx")
    need_torch()
    from whosthat.research.minifasnet import export_minifasnet, is_weights_folder

    if is_weights_folder(checkpoint):
        if data is None:
            raise BadInputError("exporting MiniFASNet needs --data (a NUAA folder)")
        need_folder(data)
        from whosthat.research.reporting import data_as_env

        command = f"whosthat export $MINIFASNET_DIR --data {data_as_env(data)} --out {out}"
        with contextlib.redirect_stdout(sys.stderr):
            result = export_minifasnet(checkpoint, data, out, command=command)
        emit(
            result,
            as_json,
            [
                f"exported pad-minifasnet to {result['path']} (threshold {result['threshold']:.4f}, max |onnx - "
                f"torch| = {result['parity_max_abs_diff']:.2e} on {result['parity_frames']} NUAA frames); card "
                f"{result['card']}, licence {result['licence']}"
            ],
        )
        return
    with contextlib.redirect_stdout(sys.stderr):
        result = export_checkpoint(checkpoint, out, name=name, threshold=threshold)
    emit(
        result,
        as_json,
        [
            f"exported {result['name']} to {result['path']} (max |onnx - torch| = {result['parity_max_abs_diff']:.2e}); "
            f"card {result['card']}"
        ],
    )


# ---------------------------------------------------------------- liveness models
# The eye-state training recipe, shared by `train eyes` and `train eyes-cv`.
SeedOpt = Annotated[int, typer.Option(help="random seed (split, augmentation, initialisation)")]
EpochsOpt = Annotated[int, typer.Option(min=1, max=500)]
WidthOpt = Annotated[int, typer.Option(min=4, max=64, help="channels of the first conv layer")]
ThreadsOpt = Annotated[int, typer.Option(min=1, max=8, help="torch CPU threads per network")]
AugmentOpt = Annotated[
    str,
    typer.Option(help="fixed: one draw of augmented copies (the seed's); online: fresh copies every epoch"),
]
HeadOpt = Annotated[
    str, typer.Option(help="gap: global average pool; fc: one unit on the whole last feature map")
]
SmoothingOpt = Annotated[float, typer.Option(min=0.0, max=0.5, help="label smoothing")]
EmaOpt = Annotated[
    float, typer.Option(min=0.0, max=0.9999, help="weight moving-average decay per step (0: off)")
]
JobsOpt = Annotated[int, typer.Option(min=1, max=16, help="networks trained at a time (processes)")]


def _recipe(**options):
    """The training recipe of `train eyes` / `train eyes-cv` from their options; a bad value exits 2."""
    from whosthat.research.eyes import EyeRecipe

    try:
        return EyeRecipe(**options)
    except ValueError as exc:
        raise BadInputError(f"--{exc}") from exc


def train_eyes_command(
    data: DatasetOpt,
    out: Annotated[
        Path | None, typer.Option("--out", help="output folder (default: $WHOSTHAT_HOME/models)")
    ] = None,
    seed: SeedOpt = 0,
    epochs: EpochsOpt = 20,
    width: WidthOpt = 16,
    threads: ThreadsOpt = 1,
    augment: AugmentOpt = "fixed",
    head: HeadOpt = "gap",
    smoothing: SmoothingOpt = 0.0,
    ema: EmaOpt = 0.0,
    members: Annotated[
        int,
        typer.Option(
            min=0,
            max=16,
            help="0: ship the best network trained on the training faces; M: choose the augmentation on "
            "validation, then average M networks trained on training + validation faces",
        ),
    ] = 0,
    jobs: JobsOpt = 1,
) -> None:
    """Train the eye-state CNN on CEW-layout patches; x1 / x1.5 / x2 augmentation compared; ONNX export."""
    need_folder(data)
    need_torch()
    recipe = _recipe(
        seed=seed,
        epochs=epochs,
        width=width,
        threads=threads,
        augment=augment,
        head=head,
        smoothing=smoothing,
        ema=ema,
    )
    from whosthat.models.zoo import user_models_dir
    from whosthat.research.eyes import train_eyes

    out = out or user_models_dir()
    report = train_eyes(data, out, recipe, members=members, jobs=jobs)
    final = report["final"]
    echo_json(
        {k: report[k] for k in ("chosen", "threshold", "onnx", "split")}
        | {
            "shipped": final["name"],
            "test_accuracy": final["test"]["accuracy"],
            "test_face_accuracy": final["test"]["faces"]["accuracy"],
            "variants": [
                {
                    "name": v["name"],
                    "validation_accuracy": v["validation"]["accuracy"],
                    "test_accuracy": v["test"]["accuracy"],
                }
                for v in report["variants"]
            ],
            "out": str(out),
        }
    )


def train_eyes_cv_command(
    data: DatasetOpt,
    folds: Annotated[int, typer.Option(min=2, max=20, help="folds over the training + validation faces")] = 5,
    factor: Annotated[float, typer.Option(min=1.0, max=4.0, help="training set size x1, x1.5, x2 ...")] = 2.0,
    seed: SeedOpt = 0,
    epochs: EpochsOpt = 20,
    width: WidthOpt = 16,
    threads: ThreadsOpt = 1,
    augment: AugmentOpt = "fixed",
    head: HeadOpt = "gap",
    smoothing: SmoothingOpt = 0.0,
    ema: EmaOpt = 0.0,
    jobs: JobsOpt = 1,
    out: Annotated[
        Path | None, typer.Option("--out", help="write cv.json (with every prediction) here")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Cross-validate one eye-state recipe on the training + validation faces (never the test faces):
    out-of-fold accuracy per patch and per face, AUC. Tells recipes apart where 582 validation patches cannot."""
    need_folder(data)
    need_torch()
    recipe = _recipe(
        seed=seed,
        epochs=epochs,
        width=width,
        threads=threads,
        augment=augment,
        head=head,
        smoothing=smoothing,
        ema=ema,
    )
    from whosthat.research.eyes import cross_validate_eyes

    report = cross_validate_eyes(data, recipe, folds=folds, factor=factor, jobs=jobs)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "cv.json").write_text(json.dumps(report, indent=2) + "\n")
    summary = {k: v for k, v in report.items() if k != "predictions"}
    if as_json:
        echo_json(summary)
        return
    m = report["out_of_fold"]
    typer.echo(f"{report['recipe']}")
    typer.echo(
        f"{folds}-fold out-of-fold on {m['n']} patches: accuracy {m['accuracy']:.4f} "
        f"({m['confusion']['true_open_pred_closed'] + m['confusion']['true_closed_pred_open']} wrong), "
        f"AUC {m['auc']:.4f}; per face {m['faces']['accuracy']:.4f} ({m['faces']['errors']} of {m['faces']['n']} wrong)"
    )
    typer.echo("per fold: " + "  ".join(f"{a:.4f}" for a in report["fold_accuracy"]))


def train_pad_command(
    data: DatasetOpt,
    out: Annotated[
        Path | None, typer.Option("--out", help="output folder (default: $WHOSTHAT_HOME/models)")
    ] = None,
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
    epochs: Annotated[int, typer.Option(min=1, max=500)] = 12,
    sessions: Annotated[
        str | None,
        typer.Option(
            help="comma-separated NUAA sessions to train and validate on (default all): the test subjects' "
            "other sessions are then outside every training set"
        ),
    ] = None,
) -> None:
    """Train the print-attack detector on NUAA (ClientRaw live, ImposterRaw printed photos); ONNX export."""
    need_folder(data)
    need_torch()
    from whosthat.models.zoo import user_models_dir
    from whosthat.research.pad import train_pad

    out = out or user_models_dir()
    chosen = sorted({v.strip() for v in sessions.split(",") if v.strip()}) if sessions else None
    report = train_pad(data, out, seed=seed, epochs=epochs, sessions=chosen)
    echo_json(
        {k: report.get(k) for k in ("chosen", "threshold", "onnx", "split", "test")} | {"out": str(out)}
    )


# ---------------------------------------------------------------- detector box mapping
def calibrate_boxes_command(
    data: Annotated[
        Path,
        typer.Option("--data", help="LFW folder (pairs.txt + lfw-deepfunneled/); with --mesh a NUAA folder"),
    ],
    images: Annotated[int, typer.Option(help="how many images to fit on")] = 600,
    seed: int = 0,
    mesh: Annotated[
        bool,
        typer.Option(
            "--mesh",
            help="fit the face-mesh box -> print-attack detectors' boxes instead (NUAA frames of the NUAA "
            "CNN's training subjects; needs --retinaface)",
        ),
    ] = False,
    retinaface: Annotated[
        Path | None,
        typer.Option(
            "--retinaface", help="folder of MiniFASNet's RetinaFace detector (deploy.prototxt, .caffemodel)"
        ),
    ] = None,
) -> None:
    """Fit the MediaPipe -> dlib box mapping on LFW images that no pairs.txt pair uses (or, with --mesh,
    the face-mesh box -> print-attack detector boxes on NUAA)."""
    if mesh:
        need_folder(data)
        if retinaface is None or not retinaface.is_dir():
            raise BadInputError("--mesh needs --retinaface DIR (the folder holding deploy.prototxt)")
        from whosthat.research.pad_frames import calibrate_mesh_boxes
        from whosthat.research.reporting import data_as_env

        command = f"whosthat calibrate-boxes --mesh --data {data_as_env(data)} --retinaface $MINIFASNET_DIR"
        typer.echo(json.dumps(calibrate_mesh_boxes(data, retinaface, command=command), indent=2))
        return
    from whosthat.vision.box_calibration import calibrate_boxes

    command = f"whosthat calibrate-boxes --data {data} --images {images} --seed {seed}"
    calib = calibrate_boxes(data, images=images, seed=seed, command=command)
    typer.echo(json.dumps(calib, indent=2))


def calibrate_embedders_command(
    data: PopulationDataOpt = None,
    target_fmr: Annotated[
        float, typer.Option("--target-fmr", help="the false-match rate each population must keep")
    ] = 1e-3,
    safety: Annotated[
        float, typer.Option("--safety", help="thresholds are set at target-fmr / safety on the tune parts")
    ] = 2.0,
    flip: FlipOpt = None,
    nuaa: Annotated[
        str,
        typer.Option(
            "--nuaa",
            help="NUAA subjects the thresholds are chosen on: tune (5 subjects; the other 4 stay held out) or "
            "all (the 9; docs/benchmarks.md says why the shipped cards use all)",
        ),
    ] = "all",
    write: Annotated[
        bool, typer.Option("--write/--dry-run", help="write the model cards (src/whosthat/models)")
    ] = True,
    report: Annotated[
        bool,
        typer.Option(
            "--report/--no-report", help="then measure the report parts at the thresholds just chosen"
        ),
    ] = False,
    lfw_folds: Annotated[
        list[int] | None, typer.Option("--lfw-fold", help="with --report: only this View 2 fold (repeatable)")
    ] = None,
    weight_rule: Annotated[
        str,
        typer.Option(
            "--weight-rule",
            help="how the fusion weight is chosen on the grid: fnmr (lowest mean tune FNMR at the common "
            "threshold) or lfw-accuracy (highest LFW View 1 accuracy)",
        ),
    ] = "fnmr",
    models: Annotated[
        str | None,
        typer.Option(
            "--models",
            help="comma-separated built-in embedders to calibrate and write (default: all of "
            "dlib-resnet-v1,sface-2021dec,dlib+sface,sface-2021dec-yunet,dlib+sface-yunet)",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Choose the fusions' normalisation and weights and each built-in embedder's threshold (and a 1:N
    margin) on the tune parts of LFW, NUAA and CelebA; write them into the model cards."""
    from whosthat.commands.evaluate import _names
    from whosthat.vision.embedder_calibration import calibrate_embedders, write_cards

    if not 0 < target_fmr < 1 or safety < 1:
        raise BadInputError("--target-fmr must be in (0, 1) and --safety at least 1")
    if nuaa not in ("tune", "all"):
        raise BadInputError("--nuaa must be tune or all")
    if weight_rule not in ("fnmr", "lfw-accuracy"):
        raise BadInputError("--weight-rule must be fnmr or lfw-accuracy")
    result = calibrate_embedders(
        data_root(data),
        target_fmr=target_fmr,
        safety=safety,
        flip=flip_setting(flip),
        nuaa_part=nuaa,
        log=log,
        weight_rule=weight_rule,
        names=_names(models),
    )
    command = "whosthat " + " ".join(sys.argv[1:])
    if write:
        for path in write_cards(result, command):
            log(f"wrote {path}")
    printable = {k: v for k, v in result.items() if k != "fusion_embedders"}
    if report:
        from whosthat.commands.evaluate import rates_table
        from whosthat.vision.embedder_calibration import report_rates

        thresholds = {name: card["threshold"] for name, card in result["embedders"].items()}
        printable["report"] = report_rates(
            data_root(data),
            names=tuple(result["embedders"]),
            thresholds=thresholds,
            fusions=result["fusion_embedders"],
            flip=flip_setting(flip),
            lfw_folds=tuple(fold_indices(lfw_folds)),
            log=log,
        )
        if not as_json:
            typer.echo("\n".join(rates_table(printable["report"])))
    if as_json:
        sys.stdout.write(json.dumps(printable, default=float) + "\n")
        return
    for fused_name, f in result["fusions"].items():
        typer.echo(f"{fused_name}: weight (dlib) {f['weight_dlib']:.2f}; normalisation {f['normalisation']}")
    for name, card in result["embedders"].items():
        fnmr = ", ".join(f"{p} {r['fnmr']:.4f}" for p, r in card["tune_rates"].items())
        typer.echo(
            f"{name}: threshold {card['threshold']:.4f} (per population {card['threshold_by_population']}); "
            f"tune FNMR {fnmr}; margin {card['margin']['recommended']}"
        )


def calibrate_sface_command(
    data: Annotated[Path, typer.Option("--data", help="LFW folder (pairs files + lfw-deepfunneled/)")],
    images: Annotated[int, typer.Option(help="how many photos to fit on")] = 600,
    seed: int = 0,
    fit: Annotated[
        bool, typer.Option("--fit/--no-fit", help="fit the map (--no-fit: only the View 1 check)")
    ] = True,
    compare: Annotated[
        bool, typer.Option("--compare/--no-compare", help="also compare with YuNet's alignment on LFW View 1")
    ] = True,
    write: Annotated[
        bool, typer.Option("--write/--dry-run", help="write src/whosthat/models/sface_chip_alignment.json")
    ] = True,
    as_json: JsonOpt = False,
) -> None:
    """Fit the fixed map from the dlib chip to SFace's 112x112 crop on LFW photos no pair uses, and
    measure on LFW View 1 how SFace does with it against YuNet's own five points."""
    import random

    from whosthat.datasets import lfw
    from whosthat.vision import sface
    from whosthat.vision.embedder_calibration import sface_alignment_view1

    lfw_dir = lfw.lfw_root(data)
    root = lfw_dir / lfw.IMAGES_DIR
    result: dict = {}
    if compare and not fit:
        result["view1"] = sface_alignment_view1(lfw_dir)
        _print_sface_check(result, as_json)
        return
    pair_files = ("pairs.txt", "pairsDevTrain.txt", "pairsDevTest.txt")
    used = {x for name in pair_files for p in lfw.read_pairs(lfw_dir, name) for x in (p.path_a, p.path_b)}
    pool = sorted(set(str(p.relative_to(root)) for p in root.glob("*/*.jpg")) - used)
    random.Random(seed).shuffle(pool)
    matrix, used_count = sface.fit_chip_map([root / f for f in pool[:images]])
    result = {
        "matrix": [[round(float(v), 6) for v in row] for row in matrix],
        "maps": "dlib chip pixels (150x150, dlib.get_face_chip padding 0.25) -> SFace crop pixels (112x112)",
        "fitted_on": f"{used_count} LFW deep-funneled images that no pair of View 1 or View 2 uses "
        f"({images} drawn with seed {seed}; {images - used_count} had no central face for YuNet or the pipeline)",
        "statistic": "similarity (Umeyama) from the median YuNet 5 points in chip coordinates onto ArcFace's "
        "112x112 template",
        "command": f"whosthat calibrate-sface --data {data} --images {images} --seed {seed}",
    }
    if write:
        sface.CHIP_MAP_FILE.write_text(json.dumps(result, indent=2) + "\n")
        sface.chip_map.cache_clear()
        log(f"wrote {sface.CHIP_MAP_FILE}")
    if compare:
        result["view1"] = sface_alignment_view1(lfw_dir)
    _print_sface_check(result, as_json)


def _print_sface_check(result: dict, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(result) + "\n")
        return
    if "matrix" in result:
        typer.echo(json.dumps({k: v for k, v in result.items() if k != "view1"}, indent=2))
    for name, r in result.get("view1", {}).items():
        typer.echo(
            f"LFW View 1 pairsDevTest (10-fold), SFace {name}: {100 * r['accuracy']:.2f}% on all 1,000 pairs "
            f"({r['no_face']} of {r['images']} photos without a face: their pairs count as errors); "
            f"{100 * r['accuracy_where_both_found_faces']:.2f}% on the {r['pairs_where_both_found_faces']} pairs "
            "where both alignments found every face"
        )
