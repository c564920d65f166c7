"""What the training commands write besides the model: progress lines on stderr, and data folders
written the way the docs write them, so a model card's reproduce command runs anywhere."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def log(msg: str) -> None:
    """One progress line on stderr (stdout is kept for --json results)."""
    print(msg, file=sys.stderr, flush=True)


def data_as_env(data: str | Path) -> str:
    """The data folder as written in the docs: `$WHOSTHAT_DATA/...` when it lies under that folder, else as given."""
    root = os.environ.get("WHOSTHAT_DATA")
    if root and Path(data).resolve().is_relative_to(Path(root).resolve()):
        return "$WHOSTHAT_DATA/" + Path(data).resolve().relative_to(Path(root).resolve()).as_posix()
    return str(data)
