"""Retrieval metrics of embeddings (recall@k, NMI) and the training-curve plot, on small inputs worked out by hand."""

import numpy as np
import pytest

from whosthat.research import evaluation as ev


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


def test_training_curve_plot_is_written(tmp_path):
    csv = tmp_path / "metrics.csv"
    csv.write_text("epoch,step,train_loss,val_acc\n0,9,1.5,\n0,9,,0.7\n1,19,1.2,\n")
    assert ev.plot_training_curves(csv, tmp_path / "curves.png").read_bytes()[:4] == b"\x89PNG"
