"""Optuna tuning on a tiny real subset; the LFW View 1 protocol; the CelebA, CEW and NUAA data modules."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from whosthat.datasets import lfw


def test_view1_protocol_trains_on_devtrain_people_only(lfw_root, tiny_crops):
    from whosthat.research.data import ArraySource, LFWDataModule

    source = ArraySource.load(tiny_crops)
    dev_train = set(lfw.read_people_folds(lfw_root, "peopleDevTrain.txt")[0])
    dm = LFWDataModule(source, lfw_root, protocol="view1", n_classes=2, m_per_class=2)
    try:
        dm.setup()
    except Exception as exc:  # the tiny subset may hold too few DevTrain people with two images
        pytest.skip(f"tiny subset too small for View 1: {exc}")
    assert {source.paths[i].split("/")[0] for i in dm.train_indices} <= dev_train


def test_tune_runs_trials_into_a_sqlite_study(lfw_root, tiny_features, tmp_path):
    optuna = pytest.importorskip("optuna")
    from whosthat.research.tuning import tune

    storage = f"sqlite:///{tmp_path / 'study.sqlite3'}"
    result = tune(
        "group_loss",
        "dlib_features",
        lfw_root,
        trials=2,
        test_fold=0,
        val_fold=9,
        epochs=1,
        storage=storage,
        study_name="t",
        features=tiny_features,
        crops=None,
        out_dir=tmp_path / "runs",
        batch_classes=2,
        batch_images=(2,),
    )
    assert result["trials"] == 2 and 0.0 <= result["best_value"] <= 1.01
    # a second process (or machine) pointing at the same URL continues the same study
    assert len(optuna.load_study(study_name="t", storage=storage).trials) == 2
    assert (tmp_path / "runs" / "best.json").is_file()


def test_dlib_baseline_uses_the_training_protocol(tiny_features, lfw_root):
    from whosthat.research.train import baseline_folds

    report = baseline_folds(lfw_root, [0], tiny_features)
    fold = report["per_fold"][0]
    assert fold["threshold_folds"] == [10] and fold["test_pairs"] == 600


def _copy_some_lfw(lfw_root: Path, dest: Path, people: int = 6, per_person: int = 3) -> list[tuple[str, str]]:
    images = lfw.list_identity_images(lfw_root)
    chosen = [(n, ps[:per_person]) for n, ps in images.items() if len(ps) >= per_person][:people]
    out = []
    for name, ps in chosen:
        for p in ps:
            out.append((name, p))
    return out


def test_celeba_layout_from_real_faces(lfw_root, tmp_path):
    from whosthat.datasets.celeba import read_celeba
    from whosthat.research.data import FolderIdentityDataModule
    from whosthat.research.prepare import prepare_lfw_crops  # noqa: F401  (same preparation path)

    root = tmp_path / "celeba"
    (root / "img_align_celeba").mkdir(parents=True)
    ident_lines, part_lines = [], []
    for k, (name, rel) in enumerate(_copy_some_lfw(lfw_root, root)):
        fname = f"{k + 1:06d}.jpg"
        shutil.copy(lfw_root / "lfw-deepfunneled" / rel, root / "img_align_celeba" / fname)
        ident = sorted({n for n, _ in _copy_some_lfw(lfw_root, root)}).index(name) + 1
        ident_lines.append(f"{fname} {ident}")
        part_lines.append(f"{fname} {0 if ident <= 4 else 1 if ident == 5 else 2}")
    (root / "identity_CelebA.txt").write_text("\n".join(ident_lines) + "\n")
    (root / "list_eval_partition.txt").write_text("\n".join(part_lines) + "\n")
    identity, split = read_celeba(root)
    assert len(identity) == 18 and set(split.values()) == {"train", "val", "test"}
    from whosthat.research.data import ArraySource

    paths = sorted(identity)
    images = np.stack(
        [
            np.asarray(
                __import__("PIL.Image", fromlist=["Image"]).open(root / p).convert("RGB").resize((64, 64))
            )
            for p in paths
        ]
    )
    dm = FolderIdentityDataModule(
        ArraySource(paths, images, np.ones(len(paths), bool)), identity, split, n_classes=2, m_per_class=2
    )
    x, y = next(iter(dm.train_dataloader()))
    assert x.shape == (4, 3, 64, 64) and len(set(y.tolist())) == 2
    assert len(dm.rows["test"][0]) == 3


def _data_dir() -> Path | None:
    d = os.environ.get("WHOSTHAT_DATA")
    return Path(d) if d else None


def test_cew_and_nuaa_layouts_split_cleanly():
    from whosthat.research.data import cew_layout, nuaa_layout

    data = _data_dir()
    if data is None or not (data / "cew_eyes").is_dir() or not (data / "nuaa").is_dir():
        pytest.skip("CEW/NUAA not available under WHOSTHAT_DATA")
    labels, split = cew_layout(data / "cew_eyes")
    assert set(labels.values()) == {"open", "closed"} and set(split.values()) == {"train", "val", "test"}
    labels, split = nuaa_layout(data / "nuaa")
    assert set(labels.values()) == {"live", "attack"}
    subjects_by_split = {}
    for rel, part in split.items():
        subjects_by_split.setdefault(part, set()).add(rel.split("/")[1])
    assert not subjects_by_split["train"] & subjects_by_split["test"]


def test_the_cew_data_module_split_is_the_face_split_of_train_eyes(cew):
    """research.data split CEW by a hash of the file name, which put the two eyes of one face (and the
    photos of one person) in different splits; it now draws `train eyes`' face split."""
    from whosthat.datasets.cew import group_of, read_cew, split_groups
    from whosthat.research.data import cew_layout

    _labels, split = cew_layout(cew)
    items = read_cew(cew)
    drawn = split_groups([group_of(item.face) for item in items], seed=0)
    names = ("train", "val", "test")
    assert [split[item.path.relative_to(cew).as_posix()] for item in items] == [names[k] for k in drawn]
    splits_of_face: dict[str, set[str]] = {}
    for item in items:
        splits_of_face.setdefault(item.face, set()).add(split[item.path.relative_to(cew).as_posix()])
    assert all(len(s) == 1 for s in splits_of_face.values())


def test_the_nuaa_data_module_holds_out_the_subjects_of_train_pad(nuaa):
    """research.data held out the last two subject ids (and validated on the one before), `train pad`
    a seeded draw: one rule now, `datasets.nuaa.split_subjects`, so no research run trains on the
    subjects the shipped print-attack model is tested on."""
    from whosthat.research.data import nuaa_layout

    _labels, split = nuaa_layout(nuaa)
    subjects = {
        part: sorted({rel.split("/")[1] for rel, p in split.items() if p == part}) for part in ("val", "test")
    }
    assert subjects == {"val": ["0001", "0003"], "test": ["0007", "0009"]}
    _labels, split = nuaa_layout(nuaa, test_subjects=("0002",), val_subjects=())
    assert {rel.split("/")[1] for rel, p in split.items() if p == "test"} == {"0002"}
    assert "val" not in split.values()


def test_download_checksums_match_the_shipped_protocol_files(lfw_root):
    from whosthat.research.download import LFW, verify

    for name in ("pairs.txt", "people.txt", "pairsDevTrain.txt", "pairsDevTest.txt"):
        assert verify(lfw_root / name, LFW[name]), name
