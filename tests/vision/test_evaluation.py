"""The LFW protocol code: pairs parsing and threshold selection, against hand-computed values."""

from __future__ import annotations

import numpy as np

from whosthat.vision.evaluation import best_threshold, roc_metrics, ten_fold_accuracy
from whosthat.vision.lfw import lfw_root, read_pairs


def test_best_threshold_separates_a_separable_set():
    d = np.array([0.1, 0.2, 0.3, 0.7, 0.8, 0.9])
    same = np.array([True, True, True, False, False, False])
    t = best_threshold(d, same)
    assert 0.3 < t < 0.7
    assert np.isclose(t, 0.5)


def test_best_threshold_with_overlap_maximises_accuracy():
    # Sorted: 0.1 S, 0.2 D, 0.3 S, 0.4 S, 0.5 D. Cuts: <0.15 -> 1 + 2 = 3, <0.45 -> 3 + 1 = 4 (best), all -> 3.
    d = np.array([0.1, 0.2, 0.3, 0.4, 0.5])
    same = np.array([True, False, True, True, False])
    t = best_threshold(d, same)
    assert 0.4 < t < 0.5
    assert np.mean((d < t) == same) == 0.8


def test_ten_fold_uses_the_other_folds_threshold():
    # Fold 0's own data would pick a threshold near 0.95, but the other folds say 0.5: fold 0 scores 50%.
    folds = np.repeat(np.arange(3), 4)
    d = np.array([0.9, 0.92, 1.0, 1.1, 0.1, 0.2, 0.8, 0.9, 0.1, 0.2, 0.8, 0.9])
    same = np.array([True, True, False, False] * 3)
    r = ten_fold_accuracy(d, same, folds)
    assert r["fold_accuracies"][0] == 0.5
    assert r["fold_accuracies"][1] == 1.0 and r["fold_accuracies"][2] == 1.0


def test_roc_metrics_perfect_separation():
    d = np.array([0.1, 0.2, 0.8, 0.9])
    r = roc_metrics(d, np.array([True, True, False, False]))
    assert r["auc"] == 1.0 and r["tar_at_far_0.01"] == 1.0


def test_official_pairs_file_has_ten_folds_of_600(data_root):
    pairs = read_pairs(lfw_root(data_root), "pairs.txt")
    assert len(pairs) == 6000
    for k in range(10):
        fold = [p for p in pairs if p.fold == k]
        assert sum(p.same for p in fold) == 300 and len(fold) == 600
    assert pairs[0].same and pairs[0].path_a.split("/")[0] == pairs[0].path_b.split("/")[0]
    assert not pairs[300].same
