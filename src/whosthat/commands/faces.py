"""Command-line verbs of the face pipeline: models, embed, verify, bench (eval lfw: commands.evaluate;
calibrate-boxes: commands.research)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from whosthat.commands.options import JsonOpt
from whosthat.commands.options import echo_json as _echo_json
from whosthat.errors import BadInputError

ModelOpt = Annotated[str | None, typer.Option("--model", help="embedder name (see `whosthat models`)")]
DetectorOpt = Annotated[
    str | None,
    typer.Option(
        "--detector",
        help="auto (MediaPipe, HOG-refined boxes, HOG fallback), auto-unrefined, auto-upsample, mediapipe or hog",
    ),
]


PurposeOpt = Annotated[
    str,
    typer.Option(
        "--purpose",
        help="research (default: the dominant face whatever its size, its quality reported), login (the "
        "kiosk's size rule) or enrol (every enrolment rule)",
    ),
]
PURPOSE_NAMES = {"research": "research", "login": "login", "enrol": "enroll", "enroll": "enroll"}


def _purpose(value: str) -> str:
    """The pipeline's purpose for the --purpose word; BadInputError for anything else."""
    if value not in PURPOSE_NAMES:
        raise BadInputError(f"--purpose must be research, login or enrol, not {value!r}")
    return PURPOSE_NAMES[value]


def _quality_note(result) -> str:
    """One line about a research embedding's face: its size and what the enrolment rules would say."""
    q = result.quality
    note = f"face {q.face_px:.0f} px, quality {q.score:.2f}"
    return note + (f" ({'; '.join(q.reasons)})" if q.reasons else "")


def models_command(as_json: JsonOpt = False) -> None:
    """List every shipped or exported model: name, kind, source, card."""
    from whosthat.models import zoo

    rows = [entry.to_dict() for entry in zoo.entries()]
    if as_json:
        for row in rows:
            _echo_json(row)
        return
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        typer.echo(f"{r['name']:<{width}}  {r['kind']:<9}  {r['source']}")


def _pipeline(model, detector):
    from whosthat.vision.pipeline import get_pipeline

    return get_pipeline(embedder=model, detector=detector)


def embed_command(
    images: Annotated[list[Path], typer.Argument(help="image files")],
    model: ModelOpt = None,
    detector: DetectorOpt = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="write paths, embeddings, found, model to FILE.npz")
    ] = None,
    purpose: PurposeOpt = "research",
    as_json: JsonOpt = False,
) -> None:
    """Embed the dominant face of each image (by default whatever its size; --purpose login|enrol
    applies the kiosk's or the enrolment rules). Files without a usable face are reported, not dropped."""
    from whosthat.vision.image import decode_image

    use = _purpose(purpose)
    pipe = _pipeline(model, detector)
    vectors, found, reasons, qualities = [], [], [], []
    for path in images:
        quality = None
        try:
            result = pipe.embed_single(decode_image(path), purpose=use)
            vec, ok, reason, quality = result.embedding, True, None, result.quality
        except BadInputError as exc:
            vec, ok, reason = np.full(pipe.embedder.dim, np.nan, np.float32), False, str(exc)
        qualities.append(quality)
        vectors.append(vec)
        found.append(ok)
        reasons.append(reason)
        if as_json:
            _echo_json(
                {
                    "path": str(path),
                    "found": ok,
                    "model": pipe.model,
                    "reason": reason,
                    "quality": quality.to_dict() if quality is not None else None,
                    "embedding": [round(float(v), 6) for v in vec] if ok else None,
                }
            )
        elif not out:
            typer.echo(
                f"{path}: "
                + (
                    f"{pipe.model} {len(vec)}-D, {_quality_note(result)}"
                    if ok
                    else f"no embedding ({reason})"
                )
            )
    if out:
        np.savez(
            out,
            paths=np.array([str(p) for p in images]),
            embeddings=np.stack(vectors).astype(np.float32),
            found=np.array(found),
            face_px=np.array([q.face_px if q is not None else np.nan for q in qualities], np.float32),
            model=np.array(pipe.model),
        )
        typer.echo(f"wrote {out}: {sum(found)} of {len(images)} images embedded", err=True)
    if not any(found):
        raise typer.Exit(2)


def verify_command(
    image_a: Path,
    image_b: Path,
    model: ModelOpt = None,
    detector: DetectorOpt = None,
    purpose: PurposeOpt = "research",
    as_json: JsonOpt = False,
) -> None:
    """Are these two photos the same person? Exit 0 same, 1 different, 2 bad input. By default the
    dominant face of each whatever its size (--purpose login|enrol: the kiosk's or enrolment rules)."""
    from whosthat.gallery.threshold import is_match, match_threshold
    from whosthat.vision.image import decode_image

    use = _purpose(purpose)
    pipe = _pipeline(model, detector)
    results = []
    for path in (image_a, image_b):
        try:
            results.append(pipe.embed_single(decode_image(path), purpose=use))
        except BadInputError as exc:
            raise BadInputError(f"{path}: {exc}") from None
    distance = pipe.distance(results[0].embedding, results[1].embedding)
    threshold = match_threshold(pipe.embedder)
    same = is_match(distance, threshold)
    out = {
        "same": bool(same),
        "distance": round(distance, 4),
        "threshold": round(threshold, 4),
        "model": pipe.model,
        "quality": [r.quality.to_dict() for r in results],
    }
    if as_json:
        _echo_json(out)
    else:
        typer.echo(
            f"{'same person' if same else 'different people'}: distance {distance:.3f} "
            f"(threshold {threshold:.3f}, {pipe.model})"
        )
        for path, r in zip((image_a, image_b), results, strict=True):
            typer.echo(f"  {path}: {_quality_note(r)}")
    raise typer.Exit(0 if same else 1)


def _bench_images(data: Path | None, count: int) -> tuple[list[bytes], str]:
    """Encoded real photos for the benchmark: NUAA webcam frames (640x480) when the data is there,
    else LFW, else the astronaut portrait placed on a 640x480 canvas."""
    from whosthat.config import get_settings
    from whosthat.vision.image import encode_jpeg

    root = data or get_settings().data
    if root:
        for pattern, label in (
            ("nuaa/ClientRaw/*/*.jpg", "NUAA live webcam frames, 640x480"),
            ("lfw/lfw-deepfunneled/*/*.jpg", "LFW deep-funneled, 250x250"),
        ):
            files = sorted(Path(root).glob(pattern))
            if len(files) >= count:
                step = len(files) / count
                return [files[int(i * step)].read_bytes() for i in range(count)], label
    from skimage import data as skdata

    canvas = np.full((480, 640, 3), 128, np.uint8)
    canvas[:, 64:576] = skdata.astronaut()[32:512]
    return [encode_jpeg(canvas)] * count, "the astronaut portrait on a 640x480 canvas (no WHOSTHAT_DATA)"


def bench_command(
    ctx: typer.Context,
    images: Annotated[int, typer.Option(help="how many real images")] = 120,
    data: Annotated[Path | None, typer.Option("--data", help="dataset root (default WHOSTHAT_DATA)")] = None,
    detector: DetectorOpt = None,
    model: ModelOpt = None,
    flip: Annotated[
        bool | None,
        typer.Option("--flip/--no-flip", help="mirror test-time augmentation (default: WHOSTHAT_FLIP_TTA)"),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Median per-stage CPU latency of the face pipeline (decode, detect, landmarks, align, embed),
    1:N search time at gallery sizes up to 100,000, and end-to-end throughput."""
    if ctx.invoked_subcommand is not None:
        return
    import platform

    from tqdm import tqdm

    from whosthat.config import get_settings
    from whosthat.vision.align import dlib_chip
    from whosthat.vision.embedders import embed_frame, looks_at_frame
    from whosthat.vision.image import decode_image
    from whosthat.vision.pipeline import FacePipeline

    settings = get_settings()
    encoded, source = _bench_images(data, images)
    flip = settings.flip_tta if flip is None else flip
    pipe = FacePipeline(
        detector=detector or settings.detector,
        embedder=model or settings.embedder or "dlib-resnet-v1",
        flip=flip,
    )
    load_before = os.getloadavg()[0]
    pipe.embed_single(decode_image(encoded[0]))  # warm up: models load lazily
    stages: dict[str, list[float]] = {
        k: [] for k in ("decode", "detect", "landmarks", "align", "embed", "total")
    }
    faces = 0
    for blob in tqdm(encoded, desc="benchmark", file=sys.stderr):
        t0 = time.perf_counter()
        rgb = decode_image(blob)
        t1 = time.perf_counter()
        dets = pipe.detect(rgb)
        t2 = time.perf_counter()
        if not dets:
            continue
        shape = pipe.landmarker.shape(rgb, dets[0])
        t3 = time.perf_counter()
        chip = dlib_chip(rgb, shape)
        t4 = time.perf_counter()
        if looks_at_frame(pipe.embedder):  # YuNet's square and its crop are part of the embed stage
            embed_frame(pipe.embedder, rgb, dets[0].box, chip)
        else:
            pipe.embedder.embed(chip[None])
        t5 = time.perf_counter()
        faces += 1
        for key, value in zip(stages, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t5 - t0), strict=True):
            stages[key].append(value * 1000)
    if not faces:
        raise BadInputError("no face found in any benchmark image")
    # 1:N search: exact Euclidean top-1 over random unit vectors (the cost does not depend on content).
    rng = np.random.default_rng(0)
    search = {}
    for n in (1_000, 10_000, 100_000):
        gallery = rng.standard_normal((n, 128)).astype(np.float32)
        gallery /= np.linalg.norm(gallery, axis=1, keepdims=True)
        sq = (gallery**2).sum(1)
        probe = gallery[7] + 0.01
        times = []
        for _ in range(30):
            t = time.perf_counter()
            d = sq - 2 * gallery @ probe
            int(np.argmin(d))
            times.append((time.perf_counter() - t) * 1000)
        search[n] = float(np.median(times))
    report = {
        "images": len(encoded),
        "faces": faces,
        "source": source,
        "detector": pipe.detector_name,
        "model": pipe.model,
        "embed_backend": getattr(pipe.embedder, "backend", "onnx"),
        "flip": flip,
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "median_ms": {k: round(float(np.median(v)), 2) for k, v in stages.items()},
        "p90_ms": {k: round(float(np.percentile(v, 90)), 2) for k, v in stages.items()},
        "search_top1_ms": {str(k): round(v, 3) for k, v in search.items()},
        "throughput_faces_per_s": round(1000 / float(np.median(stages["total"])), 2),
    }
    if as_json:
        _echo_json(report)
        return
    typer.echo(
        f"face pipeline ({pipe.detector_name}, {pipe.model}, flip {'on' if flip else 'off'}), {faces} faces from "
        f"{source} ({report['machine']}, load average {report['load_average'][0]} -> {report['load_average'][1]}):"
    )
    typer.echo(f"{'stage':<10} {'median ms':>10} {'p90 ms':>9}")
    for k in stages:
        typer.echo(f"{k:<10} {report['median_ms'][k]:>10.2f} {report['p90_ms'][k]:>9.2f}")
    typer.echo("1:N exact search, top-1: " + ", ".join(f"{k:,}: {v:.2f} ms" for k, v in search.items()))
    typer.echo(f"throughput: {report['throughput_faces_per_s']} faces/s, one frame at a time")
