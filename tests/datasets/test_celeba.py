"""The CelebA reader on the real in-the-wild photos: who is in which file, and the identity-disjoint split."""

from __future__ import annotations

import pytest

from whosthat.datasets.celeba import read_celeba
from whosthat.errors import BadInputError


def test_real_celeba_identities_and_their_split(data_root):
    root = data_root / "celeba"
    if not (root / "identity_CelebA.txt").is_file():
        pytest.skip(f"CelebA not found under {root}")
    identity, split = read_celeba(root)
    assert len(identity) == 1010 and len(set(identity.values())) == 138
    assert all(p.startswith("img_celeba/") and (root / p).is_file() for p in identity)
    # no partition file here: each identity lies in one split, decided by its number
    parts: dict[str, set[str]] = {}
    for p, ident in identity.items():
        parts.setdefault(ident, set()).add(split[p])
        assert split[p] == {8: "val", 9: "test"}.get(int(ident) % 10, "train")
    assert all(len(s) == 1 for s in parts.values())
    assert set(split.values()) == {"train", "val", "test"}


def test_celeba_layout_rejects_other_folders(tmp_path):
    with pytest.raises(BadInputError, match="identity_CelebA.txt"):
        read_celeba(tmp_path)
