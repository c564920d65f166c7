"""Training the eye-state model: the split by face, the online augmentation, and one tiny end-to-end run
on real CEW patches that writes the ONNX file, its report and its card."""

from __future__ import annotations

import json

import numpy as np
import pytest

from whosthat.datasets.cew import FOLDERS as CEW_FOLDERS
from whosthat.datasets.cew import group_of, read_cew, split_groups
from whosthat.liveness.eyes import PATCH_SIZE
from whosthat.research.eyes_augment import augmented_copies


def test_split_keeps_both_eyes_of_a_face_and_all_faces_of_a_photo_together(cew):
    items = read_cew(cew)
    split = split_groups([group_of(item.face) for item in items], seed=0)
    by_face, by_photo = {}, {}
    for item, s in zip(items, split, strict=True):
        by_face.setdefault(item.face, set()).add(int(s))
        if "_face_" in item.path.name:  # closed eyes: every face cut from one CEW photo
            by_photo.setdefault(item.path.name.split("_face_")[0], set()).add(int(s))
    assert all(len(s) == 1 for s in by_face.values())
    assert all(len(s) == 1 for s in by_photo.values())
    assert any(len(faces) > 1 for faces in _faces_per_photo(items).values())  # the rule is exercised
    assert set(split.tolist()) == {0, 1, 2}


def _faces_per_photo(items) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for item in items:
        if "_face_" in item.path.name:
            out.setdefault(item.path.name.split("_face_")[0], set()).add(item.face)
    return out


def test_online_augmentation_draws_fresh_copies_of_the_requested_share():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (40, PATCH_SIZE, PATCH_SIZE), dtype=np.uint8)
    first, idx_first = augmented_copies(x, 1.5, rng)
    second, idx_second = augmented_copies(x, 1.5, rng)
    assert first.shape == (20, PATCH_SIZE, PATCH_SIZE) and first.dtype == np.uint8
    assert len(set(idx_first.tolist())) == 20  # half of the patches, none twice
    assert not np.array_equal(first, second) or not np.array_equal(idx_first, idx_second)
    none, idx_none = augmented_copies(x, 1.0, rng)
    assert len(none) == 0 and len(idx_none) == 0


def _small_cew(cew, tmp_path, per_folder: int):
    """A CEW-layout folder with the first `per_folder` real patches of each of the four folders."""
    small = tmp_path / "cew_small"
    for folder in CEW_FOLDERS:
        (small / folder).mkdir(parents=True)
        for f in sorted((cew / folder).glob("*.jpg"))[:per_folder]:
            (small / folder / f.name).symlink_to(f)
    return small


def test_metrics_per_face_average_the_eyes_of_a_face_like_the_kiosk():
    from whosthat.research.eyes_evaluation import eye_metrics

    prob = np.array([0.9, 0.2, 0.3, 0.4, 0.8, 0.1])
    y = np.array([1, 1, 0, 0, 1, 0])
    faces = ["a", "a", "b", "b", "c", "d"]  # a: one eye wrong, the mean (0.55) right; d: one eye only
    m = eye_metrics(prob, y, 0.5, faces=faces)
    assert m["accuracy"] == pytest.approx(5 / 6)
    assert m["confusion"]["true_closed_pred_open"] == 1
    assert m["faces"] == {"n": 4, "both_eyes": 2, "accuracy": 1.0, "errors": 0}
    assert eye_metrics(prob, y, 0.6, faces=faces)["faces"]["errors"] == 1  # a: 0.55 < 0.6


@pytest.mark.parametrize(("augment", "members", "jobs"), [("fixed", 0, 1), ("online", 2, 2)])
def test_train_eyes_writes_model_report_and_card_from_one_run(cew, tmp_path, augment, members, jobs):
    pytest.importorskip("torch")
    import onnx

    from whosthat.liveness.eyes import EyeStateClassifier
    from whosthat.research.eyes import EyeRecipe, train_eyes

    small = _small_cew(cew, tmp_path, 60)
    out = tmp_path / "models"
    recipe = EyeRecipe(epochs=1, width=4, augment=augment, head="fc", ema=0.9)
    report = train_eyes(small, out, recipe, members=members, jobs=jobs)

    names = [v["name"] for v in report["variants"]]
    factors = ["x1", "x1.5", "x2"]
    assert names == (factors + ["ensemble of x1, x1.5, x2"] if not members else factors)
    n_train = report["split"]["train"]["patches"]
    assert report["variants"][0]["train_size"] == n_train
    assert report["variants"][2]["train_size"] == 2 * n_train
    assert report["chosen"] in names
    final = report["final"]
    if members:
        n_trainval = n_train + report["split"]["validation"]["patches"]
        assert final["name"] == f"2 x {report['chosen']} on train+validation"
        assert final["train_size"] == round(final["factor"] * n_trainval)
        assert final["parameters"] == 2 * report["variants"][0]["parameters"]
        assert report["threshold"] == 0.5
    assert final["test"]["n"] == report["split"]["test"]["patches"]
    assert final["test"]["faces"]["n"] * 2 == final["test"]["n"]  # every face has both eyes here
    meta = {p.key: p.value for p in onnx.load(str(out / "eye_state.onnx")).metadata_props}
    assert float(meta["whosthat_threshold"]) == pytest.approx(report["threshold"], abs=1e-3)
    assert json.loads((out / "eye_state.json").read_text())["chosen"] == report["chosen"]
    card = (out / "eye_state.md").read_text()
    assert report["command"] in card and f"--width 4 --augment {augment}" in report["command"]
    assert f"--members {members}" in report["command"] and "--head fc" in report["command"]
    assert ("drawn afresh every epoch" in card) == (augment == "online")
    assert f"{final['test']['faces']['accuracy']:.4f}" in card
    # the exported file is what serving loads, and it scores the test patches as the report says
    from whosthat.research.eyes import load_cew
    from whosthat.research.eyes_evaluation import eye_metrics

    clf = EyeStateClassifier(out / "eye_state.onnx")
    x, y, groups, _faces = load_cew(small)
    test = split_groups(groups, seed=0) == 2
    served = eye_metrics(clf.closed_prob(list(x[test])), y[test], clf.threshold)
    assert served["accuracy"] == pytest.approx(final["test"]["accuracy"], abs=1.01 / test.sum())


def test_cross_validation_scores_every_training_and_validation_patch_once_and_never_a_test_patch(
    cew, tmp_path
):
    pytest.importorskip("torch")
    from whosthat.research.eyes import EyeRecipe, cross_validate_eyes, load_cew

    small = _small_cew(cew, tmp_path, 40)
    _x, y, groups, _faces = load_cew(small)
    not_test = split_groups(groups, seed=0) < 2
    report = cross_validate_eyes(small, EyeRecipe(epochs=1, width=4, augment="online"), folds=3, factor=1.5)
    m = report["out_of_fold"]
    assert m["n"] == not_test.sum() == len(report["predictions"])
    assert (
        m["confusion"]["true_closed_pred_open"] + m["confusion"]["true_closed_pred_closed"]
        == y[not_test].sum()
    )
    assert len(report["fold_accuracy"]) == 3
    assert "--folds 3 --factor 1.5" in report["recipe"] and "--augment online" in report["recipe"]


def test_networks_trained_in_worker_processes_equal_those_trained_inline():
    """`--jobs` only changes how many networks train at a time, never the networks (the reproduce
    commands leave it out)."""
    torch = pytest.importorskip("torch")
    from whosthat.research.eyes import EyeRecipe, _fit_all

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (48, PATCH_SIZE, PATCH_SIZE), dtype=np.uint8)
    y = (np.arange(48) % 2).astype(np.int64)
    recipe = EyeRecipe(epochs=1, width=4, head="fc", smoothing=0.1, ema=0.9, augment="online")
    specs = [
        recipe.spec(x_train=x, y_train=y, x_val=None, y_val=None, factor=1.5, seed=s, keep_best=False)
        for s in (0, 1)
    ]
    inline, pooled = _fit_all(specs, jobs=1), _fit_all(specs, jobs=2)
    for (a, _, _), (b, _, _) in zip(inline, pooled, strict=True):
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(inline[0][0]["0.0.weight"], inline[1][0]["0.0.weight"])  # seeds differ


def test_a_recipe_rejects_unknown_choices_and_writes_itself_as_options():
    from whosthat.research.eyes import EyeRecipe

    with pytest.raises(ValueError, match="head"):
        EyeRecipe(head="conv")
    assert EyeRecipe().options(extras=False) == "--seed 0 --epochs 20 --width 16 --augment fixed --threads 1"
    assert EyeRecipe(ema=0.995).options().endswith("--head gap --smoothing 0 --ema 0.995")
