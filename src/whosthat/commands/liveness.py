"""Command-line verbs of liveness: train/eval/run the eye-state model and the print-attack detector,
and the per-frame liveness benchmark.

    whosthat train eyes --data DIR      whosthat eval eyes --data DIR      whosthat eyes IMG... [--json]
    whosthat train eyes-cv --data DIR   (cross-validates a recipe on the training + validation faces)
    whosthat train pad --data DIR       whosthat eval pad --data DIR       whosthat pad IMG... [--json]
    whosthat bench liveness [--frames N] [--json]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from whosthat.errors import BadInputError

JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output on stdout")]
DataOpt = Annotated[Path, typer.Option("--data", help="dataset folder")]
ModelPathOpt = Annotated[Path | None, typer.Option("--model", help="ONNX file (default: the shipped model)")]


def _echo_json(obj) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")


def _need_folder(path: Path) -> Path:
    if not path.is_dir():
        raise BadInputError(f"--data {path}: not a folder")
    return path


def _need_torch() -> None:
    try:
        import torch  # noqa: F401
    except ModuleNotFoundError as exc:
        raise BadInputError("training needs the [train] extra: pip install 'whosthat[train]'") from exc


# ---------------------------------------------------------------- eye state
# The training recipe, shared by `train eyes` and `train eyes-cv`.
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
    from whosthat.liveness.train_eyes import EyeRecipe

    try:
        return EyeRecipe(**options)
    except ValueError as exc:
        raise BadInputError(f"--{exc}") from exc


def train_eyes_command(
    data: DataOpt,
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
    _need_folder(data)
    _need_torch()
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
    from whosthat.config import get_settings
    from whosthat.liveness.train_eyes import train_eyes

    out = out or get_settings().home / "models"
    report = train_eyes(data, out, recipe, members=members, jobs=jobs)
    final = report["final"]
    _echo_json(
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
    data: DataOpt,
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
    _need_folder(data)
    _need_torch()
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
    from whosthat.liveness.train_eyes import cross_validate_eyes

    report = cross_validate_eyes(data, recipe, folds=folds, factor=factor, jobs=jobs)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "cv.json").write_text(json.dumps(report, indent=2) + "\n")
    summary = {k: v for k, v in report.items() if k != "predictions"}
    if as_json:
        _echo_json(summary)
        return
    m = report["out_of_fold"]
    typer.echo(f"{report['recipe']}")
    typer.echo(
        f"{folds}-fold out-of-fold on {m['n']} patches: accuracy {m['accuracy']:.4f} "
        f"({m['confusion']['true_open_pred_closed'] + m['confusion']['true_closed_pred_open']} wrong), "
        f"AUC {m['auc']:.4f}; per face {m['faces']['accuracy']:.4f} ({m['faces']['errors']} of {m['faces']['n']} wrong)"
    )
    typer.echo("per fold: " + "  ".join(f"{a:.4f}" for a in report["fold_accuracy"]))


def eval_eyes_command(
    data: DataOpt,
    model: ModelPathOpt = None,
    out: Annotated[Path | None, typer.Option("--out", help="write report.json and roc.png here")] = None,
    split: Annotated[
        str, typer.Option(help="all, or train/validation/test of `train eyes`' face split")
    ] = "all",
    seed: Annotated[int, typer.Option(help="the split's seed (as given to `train eyes`)")] = 0,
    as_json: JsonOpt = False,
) -> None:
    """Accuracy, AUC and confusion matrix of the eye-state model on any CEW-layout folder."""
    _need_folder(data)
    from whosthat.liveness.evaluate import evaluate_eyes

    report = evaluate_eyes(data, model, out, split=split, seed=seed)
    if as_json:
        _echo_json(report)
        return
    c = report["confusion"]
    typer.echo(
        f"model {report['model']}  data {data} ({report['split']})  n={report['n']} (closed {report['n_closed']})"
    )
    typer.echo(
        f"accuracy {report['accuracy']:.4f}  AUC {report['auc']:.4f}  threshold {report['threshold']:.3f}"
    )
    typer.echo("confusion (rows true, cols predicted)   open   closed")
    typer.echo(
        f"  open                                {c['true_open_pred_open']:5d}  {c['true_open_pred_closed']:6d}"
    )
    typer.echo(
        f"  closed                              {c['true_closed_pred_open']:5d}  {c['true_closed_pred_closed']:6d}"
    )
    f = report["faces"]
    typer.echo(
        f"per face (eyes of one face averaged, as the kiosk decides): {f['n']} faces, accuracy "
        f"{f['accuracy']:.4f} ({f['errors']} wrong)"
    )


def eyes_command(
    images: Annotated[
        list[Path], typer.Argument(help="eye images of any size (resized to the model's input)")
    ],
    model: ModelPathOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Closed-eye probability for each eye image: one JSON line per image {"path", "closed_prob"}."""
    from whosthat.liveness.eyes import DEFAULT_EYE_MODEL, EyeStateClassifier
    from whosthat.vision.image import decode_image

    clf = EyeStateClassifier(model or DEFAULT_EYE_MODEL)
    patches = [decode_image(p) for p in images]
    probs = clf.closed_prob(patches)
    for path, p in zip(images, probs, strict=True):
        row = {"path": str(path), "closed_prob": round(float(p), 4)}
        if as_json:
            _echo_json(row)
        else:
            typer.echo(f"{path}\t{'closed' if p >= clf.threshold else 'open'}\t{p:.4f}")


# ---------------------------------------------------------------- print attacks
def train_pad_command(
    data: DataOpt,
    out: Annotated[
        Path | None, typer.Option("--out", help="output folder (default: $WHOSTHAT_HOME/models)")
    ] = None,
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
    epochs: Annotated[int, typer.Option(min=1, max=500)] = 12,
) -> None:
    """Train the print-attack detector on NUAA (ClientRaw live, ImposterRaw printed photos); ONNX export."""
    _need_folder(data)
    _need_torch()
    from whosthat.config import get_settings
    from whosthat.liveness.train_pad import train_pad

    out = out or get_settings().home / "models"
    report = train_pad(data, out, seed=seed, epochs=epochs)
    _echo_json(
        {k: report.get(k) for k in ("chosen", "threshold", "onnx", "split", "test")} | {"out": str(out)}
    )


def eval_pad_command(
    data: DataOpt,
    model: ModelPathOpt = None,
    subjects: Annotated[
        str | None, typer.Option(help="comma-separated subject ids to score (default: all)")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="write report.json and det.png here")] = None,
    as_json: JsonOpt = False,
) -> None:
    """APCER, BPCER and ACER (ISO/IEC 30107-3) at the model's operating threshold on a NUAA-layout folder."""
    _need_folder(data)
    from whosthat.liveness.evaluate import evaluate_pad

    report = evaluate_pad(data, model, out, subjects=subjects)
    if as_json:
        _echo_json(report)
        return
    typer.echo(
        f"model {report['model']}  data {data}  live {report['n_live']}  attacks {report['n_attack']}"
        f"  no face {report['no_face']}"
    )
    typer.echo(
        f"threshold {report['threshold']:.3f}  APCER {report['apcer']:.4f}  BPCER {report['bpcer']:.4f}"
        f"  ACER {report['acer']:.4f}  AUC {report['auc']:.4f}"
    )


def pad_command(
    images: Annotated[list[Path], typer.Argument(help="photos with one face")],
    model: ModelPathOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Print-attack probability per image: one JSON line {"path", "face_found", "attack_prob"}."""
    from whosthat.liveness.pad import DEFAULT_PAD_MODEL, PrintAttackDetector
    from whosthat.vision.detect import get_detector
    from whosthat.vision.image import decode_image

    det = PrintAttackDetector(model or DEFAULT_PAD_MODEL)
    detector = get_detector("mediapipe")
    any_attack = False
    for path in images:
        rgb = decode_image(path)
        faces = detector.detect(rgb)
        if not faces:
            row = {"path": str(path), "face_found": False, "attack_prob": None}
        else:
            p = det.attack_prob_box(rgb, faces[0].box)
            any_attack |= p >= det.threshold
            row = {
                "path": str(path),
                "face_found": True,
                "attack_prob": round(p, 4),
                "attack": bool(p >= det.threshold),
            }
        if as_json:
            _echo_json(row)
        else:
            verdict = "no face" if not row["face_found"] else ("ATTACK" if row["attack"] else "live")
            typer.echo(f"{path}\t{verdict}\t{row['attack_prob']}")


# ---------------------------------------------------------------- benchmark
def bench_liveness_command(
    frames: Annotated[int, typer.Option(min=5, max=10000, help="frames to time")] = 200,
    image: Annotated[
        Path | None, typer.Option(help="face photo to use (default: scikit-image's astronaut)")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Per-frame liveness processing at 640x480 (face mesh + eye state + head pose): median and p90 in ms."""
    from whosthat.liveness.bench import bench_liveness

    report = bench_liveness(frames=frames, image=image)
    if as_json:
        _echo_json(report)
        return
    typer.echo(
        f"{report['frames']} frames {report['width']}x{report['height']}: median {report['median_ms']:.2f} ms, "
        f"p90 {report['p90_ms']:.2f} ms, CPU {report['cpu_median_ms']:.2f} ms, load {report['load_average']} (mesh {report['stages_median_ms']['mesh']:.2f}, "
        f"eye state {report['stages_median_ms']['eye_state']:.2f}, "
        f"pose+EAR+patches {report['stages_median_ms']['pose_ear_patches']:.2f})"
    )
