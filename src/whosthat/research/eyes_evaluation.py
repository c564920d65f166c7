"""How well the eye-state model reads CEW-layout patches: `whosthat eval eyes`, and the numbers of
`whosthat train eyes` (accuracy, AUC and confusion per patch, accuracy per face).

Runs the ONNX model with onnxruntime, exactly as served (`liveness.eyes.EyeStateClassifier`); nothing
here imports torch, so `eval eyes` works without the [train] extra.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from whosthat.datasets import cew
from whosthat.errors import BadInputError
from whosthat.research.reporting import write_evaluation
from whosthat.vision.evaluation import roc

SPLITS = ("train", "validation", "test")


def eye_metrics(
    prob: np.ndarray, y: np.ndarray, threshold: float = 0.5, faces: list[str] | None = None
) -> dict:
    """Accuracy, AUC (NaN for a one-class set) and confusion per patch of closed probabilities `prob`
    against labels `y` (1 = closed), closed when prob >= threshold; with `faces` (one key per patch) also
    per face: the mean closed probability of a face's patches, which is how the kiosk decides (it
    averages both eyes)."""
    pred = (prob >= threshold).astype(np.int64)
    tn = int(((pred == 0) & (y == 0)).sum())
    fp = int(((pred == 1) & (y == 0)).sum())
    fn = int(((pred == 0) & (y == 1)).sum())
    tp = int(((pred == 1) & (y == 1)).sum())
    out = {
        "n": int(len(y)),
        "accuracy": float((pred == y).mean()),
        "auc": roc(y, prob).auc,
        "threshold": threshold,
        "confusion": {
            "true_open_pred_open": tn,
            "true_open_pred_closed": fp,
            "true_closed_pred_open": fn,
            "true_closed_pred_closed": tp,
        },
    }
    if faces is not None:
        keys = sorted(set(faces))
        index = {k: i for i, k in enumerate(keys)}
        idx = np.array([index[f] for f in faces])
        counts = np.bincount(idx, minlength=len(keys))
        face_prob = np.bincount(idx, weights=prob, minlength=len(keys)) / counts
        face_y = np.zeros(len(keys), np.int64)
        face_y[idx] = y
        face_pred = face_prob >= threshold
        out["faces"] = {
            "n": len(keys),
            "both_eyes": int((counts == 2).sum()),
            "accuracy": float((face_pred == face_y).mean()),
            "errors": int((face_pred != face_y).sum()),
        }
    return out


def evaluate_eyes(
    data: Path, model: Path | None = None, out: Path | None = None, split: str = "all", seed: int = 0
) -> dict:
    """Score the eye-state model (`model`, default the shipped one) on the CEW-layout folder `data`:
    `eye_metrics` at the model's threshold plus counts. `split`: "all", or "train" / "validation" / "test"
    of the face split `whosthat train eyes` draws with `seed` (so the held-out test faces can be scored
    again). With `out`, writes report.json and, when both classes are present, roc.png there."""
    from whosthat.liveness.eyes import DEFAULT_EYE_MODEL, EyeStateClassifier

    clf = EyeStateClassifier(model or DEFAULT_EYE_MODEL)
    items = cew.read_cew(data)
    if split != "all":
        if split not in SPLITS:
            raise BadInputError(f"--split must be all, {', '.join(SPLITS)}")
        which = cew.split_groups([cew.group_of(item.face) for item in items], seed)
        items = [item for item, k in zip(items, which, strict=True) if SPLITS[k] == split]
    readable, patches = cew.read_patches(items)
    if not patches:
        raise BadInputError(f"no readable eye image in {data}")
    y = np.array([item.closed for item in readable])
    prob = np.concatenate([clf.closed_prob(patches[i : i + 512]) for i in range(0, len(patches), 512)])
    scores = eye_metrics(prob, y, clf.threshold, faces=[item.face for item in readable])
    report = {
        "model": clf.name,
        "model_path": str(clf.path),
        "data": str(data),
        "split": split,
        "seed": seed,
        "n": int(len(y)),
        "n_closed": int(y.sum()),
        "unreadable": len(items) - len(readable),
    } | scores
    if out is not None:
        write_evaluation(
            out,
            report,
            {clf.name: roc(y, prob)},
            f"eye state ({clf.name})",
            "open eyes read as closed",
            "closed eyes read as closed",
        )
    return report
