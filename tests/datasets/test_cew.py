"""The CEW reader on the real eye patches: labels, sides, the face key pairing both eyes, who must share a
split, and a clear reason for a folder that is not CEW-layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from whosthat.datasets import cew
from whosthat.errors import BadInputError


@pytest.fixture(scope="module")
def cew_root(request) -> Path:
    """The real CEW patches (the shared `cew` fixture, named so as not to hide the module)."""
    return request.getfixturevalue("cew")


def test_real_patches_are_listed_folder_by_folder_with_label_and_side(cew_root):
    items = cew.read_cew(cew_root)
    assert len(items) == 3848
    folders = [item.path.parent.name for item in items]
    assert folders == sorted(folders, key=list(cew.FOLDERS).index)  # folder by folder, in FOLDERS order
    for item in items[:: max(1, len(items) // 50)]:
        closed, side = cew.FOLDERS[item.path.parent.name]
        assert (item.closed, item.side) == (closed, side)
        assert item.face == f"{closed}:{item.path.stem[:-2]}"
    # the left and right eye of one face share a face key
    faces: dict[str, set[str]] = {}
    for item in items:
        faces.setdefault(item.face, set()).add(item.side)
    assert sum(sides == {"L", "R"} for sides in faces.values()) > 1000


def test_faces_of_one_person_or_one_photo_are_one_group():
    assert cew.person_of_face("0:Aaron_Peirsol_0002") == "0:Aaron_Peirsol"
    assert cew.group_of("0:Aaron_Peirsol_0002") == cew.group_of("0:Aaron_Peirsol_0004")
    assert cew.group_of("1:closed_eye_0007.jpg_face_0") == cew.group_of("1:closed_eye_0007.jpg_face_1")
    assert cew.group_of("1:closed_eye_0007.jpg_face_0") != cew.group_of("1:closed_eye_0008.jpg_face_0")


def test_a_folder_with_only_some_of_the_four_folders_is_still_read(cew_root, tmp_path):
    """The two CEW readers disagreed: the research one refused a folder without all four sub-folders,
    the evaluation one read whatever was there. Any CEW-layout folder can be evaluated, so the reader
    reads what is there and refuses only a folder with no eye image at all."""
    (tmp_path / "closedLeftEyes").mkdir()
    for f in sorted((cew_root / "closedLeftEyes").glob("*.jpg"))[:3]:
        (tmp_path / "closedLeftEyes" / f.name).symlink_to(f)
    items = cew.read_cew(tmp_path)
    assert [(item.closed, item.side) for item in items] == [(1, "L")] * 3


def test_a_folder_without_eye_images_is_bad_input(tmp_path):
    with pytest.raises(BadInputError, match="CEW-layout"):
        cew.read_cew(tmp_path)
    with pytest.raises(BadInputError, match="not a folder"):
        cew.read_cew(tmp_path / "missing")


def test_patches_are_decoded_gray_and_unreadable_files_left_out(cew_root, tmp_path):
    (tmp_path / "openLeftEyes").mkdir()
    real = sorted((cew_root / "openLeftEyes").glob("*.jpg"))[0]
    (tmp_path / "openLeftEyes" / real.name).symlink_to(real)
    (tmp_path / "openLeftEyes" / "zz_broken_L.jpg").write_text("not a jpeg")
    items = cew.read_cew(tmp_path)
    kept, images = cew.read_patches(items)
    assert [item.path.name for item in kept] == [real.name]
    assert images[0].shape == (24, 24) and images[0].dtype == np.uint8
    _kept, resized = cew.read_patches(items, size=12)
    assert resized[0].shape == (12, 12)


def test_the_face_split_keeps_whole_groups_and_follows_the_seed():
    groups = [f"g{i // 2}" for i in range(200)]
    split = cew.split_groups(groups, seed=0)
    assert all(split[i] == split[i + 1] for i in range(0, 200, 2))
    assert np.bincount(split).tolist() == [140, 30, 30]
    assert not np.array_equal(split, cew.split_groups(groups, seed=1))
