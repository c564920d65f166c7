"""SFace under onnxruntime: the in-memory graph rewrite gives OpenCV's own features, and the original
graph's; its crop comes from the dlib chip the pipeline keeps."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.conftest import lfw_image
from whosthat.vision.image import decode_image
from whosthat.vision.pipeline import get_pipeline
from whosthat.vision.sface import (
    ARCFACE_TEMPLATE,
    SFaceNetwork,
    YuNetLandmarks,
    arcface_crop,
    crop_from_dlib_chip,
    sface_model_path,
    similarity_transform,
    yunet_model_path,
)


@pytest.fixture(scope="module")
def network() -> SFaceNetwork:
    return SFaceNetwork()


def _opencv_crop_and_feature(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """OpenCV's own recipe: YuNet -> FaceRecognizerSF.alignCrop -> feature (BGR in, as OpenCV wants)."""
    bgr = np.ascontiguousarray(rgb[:, :, ::-1])
    h, w = bgr.shape[:2]
    detector = cv2.FaceDetectorYN.create(str(yunet_model_path()), "", (w, h), 0.6, 0.3, 5000)
    _, faces = detector.detect(bgr)
    assert faces is not None and len(faces), "YuNet found no face"
    recognizer = cv2.FaceRecognizerSF.create(str(sface_model_path()), "")
    crop = recognizer.alignCrop(bgr, faces[0])
    return crop[:, :, ::-1], recognizer.feature(crop).ravel(), faces[0]


def test_rewritten_sface_gives_opencvs_features(network, astronaut):
    crop, want, _ = _opencv_crop_and_feature(astronaut)
    got = network.features(crop)[0]
    assert got.shape == (128,)
    np.testing.assert_allclose(got, want, atol=1e-4)
    # a mirrored and a darker crop too: several inputs, not one lucky case
    for variant in (crop[:, ::-1], (crop * 0.6).astype(np.uint8)):
        bgr = np.ascontiguousarray(variant[:, :, ::-1])
        reference = cv2.FaceRecognizerSF.create(str(sface_model_path()), "").feature(bgr).ravel()
        np.testing.assert_allclose(network.features(variant)[0], reference, atol=1e-4)


def test_rewrite_equals_the_original_graph_fed_its_weight_inputs(network, astronaut):
    """onnxruntime runs the file as shipped once its declared weight inputs are fed (they are unused:
    the convolutions read the in-graph dequantised weights); the rewrite must give the same output."""
    import onnx
    from onnx import numpy_helper

    from whosthat.models.onnx import onnx_session

    model = onnx.load(str(sface_model_path()))
    initialized = {t.name for t in model.graph.initializer}
    crop, _, _ = _opencv_crop_and_feature(astronaut)
    feeds = {}
    for value in model.graph.input:
        if value.name in initialized:
            continue
        shape = [d.dim_value for d in value.type.tensor_type.shape.dim]
        if value.name == "data":
            feeds["data"] = crop.transpose(2, 0, 1)[None].astype(np.float32)
        else:
            feeds[value.name] = np.zeros(shape, np.float32)
    session = onnx_session(model.SerializeToString())
    want = session.run(None, feeds)[0][0]
    np.testing.assert_allclose(network.features(crop)[0], want, atol=1e-5)
    # and the rewrite really removed the weight inputs and the quantised nodes
    from whosthat.vision.sface import sface_onnx

    rewritten = onnx.load_from_string(sface_onnx())
    assert [i.name for i in rewritten.graph.input] == ["crops"]
    assert not any(n.op_type == "DequantizeLinear" for n in rewritten.graph.node)
    assert all(numpy_helper.to_array(t).dtype != np.int8 for t in rewritten.graph.initializer)


def _prelu_graph_session():
    """The weight-folded SFace graph with its PRelus as they are (NCHW float input "data")."""
    import onnx

    from whosthat.models.onnx import fold_weight_graph, onnx_session

    model = fold_weight_graph(onnx.load(str(sface_model_path())))
    assert sum(n.op_type == "PRelu" for n in model.graph.node) == 27
    return onnx_session(model.SerializeToString())


def test_prelu_rewrite_gives_the_prelu_graphs_features_on_real_faces(network, lfw_root):
    """The served graph has no PRelu (written as Relu + depthwise 1x1 convolutions, which run about twice
    as fast under onnxruntime) and gives the PRelu graph's features on real LFW faces to float rounding:
    the unit vectors agree to 1e-5, so no distance moves by more than that."""
    import onnx

    from whosthat.vision.sface import sface_onnx

    assert not any(n.op_type == "PRelu" for n in onnx.load_from_string(sface_onnx()).graph.node)
    pipe = get_pipeline(detector="auto", embedder="dlib-resnet-v1", flip=False)
    people = [("Colin_Powell", 1), ("Tony_Blair", 3), ("Serena_Williams", 1), ("Junichiro_Koizumi", 2)]
    chips = np.stack([pipe.embed_single(decode_image(lfw_image(lfw_root, n, k))).chip for n, k in people])
    crops = crop_from_dlib_chip(chips)
    crops = np.concatenate([crops, crops[:, :, ::-1]])  # and their mirrors, as flip runs them
    want = _prelu_graph_session().run(None, {"data": crops.transpose(0, 3, 1, 2).astype(np.float32)})[0]
    got = network.features(crops)
    unit = lambda v: v / np.linalg.norm(v, axis=1, keepdims=True)  # noqa: E731
    np.testing.assert_allclose(unit(got), unit(want), atol=1e-5)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())


def test_prelu_as_depthwise_computes_prelu_for_any_slope():
    """Slopes below 0, between 0 and 1 and above 1 (SFace has all three), on random NCHW inputs."""
    from onnx import TensorProto, helper, numpy_helper

    from whosthat.models.onnx import onnx_session, prelu_as_depthwise

    slope = np.array([-0.6, 0.0, 0.25, 1.0, 1.12], np.float32).reshape(5, 1, 1)
    graph = helper.make_graph(
        [helper.make_node("PRelu", ["x", "slope"], ["y"], name="act")],
        "prelu",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 5, 3, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 5, 3, 4])],
        [numpy_helper.from_array(slope, "slope")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    rewritten = prelu_as_depthwise(model)
    assert [n.op_type for n in rewritten.graph.node] == ["Relu", "Conv", "Conv", "Add"]
    x = np.random.default_rng(1).standard_normal((2, 5, 3, 4)).astype(np.float32)
    session = onnx_session(rewritten.SerializeToString())
    np.testing.assert_allclose(session.run(None, {"x": x})[0], np.where(x > 0, x, slope * x), atol=1e-6)


def test_a_batch_gives_the_rows_of_single_calls(network, astronaut):
    crop, _, _ = _opencv_crop_and_feature(astronaut)
    batch = np.stack([crop, crop[:, ::-1], (crop * 0.8).astype(np.uint8)])
    np.testing.assert_allclose(
        network.features(batch), np.concatenate([network.features(c) for c in batch]), atol=1e-4
    )


def test_our_arcface_crop_is_opencvs_align_crop(astronaut):
    crop, _, face = _opencv_crop_and_feature(astronaut)
    mine = arcface_crop(astronaut, face[4:14].reshape(5, 2))
    assert np.abs(mine.astype(int) - crop.astype(int)).max() <= 2
    # the similarity fit puts the template points back exactly when given them
    matrix = similarity_transform(ARCFACE_TEMPLATE * 2 + 7, ARCFACE_TEMPLATE)
    np.testing.assert_allclose(matrix, [[0.5, 0, -3.5], [0, 0.5, -3.5]], atol=1e-9)


def test_the_crop_from_the_dlib_chip_lands_where_yunet_puts_the_face(astronaut):
    """The fixed chip -> crop map must put YuNet's own points (found on that crop) near ArcFace's
    template: the eyes within 4 px of 112, the nose within 5 px; the mouth corners, which the fixed map
    cannot follow (a smile widens them), within 10 px."""
    chip = get_pipeline(detector="auto", embedder="dlib-resnet-v1", flip=False).embed_single(astronaut).chip
    crop = crop_from_dlib_chip(chip[None])[0]
    # YuNet needs some context around a face that fills the crop
    canvas = np.zeros((224, 224, 3), np.uint8)
    canvas[56:168, 56:168] = crop
    points = YuNetLandmarks().central_points(canvas)
    assert points is not None
    error = np.linalg.norm(points - 56 - ARCFACE_TEMPLATE, axis=1)
    assert (error[:2] < 4).all() and error[2] < 5 and (error[3:] < 10).all(), error


def test_sface_embedder_separates_people(lfw_root):
    from whosthat.vision.embedders import get_embedder

    sface = get_embedder("sface-2021dec")
    pipe = get_pipeline(detector="auto", embedder="sface-2021dec", flip=False)
    vecs = [
        pipe.embed_single(decode_image(lfw_image(lfw_root, name, n))).embedding
        for name, n in [("Colin_Powell", 1), ("Colin_Powell", 2), ("Tony_Blair", 3)]
    ]
    np.testing.assert_allclose([np.linalg.norm(v) for v in vecs], 1.0, atol=1e-5)
    same, different = np.linalg.norm(vecs[0] - vecs[1]), np.linalg.norm(vecs[0] - vecs[2])
    assert same < sface.threshold < different
