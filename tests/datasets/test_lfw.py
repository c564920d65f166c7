"""The LFW reader: the protocol files of View 1 and View 2, and where the LFW folder is."""

from __future__ import annotations

from pathlib import Path

import pytest

from whosthat.datasets import lfw
from whosthat.errors import BadInputError


@pytest.fixture(scope="module")
def lfw_dir(data_root) -> Path:
    root = data_root / "lfw"
    if not (root / "pairs.txt").is_file():
        pytest.skip(f"LFW protocol files not found under {root}")
    return root


def test_the_lfw_folder_is_the_folder_itself_or_the_one_holding_lfw(lfw_dir):
    assert lfw.lfw_root(lfw_dir) == lfw_dir
    assert lfw.lfw_root(lfw_dir.parent) == lfw_dir


def test_no_folder_or_a_folder_without_lfw_is_bad_input(tmp_path):
    with pytest.raises(BadInputError, match="WHOSTHAT_DATA"):
        lfw.lfw_root(None)  # the commands pass --data or the WHOSTHAT_DATA setting; the reader reads neither
    with pytest.raises(BadInputError, match="not an LFW folder"):
        lfw.lfw_root(tmp_path)


def test_view2_folds_are_people_disjoint_and_pairs_stay_in_their_fold(lfw_dir):
    folds = lfw.read_people_folds(lfw_dir, "people.txt")
    assert len(folds) == 10
    names = [n for f in folds for n in f]
    assert len(names) == len(set(names))
    fold_of = lfw.fold_of_person(folds)
    pairs = lfw.read_pairs(lfw_dir, "pairs.txt")
    assert len(pairs) == 6000 and sum(p.same for p in pairs) == 3000
    assert all(fold_of[q.split("/")[0]] == p.fold for p in pairs for q in (p.path_a, p.path_b))


def test_view1_files_parse(lfw_dir):
    train = lfw.read_pairs(lfw_dir, "pairsDevTrain.txt")
    assert len(train) == 2200 and {p.fold for p in train} == {0}
    assert len(lfw.read_people_folds(lfw_dir, "peopleDevTrain.txt")[0]) > 4000


def test_official_pairs_file_has_ten_folds_of_600(data_root):
    pairs = lfw.read_pairs(lfw.lfw_root(data_root), "pairs.txt")
    assert len(pairs) == 6000
    for k in range(10):
        fold = [p for p in pairs if p.fold == k]
        assert sum(p.same for p in fold) == 300 and len(fold) == 600
    assert pairs[0].same and pairs[0].path_a.split("/")[0] == pairs[0].path_b.split("/")[0]
    assert not pairs[300].same
