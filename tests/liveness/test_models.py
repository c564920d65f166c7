"""The shipped eye-state and print-attack models: files and cards, the CLI verbs, evaluation, and the eye
patches the face mesh cuts from real faces (the fusion path of the challenge)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from whosthat.liveness.eyes import DEFAULT_EYE_MODEL, EyeStateClassifier, get_eye_classifier
from whosthat.liveness.pad import DEFAULT_PAD_MODEL, PrintAttackDetector

from .liveness_frames import on_canvas


def whosthat(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "whosthat", *args], capture_output=True, text=True, timeout=300
    )


def _meta(path: Path) -> dict:
    import onnx

    return {p.key: p.value for p in onnx.load(str(path)).metadata_props}


@pytest.mark.parametrize("path,kind", [(DEFAULT_EYE_MODEL, "eyes"), (DEFAULT_PAD_MODEL, "pad")])
def test_model_is_shipped_small_with_card_and_threshold(path, kind):
    assert path.is_file(), f"{path.name} is not shipped"
    assert path.stat().st_size < 2_000_000
    meta = _meta(path)
    assert meta["whosthat_kind"] == kind
    assert 0.0 < float(meta["whosthat_threshold"]) < 1.0
    card = path.parent / meta["whosthat_card"]
    assert card.is_file() and "whosthat train" in card.read_text()


def _some(cew: Path, folder: str, n: int) -> list[Path]:
    return sorted((cew / folder).glob("*.jpg"))[:n]


def test_eyes_cli_scores_real_patches_of_any_size(cew, tmp_path):
    import cv2

    opened = _some(cew, "openLeftEyes", 3)
    closed = _some(cew, "closedRightEyes", 3)
    big = tmp_path / "closed_big.png"  # the same closed eye at 64x64: resized to the model's input
    cv2.imwrite(str(big), cv2.resize(cv2.imread(str(closed[0])), (64, 64), interpolation=cv2.INTER_CUBIC))
    out = whosthat("eyes", *map(str, opened + closed + [big]), "--json")
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["path"] for r in rows] == [str(p) for p in opened + closed + [big]]
    probs = np.array([r["closed_prob"] for r in rows])
    assert probs[:3].max() < probs[3:6].min()
    assert probs[6] > 0.5


def test_eyes_cli_bad_input_exits_2_with_one_line(tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("not an image")
    out = whosthat("eyes", str(bad))
    assert out.returncode == 2
    assert len(out.stderr.strip().splitlines()) == 1


def test_eval_eyes_on_any_cew_layout_folder(cew, tmp_path):
    from whosthat.research.eyes_evaluation import evaluate_eyes

    for folder in ("openLeftEyes", "openRightEyes", "closedLeftEyes", "closedRightEyes"):
        (tmp_path / folder).mkdir()
        for p in _some(cew, folder, 8):
            (tmp_path / folder / p.name).symlink_to(p)
    report = evaluate_eyes(tmp_path, out=tmp_path / "report")
    c = report["confusion"]
    assert report["n"] == 32 and report["n_closed"] == 16
    assert sum(c.values()) == 32
    assert report["accuracy"] == pytest.approx((c["true_open_pred_open"] + c["true_closed_pred_closed"]) / 32)
    assert report["accuracy"] >= 0.9 and report["auc"] >= 0.9
    assert 16 <= report["faces"]["n"] <= 32 and 0.0 <= report["faces"]["accuracy"] <= 1.0
    assert (tmp_path / "report" / "report.json").is_file() and (tmp_path / "report" / "roc.png").is_file()


def test_train_eyes_commands_reject_an_unknown_recipe_choice_before_training(cew):
    for verb in ("eyes", "eyes-cv"):
        out = whosthat("train", verb, "--data", str(cew), "--augment", "sometimes")
        assert out.returncode == 2 and "--augment must be fixed or online" in out.stderr


def test_eval_eyes_rejects_a_folder_without_cew_layout(tmp_path):
    out = whosthat("eval", "eyes", "--data", str(tmp_path))
    assert out.returncode == 2 and "CEW" in out.stderr


def test_mesh_eye_patches_of_real_faces_read_open_and_closed(lfw_root):
    """The challenge's path: face mesh -> CEW-like eye patches -> model. Real photos with eyes really closed."""
    from whosthat.liveness.mesh import FaceMeshTracker
    from whosthat.vision.image import decode_image

    clf = get_eye_classifier()
    pairs = [("Ari_Fleischer", 11, 12), ("Igor_Ivanov", 2, 5)]
    with FaceMeshTracker(static_image_mode=True) as tracker:
        for name, open_n, closed_n in pairs:
            a_open = tracker.analyse(on_canvas(decode_image(lfw_root / name / f"{name}_{open_n:04d}.jpg")))
            a_closed = tracker.analyse(
                on_canvas(decode_image(lfw_root / name / f"{name}_{closed_n:04d}.jpg"))
            )
            p_open = clf.closed_prob(a_open.eye_patches)
            p_closed = clf.closed_prob(a_closed.eye_patches)
            assert p_open.max() < clf.threshold < p_closed.min(), (name, p_open, p_closed)
            assert a_closed.ear < 0.6 * a_open.ear


def test_pad_cli_scores_live_and_printed_faces(nuaa):
    live = sorted((nuaa / "ClientRaw" / "0009").glob("*.jpg"))[::20][:2]
    attack = sorted((nuaa / "ImposterRaw" / "0009").glob("*.jpg"))[::20][:2]
    out = whosthat("pad", *map(str, live + attack), "--json")
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert all(r["face_found"] for r in rows)
    assert max(r["attack_prob"] for r in rows[:2]) < min(r["attack_prob"] for r in rows[2:])


def test_pad_cli_reports_no_face(tmp_path):
    from whosthat.vision.image import encode_jpeg

    blank = tmp_path / "wall.jpg"
    blank.write_bytes(encode_jpeg(np.full((480, 640, 3), 128, np.uint8)))
    out = whosthat("pad", str(blank), "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"path": str(blank), "face_found": False, "attack_prob": None}


@pytest.mark.parametrize("model", [None, DEFAULT_PAD_MODEL])
def test_eval_pad_reports_iso_error_rates_on_a_subject(nuaa, model):
    """`eval pad --subjects`: one model (the configured one, or a file) at its own threshold."""
    from whosthat.liveness.pad import get_pad_detector
    from whosthat.research.pad_evaluation import evaluate_model

    report = evaluate_model(nuaa, model, {"0009"})
    assert report["n_live"] > 50 and report["n_attack"] > 50
    for key in ("apcer", "bpcer", "acer"):
        assert 0.0 <= report[key] <= 1.0
    assert report["acer"] == pytest.approx((report["apcer"] + report["bpcer"]) / 2)
    expected = PrintAttackDetector(model) if model else get_pad_detector()
    assert report["model"] == expected.name and report["threshold"] == expected.threshold


def test_pad_error_rates_follow_iso_30107_3():
    from whosthat.research.pad_evaluation import pad_error_rates

    attack = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0])
    score = np.array([0.9, 0.8, 0.2, np.nan, 0.1, 0.7, 0.3, np.nan, 0.0])
    r = pad_error_rates(attack, score, 0.5)
    assert r["apcer"] == pytest.approx(1 / 4)  # the 0.2 attack was accepted; no face = rejected
    assert r["bpcer"] == pytest.approx(2 / 5)  # 0.7 and the faceless live frame were rejected
    assert r["acer"] == pytest.approx((1 / 4 + 2 / 5) / 2)


def test_eye_classifier_refuses_a_missing_model(tmp_path):
    from whosthat.errors import BadInputError

    with pytest.raises(BadInputError):
        EyeStateClassifier(tmp_path / "none.onnx")
