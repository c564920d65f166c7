"""Training the print-attack model: one tiny end-to-end run on real NUAA frames (split by subject, report,
reproduce command), and the exported file that serving loads."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")


def _small_nuaa(nuaa, root, per_subject: int):
    """A NUAA-layout folder under `root` with the first `per_subject` live and attack frames of each subject."""
    small = root / "nuaa_small"
    for folder in ("ClientRaw", "ImposterRaw"):
        for subject in sorted(p for p in (nuaa / folder).iterdir() if p.is_dir()):
            (small / folder / subject.name).mkdir(parents=True)
            for f in sorted(subject.glob("*.jpg"))[:per_subject]:
                (small / folder / subject.name / f.name).symlink_to(f)
    return small


def test_train_pad_splits_by_subject_and_writes_a_portable_reproduce_command(nuaa, tmp_path, monkeypatch):
    """`train eyes` wrote its data folder as `$WHOSTHAT_DATA/...` and `train pad` as the path it was given;
    both now write it as the docs do, so pad.json's command is the documented one."""
    from whosthat.research.pad import train_pad

    small = _small_nuaa(nuaa, tmp_path, 3)
    monkeypatch.setenv("WHOSTHAT_DATA", str(tmp_path))
    report = train_pad(small, tmp_path / "models", seed=0, epochs=1)
    assert report["command"] == "whosthat train pad --data $WHOSTHAT_DATA/nuaa_small --seed 0 --epochs 1"
    split = report["split"]
    assert split["test"] == ["0007", "0009"] and split["validation"] == ["0001", "0003"]
    for part in ("validation", "test"):
        r = report["candidates"]["cnn"][part]
        assert r["acer"] == pytest.approx((r["apcer"] + r["bpcer"]) / 2, abs=1e-4)
        assert r["n_live"] == r["n_attack"] == 3 * len(split[part])
    saved = json.loads((tmp_path / "models" / "pad.json").read_text())
    assert saved["chosen"] == report["chosen"] and saved["no_face"] == report["no_face"]
    if report["onnx"]:
        assert report["command"] in (tmp_path / "models" / "pad.md").read_text()


def test_the_exported_pad_model_is_what_serving_runs(tmp_path):
    from whosthat.liveness.pad import CROP_SIZE, PrintAttackDetector, prepare_crops
    from whosthat.research.pad import build_cnn, export_pad_model

    torch.manual_seed(0)
    model = build_cnn().eval()
    meta = {"whosthat_name": "pad-test", "whosthat_kind": "pad", "whosthat_threshold": "0.4200"}
    export_pad_model(model, tmp_path / "pad.onnx", meta)
    detector = PrintAttackDetector(tmp_path / "pad.onnx")
    assert detector.name == "pad-test" and detector.threshold == pytest.approx(0.42)
    crops = np.random.default_rng(0).integers(0, 256, (5, CROP_SIZE, CROP_SIZE, 3), dtype=np.uint8)
    with torch.no_grad():
        expected = torch.sigmoid(model(torch.from_numpy(prepare_crops(crops)))).squeeze(1).numpy()
    assert np.allclose(detector.attack_prob(crops), expected, atol=1e-5)
