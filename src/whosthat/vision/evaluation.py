"""Verification metrics shared by `whosthat eval lfw` and the research block.

LFW View 2 protocol (pairs.txt): 10 folds of 300 same-person and 300 different-person pairs. For each
fold the distance threshold that maximises accuracy on the other nine folds is applied to it; the
reported accuracy is the mean (and standard deviation) over the ten folds. View 1 (pairsDevTrain,
pairsDevTest) is LFW's split for choosing settings before View 2 is looked at.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def best_threshold_with_accuracy(distances: np.ndarray, same: np.ndarray) -> tuple[float, float]:
    """The distance threshold that maximises accuracy on these pairs, and that accuracy.

    Candidates are midpoints between consecutive sorted distances (plus both ends), so the answer
    does not depend on a grid. Ties go to the smallest threshold.
    """
    d = np.asarray(distances, dtype=np.float64)
    s = np.asarray(same, dtype=bool)
    if d.size == 0:
        raise ValueError("no pairs")
    order = np.argsort(d, kind="stable")
    d_sorted, s_sorted = d[order], s[order]
    # accepting the first i pairs (distance <= threshold): correct = same among them + different after them
    same_cum = np.concatenate([[0], np.cumsum(s_sorted)])
    diff_after = (~s_sorted).sum() - np.concatenate([[0], np.cumsum(~s_sorted)])
    correct = same_cum + diff_after
    # a threshold can only fall between two distinct distances
    valid = np.ones(d.size + 1, dtype=bool)
    valid[1:-1] = d_sorted[1:] > d_sorted[:-1]
    correct = np.where(valid, correct, -1)
    i = int(np.argmax(correct))
    if i == 0:
        thr = d_sorted[0] - 1e-6
    elif i == d.size:
        thr = d_sorted[-1] + 1e-6
    else:
        thr = 0.5 * (d_sorted[i - 1] + d_sorted[i])
    return float(thr), float(correct[i] / d.size)


def best_threshold(distances: np.ndarray, same: np.ndarray) -> float:
    """The distance threshold (same person if distance <= threshold) with the highest accuracy."""
    return best_threshold_with_accuracy(distances, same)[0]


def ten_fold_accuracy(distances: np.ndarray, same: np.ndarray, folds: np.ndarray) -> dict:
    """Threshold chosen on nine folds, accuracy measured on the tenth; mean, std and per-fold values."""
    accs, thresholds = [], []
    for k in np.unique(folds):
        train, test = folds != k, folds == k
        t = best_threshold(distances[train], same[train])
        accs.append(float(np.mean((distances[test] <= t) == same[test])))
        thresholds.append(t)
    return {
        "accuracy_mean": float(np.mean(accs)),
        "accuracy_std": float(np.std(accs)),
        "fold_accuracies": accs,
        "thresholds": thresholds,
        "threshold_mean": float(np.mean(thresholds)),
    }


def dev_split_accuracy(distances: np.ndarray, same: np.ndarray, folds: np.ndarray) -> dict:
    """LFW View 1: threshold chosen on fold 0 (pairsDevTrain), accuracy on fold 1 (pairsDevTest).
    Same keys as `ten_fold_accuracy` (one split, so the standard deviation is 0)."""
    train, test = folds == 0, folds == 1
    t = best_threshold(distances[train], same[train])
    acc = float(np.mean((distances[test] <= t) == same[test]))
    return {
        "accuracy_mean": acc,
        "accuracy_std": 0.0,
        "fold_accuracies": [acc],
        "thresholds": [t],
        "threshold_mean": t,
    }


def roc_metrics(distances: np.ndarray, same: np.ndarray) -> dict:
    """AUC and true-accept rate at fixed false-accept rates, similarity = -distance."""
    from sklearn.metrics import roc_auc_score, roc_curve

    fpr, tpr, _ = roc_curve(same.astype(int), -distances)
    out = {"auc": float(roc_auc_score(same.astype(int), -distances))}
    for far in (1e-2, 1e-3):
        ok = fpr <= far
        out[f"tar_at_far_{far:g}"] = float(tpr[ok].max()) if ok.any() else 0.0
    out["_fpr"], out["_tpr"] = fpr, tpr
    return out


def plot_roc(curves: dict[str, tuple[np.ndarray, np.ndarray]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 4.5), dpi=110)
    for label, (fpr, tpr) in curves.items():
        ax.plot(np.maximum(fpr, 1e-4), tpr, label=label)
    ax.set_xscale("log")
    ax.set_xlim(1e-4, 1)
    ax.set_ylim(0.8, 1.001)
    ax.set_xlabel("false accept rate")
    ax.set_ylabel("true accept rate")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
