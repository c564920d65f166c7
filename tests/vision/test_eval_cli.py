"""`whosthat eval lfw` refuses fold counts it cannot cross-validate, before reading any data."""

from __future__ import annotations

import subprocess
import sys


def test_eval_lfw_needs_two_folds_to_choose_thresholds(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "whosthat", "eval", "lfw", "--limit-folds", "1", "--data", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2
    words = " ".join(out.stderr.replace("│", " ").split())  # the error box wraps its text
    assert "--limit-folds" in words and "greater than or equal to 2" in words
    assert "Traceback" not in out.stderr
