"""The shipped print-attack models: the MiniFASNet file (licence, source, card, metadata), the choice of the
kiosk's model, and the face-mesh box map that stands in for MiniFASNet's own detector."""

from __future__ import annotations

import json

import numpy as np

from whosthat.liveness.pad import (
    DEFAULT_PAD_MODEL,
    MESH_BOX_MAPS,
    MINIFASNET_MODEL,
    MiniFASNetDetector,
    PrintAttackDetector,
    box_from_mesh,
    get_pad_detector,
    open_pad_model,
)
from whosthat.models import zoo


def test_minifasnet_ships_with_its_licence_source_and_card():
    from whosthat.models.onnx import read_onnx_info

    info = read_onnx_info(MINIFASNET_MODEL)
    assert info.kind == "pad" and info.name == "pad-minifasnet" and 0 < info.threshold < 1
    meta = info.meta
    assert meta["whosthat_input"] == "minifasnet:80:bgr255:scales=2.7,4.0"
    assert meta["whosthat_box"] == "retinaface-caffe" and meta["whosthat_score"] == "fused"
    assert "minivision-ai/Silent-Face-Anti-Spoofing" in meta["whosthat_source"]
    assert "b6d5f04ad78778917853b25c778acef6d5626d15" in meta["whosthat_source"]
    licence = MINIFASNET_MODEL.parent / meta["whosthat_licence"].split("(")[1].rstrip(")")
    assert "Apache License" in licence.read_text() and "Version 2.0" in licence.read_text()
    card = info.card.read_text()
    assert "Apache-2.0" in card and "whosthat export" in card and "whosthat eval pad" in card
    assert f"{info.threshold:.3f}" in card


def test_the_kiosk_uses_minifasnet_and_the_nuaa_cnn_stays_selectable():
    assert isinstance(get_pad_detector(), MiniFASNetDetector)
    assert get_pad_detector().name == "pad-minifasnet"
    assert isinstance(get_pad_detector("pad-nuaa-cnn"), PrintAttackDetector)
    assert {"pad-minifasnet", "pad-nuaa-cnn"} <= set(zoo.names("pad"))
    assert isinstance(open_pad_model(DEFAULT_PAD_MODEL), PrintAttackDetector)


def test_the_mesh_box_maps_are_fitted_for_both_detectors():
    maps = json.loads(MESH_BOX_MAPS.read_text())
    assert set(maps["maps"]) == {"retinaface-caffe", "mediapipe"}
    assert "calibrate-boxes --mesh" in maps["command"]
    box = box_from_mesh((200.0, 150.0, 360.0, 330.0), "retinaface-caffe")
    assert box[2] - box[0] > 150  # RetinaFace's box is a little larger than the landmarks' box


def test_minifasnet_crops_are_bgr_at_both_scales():
    detector = MiniFASNetDetector(MINIFASNET_MODEL)
    rgb = np.zeros((480, 640, 3), np.uint8)
    rgb[..., 0] = 200  # red
    crops = detector.crops(rgb, (270, 190, 370, 310))
    assert crops.shape == (6, 80, 80) and crops.dtype == np.float32
    assert crops[2].min() == crops[5].min() == 200 and crops[0].max() == crops[3].max() == 0  # R last


def test_the_mapped_mesh_box_gives_the_reference_detectors_verdicts(nuaa, minifasnet_dir):
    """On real frames of subjects the map was not fitted on: MiniFASNet's verdict on the box of its own
    RetinaFace detector and on the face mesh's box mapped onto it are the same (eval pad reports all)."""
    from whosthat.datasets import nuaa as reader
    from whosthat.liveness.mesh import FaceMeshTracker
    from whosthat.vision.image import decode_image
    from whosthat.vision.retinaface import RetinaFaceReference

    detector = get_pad_detector()
    reference = RetinaFaceReference(minifasnet_dir)
    frames = reader.read_nuaa(nuaa, {"0001", "0003", "0007", "0009"})[::8]
    same, diffs = [], []
    with FaceMeshTracker(static_image_mode=True) as tracker:
        for f in frames:
            rgb = decode_image(f.path)
            face, box = tracker.analyse(rgb), reference.box(rgb)
            if face is None or box is None:
                continue
            a, b = detector.attack_prob_box(rgb, box), detector.attack_prob_mesh(rgb, face.box)
            same.append((a >= detector.threshold) == (b >= detector.threshold))
            diffs.append(abs(a - b))
    assert len(same) >= 100  # of 108 frames
    assert np.mean(same) >= 0.98, np.mean(same)
    assert np.median(diffs) < 0.01
