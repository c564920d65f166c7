"""Verification metrics: the one threshold search, the one 10-fold loop, the one ROC and its one plot.

Used by `whosthat eval lfw` (vision.lfw_eval), `whosthat eval eyes|pad`, the research block and
training of the liveness models. Conventions:

- Face pairs: a pair is "same" when its distance is <= the threshold. A NaN distance (no face found)
  counts as a wrong answer where accuracy is measured and is left out where a threshold is chosen.
- LFW View 2 protocol (pairs.txt): 10 folds of 300 same-person and 300 different-person pairs. For each
  fold the distance threshold that maximises accuracy on the other nine folds is applied to it; the
  reported accuracy is the mean (and standard deviation) over the ten folds. View 1 (pairsDevTrain,
  pairsDevTest) is LFW's split for choosing settings before View 2 is looked at.
- ROC: of a score that is higher for positives (similarity = -distance for pairs, the closed or attack
  probability for the liveness models); NaN scores are left out; the AUC is NaN when only one class is
  present.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

# The false-accept rates at which the true-accept rate is reported.
REPORTED_FARS = (1e-2, 1e-3)


def best_threshold_with_accuracy(distances: np.ndarray, same: np.ndarray) -> tuple[float, float]:
    """The distance threshold that maximises accuracy on these pairs, and that accuracy.

    Candidates are midpoints between consecutive sorted distances (plus both ends), so the answer
    does not depend on a grid. Ties go to the smallest threshold. The distances must not be NaN.
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


def held_out_fold_accuracy(
    distances: np.ndarray, same: np.ndarray, folds: np.ndarray, test_fold: int
) -> tuple[float, float]:
    """(accuracy on the pairs of `test_fold`, threshold chosen on the pairs of every other fold).

    `distances`, `same`, `folds` are aligned arrays, one entry per pair. NaN distances are left out of
    the threshold choice and count as wrong on the test fold.
    """
    d = np.asarray(distances, dtype=np.float64)
    s = np.asarray(same, dtype=bool)
    f = np.asarray(folds)
    train = (f != test_fold) & ~np.isnan(d)
    thr, _ = best_threshold_with_accuracy(d[train], s[train])
    test = f == test_fold
    correct = ((d[test] <= thr) == s[test]) & ~np.isnan(d[test])
    return float(correct.mean()), thr


def _fold_summary(accuracies: list[float], thresholds: list[float]) -> dict:
    return {
        "accuracy_mean": float(np.mean(accuracies)),
        "accuracy_std": float(np.std(accuracies)),
        "fold_accuracies": accuracies,
        "thresholds": thresholds,
        "threshold_mean": float(np.mean(thresholds)),
    }


def ten_fold_accuracy(distances: np.ndarray, same: np.ndarray, folds: np.ndarray) -> dict:
    """LFW View 2: for each fold (in increasing fold number), the threshold chosen on the other folds and
    the accuracy on it (`held_out_fold_accuracy`). Returns accuracy_mean, accuracy_std, fold_accuracies,
    thresholds (per fold) and threshold_mean."""
    results = [held_out_fold_accuracy(distances, same, folds, k) for k in np.unique(folds)]
    return _fold_summary([acc for acc, _ in results], [thr for _, thr in results])


def dev_split_accuracy(distances: np.ndarray, same: np.ndarray, folds: np.ndarray) -> dict:
    """LFW View 1: threshold chosen on fold 0 (pairsDevTrain), accuracy on fold 1 (pairsDevTest).
    Same keys as `ten_fold_accuracy` (one split, so the standard deviation is 0)."""
    f = np.asarray(folds)
    keep = (f == 0) | (f == 1)
    acc, thr = held_out_fold_accuracy(np.asarray(distances)[keep], np.asarray(same)[keep], f[keep], 1)
    return _fold_summary([acc], [thr])


@dataclass(frozen=True)
class Roc:
    """A ROC curve: false-positive and true-positive rates as the threshold sweeps the scores (both
    float64[K], increasing), and the area under it (NaN when only one class was present)."""

    fpr: np.ndarray
    tpr: np.ndarray
    auc: float

    def tpr_at_fpr(self, fpr: float) -> float:
        """The highest true-positive rate at a false-positive rate <= `fpr` (0.0 when none is that low)."""
        ok = self.fpr <= fpr
        return float(self.tpr[ok].max()) if ok.any() else 0.0


def roc(positive: np.ndarray, score: np.ndarray) -> Roc:
    """The ROC of `score` (higher = more likely positive) against `positive` (bool or 0/1); NaN scores
    are left out."""
    from sklearn.metrics import auc, roc_curve

    y = np.asarray(positive)
    s = np.asarray(score)
    ok = ~np.isnan(s)
    y, s = y[ok], s[ok]
    if len(np.unique(y)) != 2:
        return Roc(np.array([0.0, 1.0]), np.array([0.0, 1.0]), float("nan"))
    fpr, tpr, _ = roc_curve(y, s)
    return Roc(fpr, tpr, float(auc(fpr, tpr)))


def verification_roc(distances: np.ndarray, same: np.ndarray) -> Roc:
    """The ROC of face pairs: false-accept rate against true-accept rate, similarity = -distance."""
    return roc(np.asarray(same, dtype=bool), -np.asarray(distances, dtype=np.float64))


def roc_metrics(distances: np.ndarray, same: np.ndarray) -> dict:
    """AUC and true-accept rate at the `REPORTED_FARS` false-accept rates of face pairs:
    {"auc", "tar_at_far_0.01", "tar_at_far_0.001"}."""
    curve = verification_roc(distances, same)
    return {"auc": curve.auc} | {f"tar_at_far_{far:g}": curve.tpr_at_fpr(far) for far in REPORTED_FARS}


def plot_roc(
    curves: dict[str, Roc],
    out: Path,
    title: str,
    xlabel: str = "false accept rate",
    ylabel: str = "true accept rate",
) -> Path:
    """Write a ROC plot of {label: Roc} to `out` (PNG; the folder is created): log false-positive axis from
    1e-4 to 1, each label followed by its AUC. Returns `out`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 4.5), dpi=110)
    for label, curve in curves.items():
        ax.plot(np.maximum(curve.fpr, 1e-4), curve.tpr, label=f"{label} (AUC {curve.auc:.4f})")
    ax.set_xscale("log")
    ax.set_xlim(1e-4, 1)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right", fontsize=7)
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out
