"""kill -9 during writes (a real `whosthat serve` subprocess): every acknowledged write survives, the
database checks pass, and parallel clock events still alternate. `whosthat bench crash` runs more
rounds (docs/reliability.md)."""

from __future__ import annotations

import pytest

from whosthat.web.reliability import crash_test


@pytest.mark.slow
def test_acknowledged_writes_survive_kill_9(tmp_path):
    report = crash_test(rounds=2, writers=3, round_s=(0.8, 1.6), race_parallel=8, home=tmp_path)
    assert report.acknowledged_people > 0 and report.acknowledged_events > 0, report.to_dict()
    assert report.lost == 0, report.to_dict()
    assert report.integrity == "ok" and report.foreign_key_errors == 0, report.to_dict()
    assert report.days_not_alternating == 0, report.to_dict()
