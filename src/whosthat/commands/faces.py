"""Command-line verbs of the face pipeline: models, embed, verify, eval lfw, bench, calibrate-boxes."""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from whosthat.errors import BadInputError

ModelOpt = Annotated[str | None, typer.Option("--model", help="embedder name (see `whosthat models`)")]
DetectorOpt = Annotated[
    str | None,
    typer.Option(
        "--detector",
        help="auto (MediaPipe, HOG-refined boxes, HOG fallback), auto-unrefined, auto-upsample, mediapipe or hog",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output on stdout")]


def _echo_json(obj) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")


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
    as_json: JsonOpt = False,
) -> None:
    """Embed the dominant face of each image. Files without a usable face are reported, not dropped."""
    from whosthat.vision.image import decode_image

    pipe = _pipeline(model, detector)
    vectors, found, reasons = [], [], []
    for path in images:
        try:
            result = pipe.embed_single(decode_image(path), purpose="login")
            vec, ok, reason = result.embedding, True, None
        except BadInputError as exc:
            vec, ok, reason = np.full(pipe.embedder.dim, np.nan, np.float32), False, str(exc)
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
                    "embedding": [round(float(v), 6) for v in vec] if ok else None,
                }
            )
        elif not out:
            typer.echo(f"{path}: " + (f"{pipe.model} {len(vec)}-D" if ok else f"no embedding ({reason})"))
    if out:
        np.savez(
            out,
            paths=np.array([str(p) for p in images]),
            embeddings=np.stack(vectors).astype(np.float32),
            found=np.array(found),
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
    as_json: JsonOpt = False,
) -> None:
    """Are these two photos the same person? Exit 0 same, 1 different, 2 bad input."""
    from whosthat.gallery.threshold import is_match, match_threshold
    from whosthat.vision.image import decode_image

    pipe = _pipeline(model, detector)
    results = []
    for path in (image_a, image_b):
        try:
            results.append(pipe.embed_single(decode_image(path), purpose="login"))
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
    }
    if as_json:
        _echo_json(out)
    else:
        typer.echo(
            f"{'same person' if same else 'different people'}: distance {distance:.3f} "
            f"(threshold {threshold:.3f}, {pipe.model})"
        )
    raise typer.Exit(0 if same else 1)


def eval_lfw_command(
    data: Annotated[Path, typer.Option("--data", help="LFW folder (pairs.txt + lfw-deepfunneled/)")],
    out: Annotated[Path | None, typer.Option("--out", help="report folder")] = None,
    model: ModelOpt = None,
    detector: DetectorOpt = None,
    flip: Annotated[
        bool | None,
        typer.Option(
            "--flip/--no-flip", help="mirror test-time augmentation (the plain variant is reported too)"
        ),
    ] = None,
    limit_folds: Annotated[int, typer.Option(help="evaluate only the first N folds (quick checks)")] = 10,
    view: Annotated[
        int,
        typer.Option(
            "--view",
            min=1,
            max=2,
            help="2: pairs.txt, 10 folds (the reported number); 1: threshold on pairsDevTrain, accuracy on "
            "pairsDevTest (for choosing settings without looking at View 2)",
        ),
    ] = 2,
    jitter: Annotated[
        int,
        typer.Option(
            "--jitter",
            min=0,
            max=100,
            help="average N jittered copies of each chip (dlib's num_jitters; replaces --flip; N x the cost)",
        ),
    ] = 0,
    as_json: JsonOpt = False,
) -> None:
    """LFW View 2, official 10-fold protocol: accuracy (threshold from 9 folds), AUC, TAR@FAR, ROC plot.
    `--view 1` evaluates on LFW's development split instead, for choosing settings."""
    from whosthat.config import get_settings
    from whosthat.vision import lfw
    from whosthat.vision.cache import embed_files
    from whosthat.vision.embedders import DEFAULT_EMBEDDER
    from whosthat.vision.evaluation import dev_split_accuracy, plot_roc, roc_metrics, ten_fold_accuracy

    settings = get_settings()
    model = model or settings.embedder or DEFAULT_EMBEDDER
    detector = detector or settings.detector
    flip = (settings.flip_tta if flip is None else flip) and not jitter
    lfw_dir = lfw.lfw_root(data)
    root = lfw_dir / lfw.IMAGES_DIR
    if view == 1:
        pairs = []
        for fold, name in enumerate(("pairsDevTrain.txt", "pairsDevTest.txt")):
            pairs += [replace(p, fold=fold) for p in lfw.read_pairs(lfw_dir, name)]
    else:
        pairs = [p for p in lfw.read_pairs(lfw_dir, "pairs.txt") if p.fold < limit_folds]
    files = sorted({root / x for p in pairs for x in (p.path_a, p.path_b)})
    missing = [f for f in files if not f.exists()]
    if missing:
        raise BadInputError(f"{len(missing)} images named in pairs.txt are missing, e.g. {missing[0]}")
    t0 = time.time()
    # LFW's labelled person is the face at the centre of each crop; other faces are bystanders.
    options = dict(detector=detector, embedder=model, mirrored=flip, choose="central", jitter=jitter)
    emb = embed_files(files, progress=True, **options)
    no_face = int((~emb.found).sum())
    off_centre = sum(m.get("detector") == "off-centre" for m in emb.meta)
    fallback_note = "none"
    if no_face:
        # The images are aligned crops, so the median detected box is a sound stand-in where nothing
        # was detected; the count is reported so that nobody mistakes this for detections.
        boxes = np.array([m["box"] for m, ok in zip(emb.meta, emb.found, strict=True) if ok])
        median_box = tuple(float(v) for v in np.median(boxes, axis=0))
        lost = [f for f, ok in zip(files, emb.found, strict=True) if not ok]
        back = embed_files(lost, fallback_box=median_box, progress=False, **options)
        idx = {f: i for i, f in enumerate(files)}
        for j, f in enumerate(lost):
            i = idx[f]
            emb.plain[i], emb.flipped[i] = back.plain[j], back.flipped[j]
        fallback_note = f"embedded from the median detected box {[round(v) for v in median_box]}"
        if off_centre:
            fallback_note += (
                f"; {off_centre} of them had only a face far from the centre (a bystander; LFW's person"
                " is centred), which was not used"
            )
    seconds = time.time() - t0
    index = {f: i for i, f in enumerate(files)}
    ia = np.array([index[root / p.path_a] for p in pairs])
    ib = np.array([index[root / p.path_b] for p in pairs])
    same = np.array([p.same for p in pairs])
    folds = np.array([p.fold for p in pairs])
    sources: dict[str, int] = {}
    for m in emb.meta:
        sources[m.get("detector", "none")] = sources.get(m.get("detector", "none"), 0) + 1
    results, curves = {}, {}
    for use_flip in (False, True) if flip else (False,):
        vecs = emb.embeddings(use_flip)
        d = np.linalg.norm(vecs[ia] - vecs[ib], axis=1)
        if view == 1:
            r = dev_split_accuracy(d, same, folds)
            roc = roc_metrics(d[folds == 1], same[folds == 1])
        else:
            r = ten_fold_accuracy(d, same, folds)
            roc = roc_metrics(d, same)
        curves[
            f"{model}, {detector}{', flip' if use_flip else ''}{f', jitter {jitter}' if jitter else ''} (AUC {roc['auc']:.4f})"
        ] = (
            roc.pop("_fpr"),
            roc.pop("_tpr"),
        )
        results["flip" if use_flip else f"jitter {jitter}" if jitter else "plain"] = {**r, **roc}
    main = results["flip" if flip else f"jitter {jitter}" if jitter else "plain"]
    report = {
        "protocol": "LFW View 1: threshold chosen on pairsDevTrain, accuracy and ROC on pairsDevTest"
        if view == 1
        else "LFW View 2 pairs.txt, 10 folds, threshold chosen on the other 9 folds",
        "pairs": len(pairs),
        "images": len(files),
        "model": model,
        "detector": detector,
        "flip": flip,
        "jitter": jitter,
        "no_face_detected": no_face,
        "only_off_centre_face": off_centre,
        "no_face_handling": fallback_note,
        "detector_sources": sources,
        "accuracy_mean": main["accuracy_mean"],
        "accuracy_std": main["accuracy_std"],
        "auc": main["auc"],
        "tar_at_far_0.01": main["tar_at_far_0.01"],
        "tar_at_far_0.001": main["tar_at_far_0.001"],
        "threshold_mean": main["threshold_mean"],
        "variants": results,
        "seconds": round(seconds, 1),
        "command": "whosthat eval lfw " + " ".join(sys.argv[3:])
        if len(sys.argv) > 3
        else "whosthat eval lfw",
    }
    out = out or settings.home / "reports" / f"lfw{'-view1' if view == 1 else ''}-{model}-{detector}"
    out.mkdir(parents=True, exist_ok=True)
    plot_roc(
        curves,
        out / "roc.png",
        f"LFW View {view} ROC ({int((folds == 1).sum()) if view == 1 else len(pairs)} pairs)",
    )
    (out / "report.json").write_text(json.dumps(report, indent=2))
    md = [
        f"# LFW evaluation: {model}, detector {detector}",
        "",
        f"Protocol: {report['protocol']}. {len(pairs)} pairs, {len(files)} images.",
        "",
        "| variant | accuracy (mean ± std) | AUC | TAR@FAR=1e-2 | TAR@FAR=1e-3 | threshold |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        md.append(
            f"| {name} | {100 * r['accuracy_mean']:.2f}% ± {100 * r['accuracy_std']:.2f} | {r['auc']:.4f} | "
            f"{100 * r['tar_at_far_0.01']:.2f}% | {100 * r['tar_at_far_0.001']:.2f}% | {r['threshold_mean']:.3f} |"
        )
    md += [
        "",
        f"No central face detected in {no_face} images: {fallback_note}. Detector of each image: {sources}.",
        "",
    ]
    (out / "report.md").write_text("\n".join(md))
    if as_json:
        _echo_json(report)
    else:
        typer.echo("\n".join(md))
        typer.echo(f"report: {out}/report.md, {out}/report.json, ROC: {out}/roc.png", err=True)


def calibrate_boxes_command(
    data: Annotated[Path, typer.Option("--data", help="LFW folder (pairs.txt + lfw-deepfunneled/)")],
    images: Annotated[int, typer.Option(help="how many images to fit on")] = 600,
    seed: int = 0,
) -> None:
    """Fit the MediaPipe -> dlib box mapping on LFW images that no pairs.txt pair uses."""
    from whosthat.vision import lfw
    from whosthat.vision.detect import CALIBRATION_FILE, HogDetector, MediaPipeDetector
    from whosthat.vision.image import decode_image

    lfw_dir = lfw.lfw_root(data)
    root = lfw_dir / lfw.IMAGES_DIR
    used = {root / x for p in lfw.read_pairs(lfw_dir, "pairs.txt") for x in (p.path_a, p.path_b)}
    pool = sorted(set(root.glob("*/*.jpg")) - used)
    rng = np.random.default_rng(seed)
    chosen = [pool[i] for i in rng.choice(len(pool), size=min(images, len(pool)), replace=False)]
    mp_det, hog = MediaPipeDetector(), HogDetector(upsample=1)
    mp_det._calibration = None  # fit on raw boxes
    rows = []
    from tqdm import tqdm

    for path in tqdm(chosen, desc="detecting", file=sys.stderr):
        rgb = decode_image(path)
        a, b = mp_det.detect(rgb), hog.detect(rgb)
        if len(a) == 1 and len(b) == 1:
            (l0, t0, r0, b0), (l1, t1, r1, b1) = a[0].box, b[0].box
            s = np.sqrt((r0 - l0) * (b0 - t0))
            rows.append(
                [
                    ((l1 + r1) - (l0 + r0)) / 2 / s,
                    ((t1 + b1) - (t0 + b0)) / 2 / s,
                    (r1 - l1) / s,
                    (b1 - t1) / s,
                ]
            )
    if len(rows) < 50:
        raise BadInputError(f"only {len(rows)} images had one face for both detectors; need 50")
    r = np.median(np.array(rows), axis=0)
    calib = {
        "dx": float(r[0]),
        "dy": float(r[1]),
        "scale_w": float(r[2]),
        "scale_h": float(r[3]),
        "fitted_on": f"{len(rows)} LFW deep-funneled images not used by pairs.txt (seed {seed})",
        "command": f"whosthat calibrate-boxes --data {data} --images {images} --seed {seed}",
        "statistic": "median of per-image ratios, relative to the MediaPipe box size",
    }
    CALIBRATION_FILE.write_text(json.dumps(calib, indent=2) + "\n")
    typer.echo(json.dumps(calib, indent=2))


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
