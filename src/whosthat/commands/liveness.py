"""Command-line verbs of liveness at serve time: run the eye-state model and the print-attack detector
on images, and the per-frame liveness benchmark. Training and evaluation of these models:
commands.research and commands.evaluate.

    whosthat eyes IMG... [--json]      whosthat pad IMG... [--json]      whosthat bench liveness [--frames N] [--json]
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from whosthat.commands.options import JsonOpt, ModelFileOpt
from whosthat.commands.options import echo_json as _echo_json


# ---------------------------------------------------------------- eye state
def eyes_command(
    images: Annotated[
        list[Path], typer.Argument(help="eye images of any size (resized to the model's input)")
    ],
    model: ModelFileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Closed-eye probability for each eye image: one JSON line per image {"path", "closed_prob"}."""
    from whosthat.liveness.eyes import EyeStateClassifier, get_eye_classifier
    from whosthat.vision.image import decode_image

    clf = EyeStateClassifier(model) if model is not None else get_eye_classifier()
    patches = [decode_image(p) for p in images]
    probs = clf.closed_prob(patches)
    for path, p in zip(images, probs, strict=True):
        row = {"path": str(path), "closed_prob": round(float(p), 4)}
        if as_json:
            _echo_json(row)
        else:
            typer.echo(f"{path}\t{'closed' if p >= clf.threshold else 'open'}\t{p:.4f}")


# ---------------------------------------------------------------- print attacks
def pad_command(
    images: Annotated[list[Path], typer.Argument(help="photos with one face")],
    model: Annotated[
        Path | None, typer.Option("--model", help="ONNX file (default: the configured print-attack model)")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Print-attack probability per image: one JSON line {"path", "face_found", "attack_prob", "attack"}.

    The face is found and cropped as the kiosk's challenge does it: the face mesh's box, mapped onto the
    model's own box convention (liveness.pad)."""
    from whosthat.liveness.mesh import FaceMeshTracker
    from whosthat.liveness.pad import get_pad_detector, open_pad_model
    from whosthat.vision.image import decode_image

    det = open_pad_model(model) if model is not None else get_pad_detector()
    with FaceMeshTracker(static_image_mode=True) as tracker:
        for path in images:
            rgb = decode_image(path)
            face = tracker.analyse(rgb)
            if face is None:
                row = {"path": str(path), "face_found": False, "attack_prob": None}
            else:
                p = det.attack_prob_mesh(rgb, face.box)
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
    pad: Annotated[
        bool, typer.Option("--pad/--no-pad", help="include the print-attack detector on the frames it scores")
    ] = True,
    as_json: JsonOpt = False,
) -> None:
    """Per-frame liveness processing at 640x480 (face mesh + eye state + head pose + print-attack detector on
    the frames the challenge scores): median, p90 and mean in ms."""
    from whosthat.liveness.bench import bench_liveness

    report = bench_liveness(frames=frames, image=image, pad=pad)
    if as_json:
        _echo_json(report)
        return
    typer.echo(
        f"{report['frames']} frames {report['width']}x{report['height']}: median {report['median_ms']:.2f} ms, "
        f"p90 {report['p90_ms']:.2f} ms, CPU {report['cpu_median_ms']:.2f} ms, load {report['load_average']} (mesh {report['stages_median_ms']['mesh']:.2f}, "
        f"eye state {report['stages_median_ms']['eye_state']:.2f}, "
        f"pose+EAR+patches {report['stages_median_ms']['pose_ear_patches']:.2f}"
        + (
            f", print attack {report['stages_median_ms']['pad']:.2f} on {report['pad_frames']} frames"
            if report["pad_frames"]
            else ""
        )
        + f"); mean {report['mean_ms']:.2f} ms, CPU mean {report['cpu_mean_ms']:.2f} ms"
        + (
            f", print attack CPU {report['pad_cpu_median_ms']:.2f} ms per scored frame"
            if report["pad_frames"]
            else ""
        )
    )
