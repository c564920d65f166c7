"""The verification metrics (threshold search, the 10-fold loop, ROC), against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from whosthat.vision.evaluation import (
    best_threshold,
    best_threshold_with_accuracy,
    dev_split_accuracy,
    held_out_fold_accuracy,
    plot_roc,
    roc,
    roc_metrics,
    ten_fold_accuracy,
    verification_roc,
)


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


def test_best_threshold_separable():
    thr, acc = best_threshold_with_accuracy(np.array([0.1, 0.2, 0.3, 0.4]), np.array([1, 1, 0, 0], bool))
    assert acc == 1.0 and thr == pytest.approx(0.25)


def test_best_threshold_ties_go_to_the_smaller_threshold():
    # sorted: 0.1 same, 0.3 diff, 0.35 same, 0.4 diff -> accepting 1 or 3 pairs both score 3/4
    thr, acc = best_threshold_with_accuracy(np.array([0.1, 0.35, 0.3, 0.4]), np.array([1, 1, 0, 0], bool))
    assert acc == 0.75 and thr == pytest.approx(0.2)


def test_tenfold_threshold_comes_from_the_other_folds():
    # fold 0 alone would pick 0.5; the other folds put the cut at 0.25, so 0.3 (same) in fold 0 is wrong
    d = np.array([0.3, 0.7, 0.1, 0.4, 0.2, 0.35])
    same = np.array([1, 0, 1, 0, 1, 0], bool)
    folds = np.array([0, 0, 1, 1, 2, 2])
    r = ten_fold_accuracy(d, same, folds)
    assert r["fold_accuracies"][0] == 0.5
    assert r["thresholds"][0] == pytest.approx(0.275)


def test_tenfold_accuracy_is_the_best_threshold_of_the_other_folds_by_brute_force():
    """The one 10-fold loop against a direct count: every candidate cut of the other folds tried, the
    best (smallest on ties) applied to the held-out fold."""
    rng = np.random.default_rng(0)
    same = rng.random(600) < 0.5
    d = np.where(same, rng.normal(0.45, 0.1, 600), rng.normal(0.75, 0.1, 600))
    folds = np.repeat(np.arange(10), 60)
    expected = []
    for k in range(10):
        dt, st = d[folds != k], same[folds != k]
        cuts = np.sort(dt)
        candidates = np.concatenate([[cuts[0] - 1e-6], (cuts[1:] + cuts[:-1]) / 2, [cuts[-1] + 1e-6]])
        accuracy = [np.mean((dt <= c) == st) for c in candidates]
        cut = candidates[int(np.argmax(accuracy))]
        expected.append(np.mean((d[folds == k] <= cut) == same[folds == k]))
    r = ten_fold_accuracy(d, same, folds)
    assert r["fold_accuracies"] == pytest.approx(expected)
    assert r["accuracy_mean"] == pytest.approx(np.mean(expected))


def test_nan_distances_count_as_errors_and_choose_no_threshold():
    """The serving and research copies of the 10-fold loop disagreed here: the serving one let a NaN
    distance (no face found) fall through as "different". NaN is an error on the test fold and takes no
    part in choosing the threshold, in every loop."""
    d = np.array([0.1, np.nan, 0.9, 0.2, 0.8])
    same = np.array([1, 1, 0, 1, 0], bool)
    folds = np.array([0, 0, 0, 1, 1])
    acc, thr = held_out_fold_accuracy(d, same, folds, 0)
    assert acc == pytest.approx(2 / 3)
    r = ten_fold_accuracy(d, same, folds)
    assert r["fold_accuracies"][0] == pytest.approx(2 / 3) and r["thresholds"][0] == pytest.approx(thr)
    # a NaN different-person pair is wrong too, although "not <= threshold" would have called it right
    d[2] = np.nan
    assert ten_fold_accuracy(d, same, folds)["fold_accuracies"][0] == pytest.approx(1 / 3)


def test_dev_split_chooses_on_dev_train_and_scores_dev_test():
    d = np.array([0.1, 0.5, 0.3, 0.45, 0.6])
    same = np.array([1, 0, 1, 1, 0], bool)
    folds = np.array([0, 0, 1, 1, 1])  # DevTrain cut: 0.3; DevTest: 0.3 right, 0.45 wrong, 0.6 right
    r = dev_split_accuracy(d, same, folds)
    assert r["thresholds"] == [pytest.approx(0.3)] and r["accuracy_mean"] == pytest.approx(2 / 3)
    assert r["accuracy_std"] == 0.0


def test_roc_leaves_out_nan_scores_and_has_no_auc_for_one_class():
    d = np.array([0.1, 0.2, np.nan, 0.6, 0.7])
    same = np.array([1, 1, 0, 0, 0], bool)
    assert verification_roc(d, same).auc == 1.0  # the NaN pair would otherwise break sklearn
    assert roc_metrics(d, same)["tar_at_far_0.001"] == 1.0
    assert np.isnan(roc(np.array([1, 1]), np.array([0.2, 0.9])).auc)


def test_roc_of_liveness_scores_counts_high_scores_as_positive():
    closed = np.array([0, 0, 1, 1])
    assert roc(closed, np.array([0.1, 0.4, 0.35, 0.8])).auc == pytest.approx(0.75)


def test_roc_plot_is_written(tmp_path):
    d = np.array([0.1, 0.2, 0.6, 0.7])
    same = np.array([1, 1, 0, 0], bool)
    assert verification_roc(d, same).auc == 1.0
    png = plot_roc({"model": verification_roc(d, same)}, tmp_path / "plots" / "roc.png", "LFW ROC")
    assert png.read_bytes()[:4] == b"\x89PNG"


def _two_model_pairs(seed: int = 3, folds: int = 10, per_fold: int = 200):
    """Synthetic cosines of two models whose errors are independent (so fusing them helps), on
    different scales (like dlib's and SFace's cosines)."""
    rng = np.random.default_rng(seed)
    n = folds * per_fold
    same = np.arange(n) % 2 == 0
    fold = np.repeat(np.arange(folds), per_fold)
    a = np.where(same, 0.95, 0.85) + rng.normal(0, 0.04, n)  # dlib-like: high, close together
    b = np.where(same, 0.65, 0.05) + rng.normal(0, 0.25, n)  # SFace-like: wide apart
    return np.stack([a, b], axis=1), same, fold


def test_fusion_per_fold_beats_each_model_and_chooses_on_training_folds_only():
    from whosthat.vision.evaluation import ten_fold_accuracy
    from whosthat.vision.lfw_eval import fusion_per_fold

    cos, same, fold = _two_model_pairs()
    fused = fusion_per_fold(cos, same, fold)
    alone = [ten_fold_accuracy(-cos[:, m], same, fold)["accuracy_mean"] for m in range(2)]
    assert fused["accuracy_mean"] > max(alone) + 0.01, (fused["accuracy_mean"], alone)
    assert len(fused["weights"]) == 10 and all(0 < w < 1 for w in fused["weights"])
    # The normalisation is each model's impostor and genuine mean cosine over the nine other folds.
    train = fold != 4
    np.testing.assert_allclose(
        fused["normalisation"][4]["impostor_mean"], cos[train & ~same].mean(0), atol=1e-6
    )
    np.testing.assert_allclose(
        fused["normalisation"][4]["genuine_mean"], cos[train & same].mean(0), atol=1e-6
    )
    # Wrecking fold 4's scores changes nothing chosen for fold 4, and only fold 4's accuracy changes.
    wrecked = cos.copy()
    wrecked[fold == 4] = wrecked[fold == 4][::-1]
    again = fusion_per_fold(wrecked, same, fold)
    assert again["weights"][4] == fused["weights"][4]
    assert again["thresholds"][4] == fused["thresholds"][4]
    assert again["normalisation"][4] == fused["normalisation"][4]
    assert again["fold_accuracies"][4] < 0.6 < fused["fold_accuracies"][4]


def test_fusion_per_fold_counts_faceless_pairs_as_wrong_and_leaves_them_out_of_the_choice():
    from whosthat.vision.lfw_eval import fusion_per_fold

    cos, same, fold = _two_model_pairs()
    holed = cos.copy()
    faceless = np.flatnonzero(fold == 0)[:10]
    holed[faceless, 1] = np.nan  # ten pairs of fold 0 where one model found no face
    result = fusion_per_fold(holed, same, fold)
    assert result["fold_accuracies"][0] <= 190 / 200  # the ten count as wrong
    assert np.isfinite(result["thresholds"]).all()  # and were left out of the other folds' choices
    assert all(np.isfinite(n["impostor_mean"]).all() for n in result["normalisation"])


def test_view1_fusion_weight_is_chosen_on_the_dev_split():
    from whosthat.vision.lfw_eval import view1_fusion_weight

    cos, same, fold = _two_model_pairs(seed=5, folds=2, per_fold=600)
    chosen = view1_fusion_weight(cos, same, fold)
    assert 0 < chosen["weight"] < 1
    assert chosen["dev_test_accuracy"] == max(chosen["grid"].values())
    # each model alone (weights 1 and 0) is worse on pairsDevTest than the chosen fusion
    assert (
        chosen["grid"][1.0] < chosen["dev_test_accuracy"]
        and chosen["grid"][0.0] < chosen["dev_test_accuracy"]
    )
