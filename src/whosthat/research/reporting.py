"""What the training and evaluation commands write besides the model: progress lines on stderr, data
folders written the way the docs write them (so a model card's reproduce command runs anywhere), and an
evaluation's report folder."""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path

from whosthat.vision.evaluation import Roc, plot_roc


def log(msg: str) -> None:
    """One progress line on stderr (stdout is kept for --json results)."""
    print(msg, file=sys.stderr, flush=True)


def data_as_env(data: str | Path) -> str:
    """The data folder as written in the docs: `$WHOSTHAT_DATA/...` when it lies under that folder, else as given."""
    root = os.environ.get("WHOSTHAT_DATA")
    if root and Path(data).resolve().is_relative_to(Path(root).resolve()):
        return "$WHOSTHAT_DATA/" + Path(data).resolve().relative_to(Path(root).resolve()).as_posix()
    return str(data)


def write_evaluation(
    out: Path, report: dict, curves: dict[str, Roc], title: str, xlabel: str, ylabel: str
) -> None:
    """`report` as out/report.json and the ROC of each {label: curve} that has an AUC (both classes
    present) as out/roc.png."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    drawn = {label: curve for label, curve in curves.items() if not math.isnan(curve.auc)}
    if drawn:
        plot_roc(drawn, out / "roc.png", title, xlabel, ylabel)
