"""The protocol of `whosthat eval pad` on a small real NUAA folder: thresholds from the training side only,
error rates per subject and session on held-out subjects (and sessions), per attempt, the choice between
candidates. No torch needed."""

from __future__ import annotations

import json

import numpy as np
import pytest

from whosthat.research.pad_evaluation import CANDIDATES, attempts, eer_threshold, nuaa_model_split


def small_nuaa(nuaa, root, per_group: int):
    """A NUAA-layout folder with the first `per_group` frames of each subject, class and session."""
    from whosthat.datasets import nuaa as reader

    small = root / "nuaa_small"
    groups: dict[tuple, int] = {}
    for f in reader.read_nuaa(nuaa):
        key = (f.attack, f.subject, f.session)
        if groups.get(key, 0) >= per_group:
            continue
        groups[key] = groups.get(key, 0) + 1
        folder = small / ("ImposterRaw" if f.attack else "ClientRaw") / f.subject
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f.path.name).symlink_to(f.path)
    return small


@pytest.fixture(scope="module")
def report(nuaa, tmp_path_factory):
    from whosthat.research.pad_evaluation import evaluate_pad

    root = tmp_path_factory.mktemp("pad-eval")
    data = small_nuaa(nuaa, root, 8)
    return evaluate_pad(data, root / "report", progress=False), data, root / "report"


def test_thresholds_come_from_the_validation_subjects_only(report):
    from whosthat.datasets import nuaa as reader
    from whosthat.liveness.pad import MINIFASNET_MODEL, open_pad_model
    from whosthat.research.pad_evaluation import score_frames
    from whosthat.research.pad_frames import face_boxes

    result, data, _ = report
    assert result["split"]["validation"] == ["0001", "0003"] and result["split"]["test"] == ["0007", "0009"]
    dev = reader.read_nuaa(data, {"0001", "0003"})
    scores = score_frames(face_boxes(dev, progress=False), open_pad_model(MINIFASNET_MODEL))[:, 0]
    expected = eer_threshold(np.array([f.attack for f in dev]), scores)
    assert result["candidates"]["minifasnet"]["threshold"] == pytest.approx(expected, abs=1e-4)


def test_held_out_rates_are_reported_per_subject_and_session(report):
    result, _, out = report
    for name, c in result["candidates"].items():
        groups = c["held_out_groups"]
        assert {(g["subject"], g["session"]) for g in groups} == {
            (s, n) for s in ("0007", "0009") for n in ("01", "02")
        }, name
        assert (
            sum(g["n_live"] + g["n_attack"] for g in groups)
            == c["held_out"]["n_live"] + c["held_out"]["n_attack"]
        )
        for r in [c["held_out"], c["held_out_attempts"], *groups]:
            assert r["acer"] == pytest.approx((r["apcer"] + r["bpcer"]) / 2, abs=1e-4)
    assert len(result["candidates"]["minifasnet"]["all_groups"]) == 18  # 9 subjects x 2 sessions
    assert result["chosen"] in CANDIDATES
    assert (out / "report.json").is_file() and (out / "roc.png").is_file()
    assert "| 0009 | 02 |" in (out / "report.md").read_text()


def test_a_session_hold_out_is_read_from_the_models_report(tmp_path):
    (tmp_path / "pad.json").write_text(
        json.dumps({"split": {"train": ["a"], "validation": ["b"], "test": ["c"]}, "train_sessions": ["01"]})
    )
    split, sessions = nuaa_model_split(tmp_path / "pad.onnx", ["a", "b", "c"])
    assert split["test"] == ["c"] and sessions == ["01"]
    split, sessions = nuaa_model_split(
        tmp_path / "elsewhere" / "pad.onnx", [f"{i:04d}" for i in range(1, 10)]
    )
    assert split["test"] == ["0007", "0009"] and sessions is None  # datasets.nuaa's seed-0 split


def test_an_attempt_fuses_consecutive_frames_of_one_presentation():
    from whosthat.datasets.nuaa import NuaaFrame

    def frame(subject, attack, picture, session="01"):
        return NuaaFrame(None, attack, subject, "00", "00", session, picture)

    frames = (
        [frame("a", 0, p) for p in (9, 1, 5, 3, 7)] + [frame("a", 1, p) for p in (2, 4)] + [frame("b", 0, 1)]
    )
    runs = attempts(frames, 2)
    assert [[frames[i].picture for i in run] for run in runs] == [[1, 3], [5, 7], [2, 4]]
