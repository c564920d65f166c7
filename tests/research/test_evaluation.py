"""Verification and retrieval metrics on small inputs worked out by hand."""

import numpy as np
import pytest

from whosthat.research import evaluation as ev


def test_best_threshold_separable():
    thr, acc = ev.best_threshold(np.array([0.1, 0.2, 0.3, 0.4]), np.array([1, 1, 0, 0], bool))
    assert acc == 1.0 and thr == pytest.approx(0.25)


def test_best_threshold_ties_go_to_the_smaller_threshold():
    # sorted: 0.1 same, 0.3 diff, 0.35 same, 0.4 diff -> accepting 1 or 3 pairs both score 3/4
    thr, acc = ev.best_threshold(np.array([0.1, 0.35, 0.3, 0.4]), np.array([1, 1, 0, 0], bool))
    assert acc == 0.75 and thr == pytest.approx(0.2)


def test_tenfold_threshold_comes_from_the_other_folds():
    # fold 0 alone would pick 0.5; the other folds put the cut at 0.25, so 0.3 (same) in fold 0 is wrong
    d = np.array([0.3, 0.7, 0.1, 0.4, 0.2, 0.35])
    same = np.array([1, 0, 1, 0, 1, 0], bool)
    folds = np.array([0, 0, 1, 1, 2, 2])
    r = ev.tenfold_accuracy(d, same, folds)
    assert r.accuracies[0] == 0.5
    assert r.thresholds[0] == pytest.approx(0.275)


def test_tenfold_agrees_with_the_serving_evaluation():
    pytest.importorskip("cv2")
    from whosthat.vision.evaluation import ten_fold_accuracy

    rng = np.random.default_rng(0)
    same = rng.random(6000) < 0.5
    d = np.where(same, rng.normal(0.45, 0.1, 6000), rng.normal(0.75, 0.1, 6000))
    folds = np.repeat(np.arange(10), 600)
    mine = ev.tenfold_accuracy(d, same, folds)
    theirs = ten_fold_accuracy(d, same, folds)
    assert mine.mean == pytest.approx(theirs["accuracy_mean"], abs=1e-9)


def test_nan_distances_count_as_errors():
    d = np.array([0.1, np.nan, 0.9, 0.2, 0.8])
    same = np.array([1, 1, 0, 1, 0], bool)
    acc, thr = ev.held_out_fold_accuracy(d, same, np.array([0, 0, 0, 1, 1]), 0)
    assert acc == pytest.approx(2 / 3)


def test_recall_at_k_by_hand():
    e = np.array([[0.0], [0.1], [1.0], [1.1], [5.0]])
    labels = np.array(["a", "b", "a", "b", "c"])
    # nearest neighbours: 0->1 (b), 1->0 (a), 2->3 (b), 3->2 (a): all miss at k=1
    # two nearest: 0 -> {1, 2}: hit; 1 -> {0, 2}: miss; 2 -> {3, 1}: miss; 3 -> {2, 1}: hit
    r = ev.recall_at_k(e, labels, (1, 2))
    assert r == {1: 0.0, 2: 0.5}


def test_batch_recall_is_easier_than_full_gallery_recall():
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(60, 16))
    labels = np.repeat(np.arange(60), 3)
    e = centres[labels] + rng.normal(scale=1.3, size=(180, 16))
    full = ev.recall_at_k(e, labels, (1,))[1]
    batch = ev.batch_recall_at_k(e, labels, 8, 3, (1,), rounds=3)[1]
    assert batch > full


def test_nmi_is_one_for_well_separated_clusters():
    e = np.array([[0, 0], [0.1, 0], [10, 10], [10.1, 10], [-10, 10], [-10, 10.1]])
    assert ev.nmi(e, np.array([0, 0, 1, 1, 2, 2])) == pytest.approx(1.0)


def test_roc_and_curve_plots_are_written(tmp_path):
    d = np.array([0.1, 0.2, 0.6, 0.7])
    same = np.array([1, 1, 0, 0], bool)
    assert ev.roc_points(d, same)[2] == 1.0
    png = ev.plot_roc({"model": (d, same)}, tmp_path / "roc.png")
    assert png.read_bytes()[:4] == b"\x89PNG"
    csv = tmp_path / "metrics.csv"
    csv.write_text("epoch,step,train_loss,val_acc\n0,9,1.5,\n0,9,,0.7\n1,19,1.2,\n")
    assert ev.plot_training_curves(csv, tmp_path / "curves.png").read_bytes()[:4] == b"\x89PNG"
