"""Option types and small helpers shared by the evaluation and training commands (commands.evaluate,
commands.research): the same option reads and checks the same way in every command that takes it."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from whosthat.errors import BadInputError

JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output on stdout")]
DatasetOpt = Annotated[Path, typer.Option("--data", help="dataset folder")]
ModelFileOpt = Annotated[Path | None, typer.Option("--model", help="ONNX file (default: the shipped model)")]
LfwDataOpt = Annotated[
    Path | None, typer.Option("--data", help="LFW folder or a folder holding lfw/ (default: $WHOSTHAT_DATA)")
]
PopulationDataOpt = Annotated[
    Path | None,
    typer.Option("--data", help="a dataset's folder or the folder holding them (default: $WHOSTHAT_DATA)"),
]
FlipOpt = Annotated[
    bool | None,
    typer.Option("--flip/--no-flip", help="mirror test-time augmentation (default: WHOSTHAT_FLIP_TTA)"),
]
FoldsOpt = Annotated[
    list[int] | None,
    typer.Option("--test-fold", help="held-out LFW fold 1..10 (repeatable; default all ten)"),
]


def echo_json(obj) -> None:
    """One JSON line on stdout."""
    sys.stdout.write(json.dumps(obj) + "\n")


def emit(result: dict, as_json: bool, lines: list[str]) -> None:
    """`result` as one JSON line with --json, else the human-readable `lines`."""
    if as_json:
        typer.echo(json.dumps(result))
    else:
        for line in lines:
            typer.echo(line)


def need_folder(path: Path) -> Path:
    """`path` when it is a folder; else BadInputError naming the --data option."""
    if not path.is_dir():
        raise BadInputError(f"--data {path}: not a folder")
    return path


def need_torch() -> None:
    """BadInputError (exit 2) unless the [train] extra (torch) is installed; looked up without importing
    it (only research/ imports torch)."""
    if importlib.util.find_spec("torch") is None:
        raise BadInputError("training needs the [train] extra: pip install 'whosthat[train]'")


def lfw_folder(data: Path | None) -> Path:
    """The LFW folder from --data, by default from the WHOSTHAT_DATA setting (`datasets.lfw.lfw_root`)."""
    from whosthat.config import get_settings
    from whosthat.datasets import lfw

    return lfw.lfw_root(data or get_settings().data)


def fold_indices(test_fold: list[int] | None) -> list[int]:
    """--test-fold values (LFW's numbering 1..10, default all ten) as 0-based fold indices."""
    folds = test_fold or list(range(1, 11))
    bad = [k for k in folds if not 1 <= k <= 10]
    if bad:
        raise BadInputError(f"test folds are numbered 1..10, got {bad[0]}")
    return [k - 1 for k in folds]


def data_root(data: Path | None) -> Path | None:
    """--data, by default the WHOSTHAT_DATA setting (the readers say what is missing)."""
    from whosthat.config import get_settings

    return data or get_settings().data


def flip_setting(flip: bool | None) -> bool:
    """--flip/--no-flip, by default the WHOSTHAT_FLIP_TTA setting."""
    from whosthat.config import get_settings

    return get_settings().flip_tta if flip is None else flip


def log(message: str) -> None:
    """A progress line on stderr."""
    typer.echo(f"whosthat: {message}", err=True)
