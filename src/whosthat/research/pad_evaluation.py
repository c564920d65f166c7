"""How well the print-attack model tells live faces from printed photos: `whosthat eval pad`, and the error
rates of `whosthat train pad`.

ISO/IEC 30107-3 error rates at an operating threshold (the model's, chosen on validation subjects at
training time, never here): APCER = share of attack presentations classified live, BPCER = share of
live (bona fide) presentations classified attack, ACER = (APCER + BPCER) / 2. A frame in which no face
is found counts as rejected (an attack presentation rejected, a bona fide one rejected too: BPCER).

Runs the ONNX model with onnxruntime, exactly as served (`liveness.pad.PrintAttackDetector` on the first
MediaPipe box); nothing here imports torch, so `eval pad` works without the [train] extra.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from whosthat.datasets import nuaa
from whosthat.research.reporting import write_evaluation
from whosthat.vision.evaluation import roc


def pad_error_rates(attack: np.ndarray, score: np.ndarray, threshold: float) -> dict:
    """{"apcer", "bpcer", "acer"} at `threshold` (score >= threshold -> attack) for labels `attack`
    (1 = attack presentation); a NaN score (no face) is rejected. A rate is NaN when its class is absent."""
    rejected = np.isnan(score) | (np.nan_to_num(score, nan=1.0) >= threshold)
    n_attack = int((attack == 1).sum())
    n_live = int((attack == 0).sum())
    apcer = float((~rejected & (attack == 1)).sum() / n_attack) if n_attack else float("nan")
    bpcer = float((rejected & (attack == 0)).sum() / n_live) if n_live else float("nan")
    return {"apcer": apcer, "bpcer": bpcer, "acer": (apcer + bpcer) / 2}


def pad_scores(attack: np.ndarray, score: np.ndarray, threshold: float) -> dict:
    """`pad_error_rates` plus the ROC AUC of the scored frames (NaN scores left out; NaN for one class),
    the threshold and the counts: {"apcer", "bpcer", "acer", "auc", "threshold", "n_live", "n_attack"}."""
    return pad_error_rates(attack, score, threshold) | {
        "auc": roc(attack, score).auc,
        "threshold": float(threshold),
        "n_live": int((attack == 0).sum()),
        "n_attack": int((attack == 1).sum()),
    }


def score_pad_images(paths: list[Path], detector=None, pad=None, progress: bool = True) -> np.ndarray:
    """Attack probability per image, float32[N] in the order of `paths` (NaN where no face is found)."""
    from whosthat.liveness.pad import get_pad_detector
    from whosthat.vision.detect import get_detector
    from whosthat.vision.image import decode_image

    detector = detector or get_detector("mediapipe")
    pad = pad or get_pad_detector()  # the configured model; UnknownModelError when there is none
    scores = np.full(len(paths), np.nan, np.float32)
    for i, p in enumerate(paths):
        rgb = decode_image(p)
        faces = detector.detect(rgb)
        if faces:
            scores[i] = pad.attack_prob_box(rgb, faces[0].box)
        if progress and (i + 1) % 200 == 0:
            print(f"scored {i + 1}/{len(paths)}", file=sys.stderr, flush=True)
    return scores


def evaluate_pad(
    data: Path, model: Path | None = None, out: Path | None = None, subjects: str | None = None
) -> dict:
    """Score the print-attack model (`model`, default the shipped one) on the NUAA-layout folder `data`
    (`subjects`: comma-separated ids, default all) at its own threshold: `pad_scores` plus counts. With
    `out`, writes report.json and, when both classes have a face, roc.png there."""
    from whosthat.liveness.pad import DEFAULT_PAD_MODEL, PrintAttackDetector

    pad = PrintAttackDetector(model or DEFAULT_PAD_MODEL)
    wanted = {s.strip() for s in subjects.split(",")} if subjects else None
    frames = nuaa.read_nuaa(data, wanted)
    attack = np.array([f.attack for f in frames])
    scores = score_pad_images([f.path for f in frames], pad=pad)
    found = ~np.isnan(scores)
    rates = pad_scores(attack, scores, pad.threshold)
    report = {
        "model": pad.name,
        "model_path": str(pad.path),
        "data": str(data),
        "subjects": sorted(wanted) if wanted else "all",
        "n_live": rates["n_live"],
        "n_attack": rates["n_attack"],
        "no_face": int((~found).sum()),
        "threshold": pad.threshold,
        **{k: rates[k] for k in ("apcer", "bpcer", "acer", "auc")},
    }
    if out is not None:
        write_evaluation(
            out,
            report,
            pad.name,
            roc(attack, scores),
            f"print attack ({pad.name})",
            "live faces read as attacks (BPCER)",
            "attacks detected (1 - APCER)",
        )
    return report
