"""Tiny real-data runs of every method, export to ONNX with a parity check, the app loading it by name."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("lightning")

from whosthat.research.train import TrainConfig, train_folds  # noqa: E402

METHODS = ["siamese_bce", "siamese_contrastive", "group_loss", "arcface"]


@pytest.mark.parametrize("method", METHODS)
def test_each_method_trains_a_dlib_head_and_reports_the_held_out_fold(
    method, lfw_root, tiny_features, tmp_path
):
    cfg = TrainConfig(
        method=method,
        backbone="dlib_features",
        epochs=3,
        lr=1e-2,
        n_classes=4,
        m_per_class=2,
        progress=False,
        method_kwargs={"warmup_epochs": 1} if method == "group_loss" else {},
    )
    report = train_folds(cfg, lfw_root, [0], tmp_path, features=tiny_features)
    fold = report["per_fold"][0]
    assert fold["test_fold"] == 1 and fold["test_pairs"] == 600
    assert 0.0 <= fold["accuracy"] <= 1.0 and 0.0 <= fold["auc"] <= 1.0
    assert fold["train_identities"] >= 4
    ckpt = torch.load(fold["checkpoint"], map_location="cpu", weights_only=False)
    weight = ckpt["state_dict"]["backbone.linear.weight"]
    assert not torch.allclose(weight, torch.eye(128)), "training did not move the head away from the identity"
    for name in ("roc.png", "training_curves.png", "metrics.json"):
        assert (tmp_path / "fold1" / name).stat().st_size > 0
    metrics = (tmp_path / "fold1" / "logs" / "metrics.csv").read_text()
    assert "train_loss" in metrics and "val_acc" in metrics
    assert list((tmp_path / "fold1" / "tensorboard").glob("events.out.tfevents.*"))


def test_untrained_dlib_head_reproduces_the_plain_descriptors(tiny_features):
    from whosthat.research.modules import build_module
    from whosthat.research.prepare import load_features

    source, _, _ = load_features(tiny_features)
    module = build_module("group_loss", backbone="dlib_features", dim=128, n_classes=4).eval()
    x = torch.from_numpy(source.data[source.found])
    with torch.no_grad():
        out = module(x).numpy()
    expected = source.data[source.found] / np.linalg.norm(source.data[source.found], axis=1, keepdims=True)
    assert np.allclose(out, expected, atol=1e-6)


def test_training_uses_no_image_of_the_test_or_validation_fold_people(lfw_root, tiny_features):
    from whosthat.datasets import lfw
    from whosthat.research.data import LFWDataModule
    from whosthat.research.prepare import load_features

    source, _, _ = load_features(tiny_features)
    dm = LFWDataModule(source, lfw_root, test_fold=0, val_fold=9, n_classes=2, m_per_class=2)
    dm.setup()
    folds = lfw.read_people_folds(lfw_root)
    trained = {source.paths[i].split("/")[0] for i in dm.train_indices}
    assert trained and not trained & (set(folds[0]) | set(folds[9]))
    # the validation pairs are fold 10's, and none of fold 1's (the test fold) is among them
    a, b, same = dm.val_pairs
    assert len(same) == 600


def test_small_cnn_trains_from_scratch_on_aligned_crops(lfw_root, tiny_crops, tmp_path):
    cfg = TrainConfig(
        method="siamese_contrastive",
        backbone="small_cnn",
        epochs=2,
        n_classes=4,
        m_per_class=2,
        progress=False,
    )
    report = train_folds(cfg, lfw_root, [0], tmp_path, crops=tiny_crops)
    assert report["input"] == "image:64:rotation"
    assert report["per_fold"][0]["test_images"] > 0


def _export_and_check(checkpoint: Path, out: Path):
    from whosthat.research.export import export_checkpoint

    result = export_checkpoint(checkpoint, out)
    assert result["parity_max_abs_diff"] < 1e-4
    assert Path(result["card"]).read_text().startswith(f"# {out.stem}")
    return result


def test_export_parity_and_the_app_loads_the_head_by_name(lfw_root, tiny_features, tmp_path, monkeypatch):
    from whosthat.config import get_settings
    from whosthat.models.onnx import onnx_session
    from whosthat.research.modules import load_module
    from whosthat.vision import embedders
    from whosthat.vision.image import decode_image
    from whosthat.vision.pipeline import FacePipeline

    cfg = TrainConfig(method="group_loss", epochs=2, lr=1e-2, n_classes=4, m_per_class=2, progress=False)
    report = train_folds(cfg, lfw_root, [0], tmp_path / "run", features=tiny_features)
    ckpt = Path(report["per_fold"][0]["checkpoint"])
    monkeypatch.setenv("WHOSTHAT_HOME", str(tmp_path / "home"))
    get_settings.cache_clear()
    embedders.get_embedder.cache_clear()
    try:
        onnx_path = tmp_path / "home" / "models" / "tiny-group-loss.onnx"
        result = _export_and_check(ckpt, onnx_path)
        assert result["input"] == "features:dlib-resnet-v1"
        assert "tiny-group-loss" in embedders.list_embedders()
        # the app's path: dlib descriptor of a real face, then the head, equals the PyTorch module
        pipe = FacePipeline(detector="auto", embedder="tiny-group-loss")
        rgb = decode_image(lfw_root / "lfw-deepfunneled" / "Aaron_Peirsol" / "Aaron_Peirsol_0001.jpg")
        face = pipe.embed_detection(rgb, pipe.detect(rgb)[0])
        base = embedders.get_embedder("dlib-resnet-v1").embed(face.chip[None])
        with torch.no_grad():
            expected = load_module(ckpt)(torch.from_numpy(base)).numpy()[0]
        assert np.allclose(face.embedding, expected, atol=1e-4)
        sess = onnx_session(str(onnx_path))
        assert sess.get_inputs()[0].name == "features"
    finally:
        get_settings.cache_clear()
        embedders.get_embedder.cache_clear()


def test_export_parity_for_an_image_model(lfw_root, tiny_crops, tmp_path):
    cfg = TrainConfig(
        method="arcface", backbone="small_cnn", epochs=1, n_classes=4, m_per_class=2, progress=False
    )
    report = train_folds(cfg, lfw_root, [0], tmp_path / "run", crops=tiny_crops)
    result = _export_and_check(Path(report["per_fold"][0]["checkpoint"]), tmp_path / "cnn.onnx")
    assert result["input"] == "image:64:rotation"


def test_export_rejects_a_file_that_is_not_a_checkpoint(tmp_path):
    from whosthat.errors import BadInputError
    from whosthat.research.export import export_checkpoint

    bogus = tmp_path / "x.ckpt"
    bogus.write_text("not a checkpoint")
    with pytest.raises(BadInputError):
        export_checkpoint(bogus, tmp_path / "x.onnx")


def _whosthat() -> str:
    exe = Path(sys.executable).parent / "whosthat"
    if not exe.exists():
        pytest.skip("the whosthat console script is not installed in this environment")
    return str(exe)


def test_cli_rejects_bad_folds_with_exit_2():
    proc = subprocess.run(
        [_whosthat(), "train", "group-loss", "--test-fold", "11"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2
    assert "1..10" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_ddp_trains_in_two_cpu_processes(lfw_root, tiny_crops, tmp_path):
    """Lightning's DDP strategy with two CPU processes (gloo), launched the documented way."""
    env = {
        **os.environ,
        "WHOSTHAT_HOME": str(tmp_path / "home"),
        "WHOSTHAT_DATA": str(lfw_root.parent),
        "OMP_NUM_THREADS": "1",
    }
    cmd = [
        _whosthat(),
        "train",
        "siamese-contrastive",
        "--backbone",
        "small_cnn",
        "--crops",
        str(tiny_crops),
        "--test-fold",
        "1",
        "--epochs",
        "1",
        "--batch-classes",
        "2",
        "--batch-images",
        "2",
        "--accelerator",
        "cpu",
        "--devices",
        "2",
        "--strategy",
        "ddp",
        "--out",
        str(tmp_path / "run"),
        "--json",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["config"]["devices"] == 2 and report["config"]["strategy"] == "ddp"
    assert "Initializing distributed: GLOBAL_RANK: 1, MEMBER: 2/2" in proc.stderr
