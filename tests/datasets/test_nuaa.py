"""The NUAA reader on the real frames: live and attack frames in the order of the official lists, the
fields of each name, the subject split, and a clear reason for a folder that is not NUAA-layout."""

from __future__ import annotations

from pathlib import Path

import pytest

from whosthat.datasets import nuaa
from whosthat.errors import BadInputError


@pytest.fixture(scope="module")
def nuaa_root(request) -> Path:
    """The real NUAA frames (the shared `nuaa` fixture, named so as not to hide the module)."""
    return request.getfixturevalue("nuaa")


def test_frames_follow_the_official_lists_live_first(nuaa_root):
    frames = nuaa.read_nuaa(nuaa_root)
    live = [f for f in frames if f.attack == 0]
    assert (len(live), len(frames) - len(live)) == (872, 874)
    assert frames[: len(live)] == live  # live frames, then attacks
    listed = [
        line.strip().replace("\\", "/")
        for line in (nuaa_root / "client_train_raw.txt").read_text().splitlines()
        if line.strip()
    ]
    assert [f.path.relative_to(nuaa_root / "ClientRaw").as_posix() for f in live] == listed
    assert all(f.subject == f.path.parent.name for f in frames)  # the name's subject is its folder's
    assert {f.subject for f in frames} == {f"{k:04d}" for k in range(1, 10)}


def test_only_the_asked_subjects_are_read(nuaa_root):
    frames = nuaa.read_nuaa(nuaa_root, {"0009"})
    assert frames and {f.subject for f in frames} == {"0009"} and {f.attack for f in frames} == {0, 1}


def test_without_list_files_every_jpg_is_read_in_path_order(nuaa_root, tmp_path):
    """The research reader globbed the folders while the evaluation one followed the lists; the one
    reader follows the lists when there are any (they name the official split), else takes every jpg."""
    (tmp_path / "ImposterRaw" / "0009").mkdir(parents=True)
    for f in sorted((nuaa_root / "ImposterRaw" / "0009").glob("*.jpg"))[:3][::-1]:
        (tmp_path / "ImposterRaw" / "0009" / f.name).symlink_to(f)
    frames = nuaa.read_nuaa(tmp_path)  # no ClientRaw/ and no lists: still a NUAA-layout folder
    assert [f.path.name for f in frames] == sorted(f.path.name for f in frames)
    assert {f.attack for f in frames} == {1}


def test_names_are_parsed_into_their_fields():
    frame = nuaa.parse_name(Path("ClientRaw/0001/0001_00_00_01_105.jpg"), 0)
    assert (frame.subject, frame.glasses, frame.position, frame.session, frame.picture) == (
        "0001",
        "00",
        "00",
        "01",
        105,
    )
    odd = nuaa.parse_name(Path("0002_snapshot.jpg"), 1)
    assert (odd.subject, odd.session, odd.picture) == ("0002", "", -1)


def test_a_folder_without_frames_is_bad_input(tmp_path):
    with pytest.raises(BadInputError, match="NUAA-layout"):
        nuaa.read_nuaa(tmp_path)


def test_the_subject_split_of_train_pad():
    split = nuaa.split_subjects([f"{k:04d}" for k in range(1, 10)] * 3, seed=0)
    assert split == {
        "train": ["0002", "0004", "0005", "0006", "0008"],
        "validation": ["0001", "0003"],
        "test": ["0007", "0009"],
    }
