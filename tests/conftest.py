"""Shared fixtures: real faces from WHOSTHAT_DATA (skipped with a reason when absent) and the
public-domain astronaut photo that scikit-image ships, so a fresh clone without data still tests faces."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest


def _data_root() -> Path | None:
    value = os.environ.get("WHOSTHAT_DATA")
    if value and Path(value).is_dir():
        return Path(value)
    return None


@pytest.fixture(autouse=True, scope="session")
def _isolated_home(tmp_path_factory):
    """Every test session gets its own WHOSTHAT_HOME, so tests never touch a developer's ./var."""
    if "WHOSTHAT_TEST_KEEP_HOME" not in os.environ:
        os.environ["WHOSTHAT_HOME"] = str(tmp_path_factory.mktemp("whosthat-home"))
    from whosthat.config import get_settings

    get_settings.cache_clear()
    yield


@pytest.fixture(scope="session")
def data_root() -> Path:
    root = _data_root()
    if root is None:
        pytest.skip(
            "WHOSTHAT_DATA is not set or not a folder: real-data tests need ../shared/data (see README)"
        )
    return root


def _dataset(data_root: Path, relative: str, what: str) -> Path:
    root = data_root / relative
    if not root.is_dir():
        pytest.skip(f"{what} not found under {root}")
    return root


@pytest.fixture(scope="session")
def lfw_root(data_root) -> Path:
    """LFW's deep-funneled images (NAME/NAME_0001.jpg)."""
    return _dataset(data_root, "lfw/lfw-deepfunneled", "LFW images")


@pytest.fixture(scope="session")
def cew(data_root) -> Path:
    """The CEW eye patches (openLeftEyes, closedLeftEyes, ...)."""
    return _dataset(data_root, "cew_eyes", "CEW eye patches")


@pytest.fixture(scope="session")
def nuaa(data_root) -> Path:
    """NUAA Photograph Imposter Database (ClientRaw, ImposterRaw and the lists)."""
    return _dataset(data_root, "nuaa", "NUAA")


def lfw_image(lfw_root: Path, name: str, number: int) -> Path:
    return lfw_root / name / f"{name}_{number:04d}.jpg"


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """Eileen Collins, NASA portrait (public domain), 512x512 RGB, shipped by scikit-image."""
    from skimage import data

    return data.astronaut()


@pytest.fixture(scope="session")
def minifasnet_dir() -> Path:
    """Minivision's MiniFASNet release (two .pth files, the RetinaFace detector, LICENSE): $MINIFASNET_DIR,
    else `models/silent-face-anti-spoofing` beside the data folder (the shared layout)."""
    data = _data_root()
    candidates = [Path(os.environ["MINIFASNET_DIR"])] if os.environ.get("MINIFASNET_DIR") else []
    candidates += [data.parent / "models" / "silent-face-anti-spoofing"] if data else []
    for folder in candidates:
        if (folder / "deploy.prototxt").is_file():
            return folder
    pytest.skip(
        "MiniFASNet release not found: set MINIFASNET_DIR to the folder of its weights and RetinaFace "
        "detector (../shared/models/silent-face-anti-spoofing)"
    )
