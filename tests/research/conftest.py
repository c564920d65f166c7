"""Fixtures: a tiny real LFW subset (images named by a few pairs of two folds), prepared once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

TEST_FOLD = 0  # 0-based: LFW fold 1 is held out in the tiny runs
PAIRS_PER_KIND = 6


def _lfw_root() -> Path | None:
    data = os.environ.get("WHOSTHAT_DATA")
    if not data:
        return None
    root = Path(data) / "lfw"
    return root if (root / "lfw-deepfunneled").is_dir() and (root / "pairs.txt").is_file() else None


@pytest.fixture(scope="session")
def lfw_root() -> Path:
    root = _lfw_root()
    if root is None:
        pytest.skip(
            "LFW not available: set WHOSTHAT_DATA to a folder holding lfw/ (pairs.txt, lfw-deepfunneled/)"
        )
    return root


def tiny_subset(root: Path) -> list[str]:
    """Images of a few same-person pairs (of different people) and as many different-person pairs from
    LFW folds 1 (the test fold here: 4 + 4), 2 (whose same-pair people are the training identities:
    6 + 6) and 10 (the validation fold that chooses the threshold: 3 + 3)."""
    from whosthat.datasets import lfw

    pairs = lfw.read_pairs(root, "pairs.txt")
    chosen = set()
    # fold 1 is tested, fold 2 trained on, fold 10 (the one before fold 1) chooses the threshold
    for fold, count in ((0, 4), (1, PAIRS_PER_KIND), (9, 3)):
        same, people = [], set()
        for p in pairs:
            person = p.path_a.split("/")[0]
            if p.fold == fold and p.same and person not in people and len(same) < count:
                same.append(p)
                people.add(person)
        diff = [p for p in pairs if p.fold == fold and not p.same][:count]
        chosen |= {q for p in same + diff for q in (p.path_a, p.path_b)}
    return sorted(chosen)


@pytest.fixture(scope="session")
def tiny_crops(lfw_root, tmp_path_factory) -> Path:
    from whosthat.research.prepare import prepare_lfw_crops

    out = tmp_path_factory.mktemp("research") / "crops.npz"
    return prepare_lfw_crops(
        lfw_root, size=64, kind="rotation", out=out, paths=tiny_subset(lfw_root), progress=False
    )


@pytest.fixture(scope="session")
def tiny_features(lfw_root, tmp_path_factory) -> Path:
    from whosthat.research.prepare import prepare_lfw_features
    from whosthat.vision.cache import EmbeddingCache

    d = tmp_path_factory.mktemp("research-features")
    return prepare_lfw_features(
        lfw_root,
        out=d / "features.npz",
        paths=tiny_subset(lfw_root),
        progress=False,
        cache=EmbeddingCache(d / "embeddings.sqlite3"),
    )
