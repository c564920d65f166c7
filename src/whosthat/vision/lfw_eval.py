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

For a fused embedder (`dlib+sface`, `dlib+sface-yunet`) View 2 also reports each component alone and the fusion under the
per-fold protocol (`fusion_per_fold`): for each fold, every normalisation statistic (each model's
impostor and genuine mean cosine), the fusion weight and the threshold are chosen on the other nine
folds only, then applied to it. The cached raw outputs hold both models, so this costs seconds once
the photos are embedded.
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
        emb.found[[files.index(f) for f in lost]] = back.found
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


#: The grid of the first component's weight in the fused score (the second's is 1 - weight).
FUSION_WEIGHTS = tuple(round(float(w), 2) for w in np.arange(0.0, 1.0001, 0.05))


def fusion_per_fold(
    cosines: np.ndarray, same: np.ndarray, folds: np.ndarray, weights: tuple[float, ...] = FUSION_WEIGHTS
) -> dict:
    """Score-level fusion of two models under LFW's View 2 protocol, everything chosen per fold.

    cosines: float[P, 2], each pair's cosine under each model (NaN where a photo has no face). For
    each fold k, on the pairs of the other folds only: each model's mean cosine of impostor and of
    genuine pairs (the normalisation: impostor mean -> 0, genuine mean -> 1); for each weight w of the
    grid, the fused score S = w z_0 + (1 - w) z_1 and its accuracy-best threshold; the weight with the
    best training accuracy (ties: the median of the tied weights). Fold k is then scored with that
    normalisation, weight and threshold; NaN scores count as wrong. Returns the `ten_fold_accuracy`
    keys (thresholds are on -S) plus per fold the weight and the normalisation chosen.
    """
    from whosthat.vision.evaluation import best_threshold_with_accuracy

    c = np.asarray(cosines, np.float64)
    s = np.asarray(same, bool)
    f = np.asarray(folds)
    if c.ndim != 2 or c.shape[1] != 2:
        raise ValueError("fusion_per_fold takes the cosines of exactly two models")
    accuracies, thresholds, chosen, norms = [], [], [], []
    for k in np.unique(f):
        train = (f != k) & ~np.isnan(c).any(axis=1)
        imp = c[train & ~s].mean(axis=0)
        gen = c[train & s].mean(axis=0)
        z = (c - imp) / (gen - imp)
        fits = []
        for w in weights:
            score = w * z[:, 0] + (1 - w) * z[:, 1]
            thr, acc = best_threshold_with_accuracy(-score[train], s[train])
            fits.append((acc, w, thr))
        best = max(acc for acc, _, _ in fits)
        tied = [(w, thr) for acc, w, thr in fits if acc == best]
        w, thr = tied[len(tied) // 2]
        score = w * z[:, 0] + (1 - w) * z[:, 1]
        test = f == k
        correct = ((-score[test] <= thr) == s[test]) & ~np.isnan(score[test])
        accuracies.append(float(correct.mean()))
        thresholds.append(float(thr))
        chosen.append(float(w))
        norms.append({"impostor_mean": imp.round(6).tolist(), "genuine_mean": gen.round(6).tolist()})
    return {
        "accuracy_mean": float(np.mean(accuracies)),
        "accuracy_std": float(np.std(accuracies)),
        "fold_accuracies": accuracies,
        "thresholds": thresholds,
        "threshold_mean": float(np.mean(thresholds)),
        "weights": chosen,
        "weight_mean": float(np.mean(chosen)),
        "normalisation": norms,
    }


def view1_fusion_weight(
    cosines: np.ndarray, same: np.ndarray, dev: np.ndarray, weights: tuple[float, ...] = FUSION_WEIGHTS
) -> dict:
    """The fusion weight chosen on LFW View 1: normalisation and each weight's threshold on pairsDevTrain
    (`dev == 0`), the weight with the best pairsDevTest (`dev == 1`) accuracy (ties: the median of the
    tied weights). cosines: float[P, 2]. -> {"weight", "dev_test_accuracy", "grid": {weight: accuracy}}."""
    from whosthat.vision.evaluation import best_threshold_with_accuracy

    c = np.asarray(cosines, np.float64)
    s = np.asarray(same, bool)
    ok = ~np.isnan(c).any(axis=1)
    train, test = (dev == 0) & ok, dev == 1
    imp, gen = c[train & ~s].mean(axis=0), c[train & s].mean(axis=0)
    z = (c - imp) / (gen - imp)
    grid = {}
    for w in weights:
        score = w * z[:, 0] + (1 - w) * z[:, 1]
        thr, _ = best_threshold_with_accuracy(-score[train], s[train])
        correct = ((-score[test] <= thr) == s[test]) & ok[test]
        grid[w] = float(correct.mean())
    best = max(grid.values())
    tied = [w for w, acc in grid.items() if acc == best]
    return {"weight": tied[len(tied) // 2], "dev_test_accuracy": best, "grid": grid}


def _view1_cosines(
    lfw_dir: Path, options: dict, fused, flip: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Both components' cosines of View 1's pairs (pairsDevTrain as dev 0, pairsDevTest as dev 1)."""
    root = lfw_dir / lfw.IMAGES_DIR
    pairs = _pairs(lfw_dir, 1, 10)
    files = sorted({root / x for p in pairs for x in (p.path_a, p.path_b)})
    emb, *_ = _embed(files, options)
    index = {f: i for i, f in enumerate(files)}
    ia = np.array([index[root / p.path_a] for p in pairs])
    ib = np.array([index[root / p.path_b] for p in pairs])
    units = fused.unit_parts(emb.raw(flip))
    cos = np.stack([np.einsum("ij,ij->i", u[ia], u[ib]) for u in units], axis=1)
    return cos, np.array([p.same for p in pairs]), np.array([p.fold for p in pairs])


def _yunet_sface(files: list[Path], emb, fused, flip: bool) -> np.ndarray:
    """SFace raw features on YuNet's crops of `files` (mirror-averaged with flip); where YuNet found no
    central face, SFace's raw features on the app's chip (the fallback alignment)."""
    from whosthat.vision.sface import yunet_sface_features

    plain, mirrored = yunet_sface_features(files)
    raw = (plain + mirrored) / 2 if flip else plain
    names = [p.name for p in fused.parts]
    chip_sface = fused.split(emb.raw(flip))[names.index("sface-2021dec")]
    lost = np.isnan(raw).any(axis=1)
    raw[lost] = chip_sface[lost]
    return raw


def _fusion_results(fused, raw: np.ndarray, ia, ib, same, folds, yunet_sface=None, view1=None) -> dict:
    """Each component alone (its own templates, as the app compares them) and the per-fold fusion.

    `yunet_sface` (float32[N, 128] raw SFace features of each photo's crop placed by YuNet's own five
    points, `vision.sface.yunet_sface_features`, already mirror-averaged as wanted) adds SFace on that
    crop alone and fused per fold with dlib on the app's chip: two independent detections and
    alignments instead of one chip for both models."""
    from whosthat.vision.embedders import finish, unit_rows

    results = {}
    for component, part in zip(fused.components, fused.split(raw), strict=True):
        t = finish(component, part)
        d = np.linalg.norm(t[ia] - t[ib], axis=1)
        results[component.name] = {**ten_fold_accuracy(d, same, folds), **roc_metrics(d, same)}
    units = fused.unit_parts(raw)
    cos = np.stack([np.einsum("ij,ij->i", u[ia], u[ib]) for u in units], axis=1)
    per_fold = fusion_per_fold(cos, same, folds)
    weights = np.array(per_fold["weights"])
    # the ROC of the fused score with the mean of the folds' choices (for AUC / TAR only)
    imp = np.nanmean([n["impostor_mean"] for n in per_fold["normalisation"]], axis=0)
    gen = np.nanmean([n["genuine_mean"] for n in per_fold["normalisation"]], axis=0)
    z = (cos - imp) / (gen - imp)
    score = weights.mean() * z[:, 0] + (1 - weights.mean()) * z[:, 1]
    results["fusion, per fold"] = {**per_fold, **roc_metrics(-score, same)}
    if view1 is not None:
        chosen = view1_fusion_weight(*view1)
        w = chosen["weight"]
        fixed = fusion_per_fold(cos, same, folds, weights=(w,))
        score = w * z[:, 0] + (1 - w) * z[:, 1]
        results["fusion, weight from View 1"] = {**fixed, **roc_metrics(-score, same), "view1": chosen}
    if yunet_sface is not None:
        u = unit_rows(yunet_sface)
        c_y = np.einsum("ij,ij->i", u[ia], u[ib])
        results["sface-2021dec on YuNet's crop"] = {
            **ten_fold_accuracy(-c_y, same, folds),
            **roc_metrics(-c_y, same),
        }
        both = np.stack([cos[:, 0], c_y], axis=1)
        per_fold = fusion_per_fold(both, same, folds)
        w = float(np.mean(per_fold["weights"]))
        imp = np.mean([n["impostor_mean"] for n in per_fold["normalisation"]], axis=0)
        gen = np.mean([n["genuine_mean"] for n in per_fold["normalisation"]], axis=0)
        z = (both - imp) / (gen - imp)
        score = w * z[:, 0] + (1 - w) * z[:, 1]
        results["fusion with SFace on YuNet's crop, per fold"] = {**per_fold, **roc_metrics(-score, same)}
    return results


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
    if report.get("fusion"):
        parts = " + ".join(report["fusion"]["components"])
        md += [
            "",
            f"Components alone and fused ({parts}; normalisation, weight of {report['fusion']['components'][0]}"
            " and threshold chosen on the nine training folds of each fold), same photos and chips:",
            "",
            "| variant | accuracy (mean ± std) | AUC | TAR@FAR=1e-3 | weights chosen per fold |",
            "|---|---|---|---|---|",
        ]
        for name, r in report["fusion"]["variants"].items():
            chosen = ", ".join(f"{w:g}" for w in r.get("weights", [])) or "-"
            md.append(
                f"| {name} | {100 * r['accuracy_mean']:.2f}% ± {100 * r['accuracy_std']:.2f} | {r['auc']:.4f} | "
                f"{100 * r['tar_at_far_0.001']:.2f}% | {chosen} |"
            )
    md += [
        "",
        f"No central face detected in {report['no_face_detected']} images: {report['no_face_handling']}. "
        f"Detector of each image: {report['detector_sources']}.",
        "",
    ]
    if any(m for m in [report.get("chip_map_fallbacks")]):
        md[-1:-1] = [
            f"YuNet found no face in the square around the box in {report['chip_map_fallbacks']} images: their "
            "SFace crop was placed from the dlib chip (the chip map).",
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
    cache_dir: Path | None = None,
    yunet: bool = False,
    view1_weight: bool = True,
) -> LfwEvaluation:
    """Evaluate embedder `model` with `detector` (defaults: the settings) on the LFW folder `data` and write
    report.json, report.md and roc.png to `out` (default $WHOSTHAT_HOME/reports/lfw[-view1]-MODEL-DETECTOR).

    `flip` (default: the settings) adds the mirror test-time augmentation variant; `jitter` N averages N
    jittered chips instead (and turns flip off); `limit_folds` scores only the first N View 2 folds;
    `command` is recorded in the report; `cache_dir` holds the embedding cache (default
    $WHOSTHAT_HOME/cache). `yunet` (fused models only) also measures SFace on YuNet's own crop, alone
    and fused per fold with dlib (photos where YuNet finds no central face fall back to SFace on the
    app's chip). `view1_weight=False` leaves out the fused row whose weight is chosen on View 1 (it
    embeds View 1's photos too). Raises BadInputError when an image the pairs name is missing.
    """
    from whosthat.config import get_settings
    from whosthat.vision.cache import EmbeddingCache
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
    if cache_dir is not None:
        options["cache"] = EmbeddingCache(Path(cache_dir) / "embeddings.sqlite3")
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
    fusion = None
    from whosthat.vision.embedders import get_embedder
    from whosthat.vision.fusion import FusedEmbedder

    fused = get_embedder(model)
    if isinstance(fused, FusedEmbedder) and view == 2 and len(fused.parts) == 2:
        fusion = {
            "components": [p.name for p in fused.parts],
            "flip": flip,
            "variants": _fusion_results(
                fused,
                emb.raw(flip),
                ia,
                ib,
                same,
                folds,
                _yunet_sface(files, emb, fused, flip)
                if yunet and "sface-2021dec" in [p.name for p in fused.parts]
                else None,
                _view1_cosines(lfw_dir, options, fused, flip) if view1_weight else None,
            ),
        }
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
        # photos whose SFace crop YuNet could not place (no face in the square around the box): chip map
        "chip_map_fallbacks": sum(m.get("alignment") == "chip-map" for m in emb.meta),
        "accuracy_mean": main["accuracy_mean"],
        "accuracy_std": main["accuracy_std"],
        "auc": main["auc"],
        "tar_at_far_0.01": main["tar_at_far_0.01"],
        "tar_at_far_0.001": main["tar_at_far_0.001"],
        "threshold_mean": main["threshold_mean"],
        "variants": results,
        "fusion": fusion,
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
