"""`whosthat eval lfw`: the face pipeline on LFW's verification protocol, with a report a person can read.

View 2 (the reported number): the 6,000 pairs of `pairs.txt` in 10 folds, each fold scored with the
threshold chosen on the other nine (`vision.evaluation.ten_fold_accuracy`), plus AUC and the true-accept
rate at false-accept rates 1e-2 and 1e-3. View 1: threshold chosen on pairsDevTrain, scored on
pairsDevTest (for choosing settings without looking at View 2).

Every image named by the pairs is embedded through the shared embedding cache (`vision.cache`), taking
the face nearest the centre (LFW's labelled person; other faces are bystanders). With mirror test-time
augmentation both the plain and the flipped variant are reported. Where no central face is detected,
the image is embedded from the median detected box (the images are aligned crops) and the report says
how many.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from whosthat.datasets import lfw
from whosthat.errors import BadInputError
from whosthat.vision.evaluation import (
    dev_split_accuracy,
    plot_roc,
    roc_metrics,
    ten_fold_accuracy,
    verification_roc,
)


@dataclass(frozen=True)
class LfwEvaluation:
    """What `evaluate_lfw` wrote: the report (report.json), its Markdown table (report.md) and the folder
    that holds both and the ROC plot (roc.png)."""

    report: dict
    markdown: str
    folder: Path


def _pairs(lfw_dir: Path, view: int, limit_folds: int) -> list[lfw.Pair]:
    """View 1: pairsDevTrain as fold 0 and pairsDevTest as fold 1; View 2: pairs.txt's first `limit_folds` folds."""
    if view == 1:
        pairs = []
        for fold, name in enumerate(("pairsDevTrain.txt", "pairsDevTest.txt")):
            pairs += [replace(p, fold=fold) for p in lfw.read_pairs(lfw_dir, name)]
        return pairs
    return [p for p in lfw.read_pairs(lfw_dir, "pairs.txt") if p.fold < limit_folds]


def _embed(files: list[Path], options: dict):
    """(embeddings of `files`, no central face count, off-centre-only count, how faceless images were
    handled): the pipeline first, then the median detected box for the images where it found no face."""
    from whosthat.vision.cache import embed_files

    emb = embed_files(files, progress=True, **options)
    no_face = int((~emb.found).sum())
    off_centre = sum(m.get("detector") == "off-centre" for m in emb.meta)
    note = "none"
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
        note = f"embedded from the median detected box {[round(v) for v in median_box]}"
        if off_centre:
            note += (
                f"; {off_centre} of them had only a face far from the centre (a bystander; LFW's person"
                " is centred), which was not used"
            )
    return emb, no_face, off_centre, note


def _markdown(report: dict, results: dict) -> str:
    md = [
        f"# LFW evaluation: {report['model']}, detector {report['detector']}",
        "",
        f"Protocol: {report['protocol']}. {report['pairs']} pairs, {report['images']} images.",
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
        f"No central face detected in {report['no_face_detected']} images: {report['no_face_handling']}. "
        f"Detector of each image: {report['detector_sources']}.",
        "",
    ]
    return "\n".join(md)


def evaluate_lfw(
    data: Path,
    out: Path | None = None,
    model: str | None = None,
    detector: str | None = None,
    flip: bool | None = None,
    limit_folds: int = 10,
    view: int = 2,
    jitter: int = 0,
    command: str = "whosthat eval lfw",
) -> LfwEvaluation:
    """Evaluate embedder `model` with `detector` (defaults: the settings) on the LFW folder `data` and write
    report.json, report.md and roc.png to `out` (default $WHOSTHAT_HOME/reports/lfw[-view1]-MODEL-DETECTOR).

    `flip` (default: the settings) adds the mirror test-time augmentation variant; `jitter` N averages N
    jittered chips instead (and turns flip off); `limit_folds` scores only the first N View 2 folds;
    `command` is recorded in the report. Raises BadInputError when an image the pairs name is missing.
    """
    from whosthat.config import get_settings
    from whosthat.vision.embedders import DEFAULT_EMBEDDER

    settings = get_settings()
    model = model or settings.embedder or DEFAULT_EMBEDDER
    detector = detector or settings.detector
    flip = (settings.flip_tta if flip is None else flip) and not jitter
    lfw_dir = lfw.lfw_root(data)
    root = lfw_dir / lfw.IMAGES_DIR
    pairs = _pairs(lfw_dir, view, limit_folds)
    files = sorted({root / x for p in pairs for x in (p.path_a, p.path_b)})
    missing = [f for f in files if not f.exists()]
    if missing:
        raise BadInputError(f"{len(missing)} images named in pairs.txt are missing, e.g. {missing[0]}")
    t0 = time.time()
    # LFW's labelled person is the face at the centre of each crop; other faces are bystanders.
    options = dict(detector=detector, embedder=model, mirrored=flip, choose="central", jitter=jitter)
    emb, no_face, off_centre, fallback_note = _embed(files, options)
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
        scored = folds == 1 if view == 1 else np.ones(len(pairs), bool)
        r = dev_split_accuracy(d, same, folds) if view == 1 else ten_fold_accuracy(d, same, folds)
        label = f"{model}, {detector}{', flip' if use_flip else ''}{f', jitter {jitter}' if jitter else ''}"
        curves[label] = verification_roc(d[scored], same[scored])
        results["flip" if use_flip else f"jitter {jitter}" if jitter else "plain"] = {
            **r,
            **roc_metrics(d[scored], same[scored]),
        }
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
        "command": command,
    }
    out = out or settings.home / "reports" / f"lfw{'-view1' if view == 1 else ''}-{model}-{detector}"
    out.mkdir(parents=True, exist_ok=True)
    plot_roc(
        curves,
        out / "roc.png",
        f"LFW View {view} ROC ({int((folds == 1).sum()) if view == 1 else len(pairs)} pairs)",
    )
    (out / "report.json").write_text(json.dumps(report, indent=2))
    markdown = _markdown(report, results)
    (out / "report.md").write_text(markdown)
    return LfwEvaluation(report, markdown, out)
