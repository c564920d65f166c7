"""The fused embedder (dlib + SFace): its Euclidean distance is the documented fused score, its template
is one unit vector from one chip, and re-embedding a kept chip gives the enrolment's template."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import lfw_image
from whosthat.vision.embedders import get_embedder, unit_rows
from whosthat.vision.fusion import FusedEmbedder, FusionPart
from whosthat.vision.image import decode_image
from whosthat.vision.pipeline import get_pipeline

FACES = [("Colin_Powell", 1), ("Colin_Powell", 2), ("Tony_Blair", 3), ("Zico", 1)]


@pytest.fixture(scope="module")
def chips(lfw_root) -> np.ndarray:
    pipe = get_pipeline(detector="auto", embedder="dlib-resnet-v1", flip=False)
    return np.stack([pipe.embed_single(decode_image(lfw_image(lfw_root, n, k))).chip for n, k in FACES])


def _cosines(fused: FusedEmbedder, chips: np.ndarray, i: int, j: int) -> np.ndarray:
    """Each component's cosine, computed from the components themselves (not from the fused vector)."""
    out = []
    for part in fused.parts:
        component = get_embedder(part.name)
        u = unit_rows(component.embed(chips[[i, j]]))
        out.append(float(u[0] @ u[1]))
    return np.array(out)


def test_fused_distance_is_the_documented_fused_score(chips):
    fused = get_embedder("dlib+sface")
    assert fused.dim == 256
    templates = fused.embed(chips)
    np.testing.assert_allclose(np.linalg.norm(templates, axis=1), 1.0, atol=1e-5)
    for i, j in [(0, 1), (0, 2), (2, 3), (1, 3)]:
        cos = _cosines(fused, chips, i, j)
        # S = sum_m weight_m * (cos_m - impostor_mean_m) / (genuine_mean_m - impostor_mean_m), by hand
        by_hand = sum(
            p.weight * (c - p.impostor_mean) / (p.genuine_mean - p.impostor_mean)
            for p, c in zip(fused.parts, cos, strict=True)
        )
        distance = float(np.linalg.norm(templates[i] - templates[j]))
        assert fused.score_from_distance(distance) == pytest.approx(by_hand, abs=1e-4)
        assert fused.distance_from_score(by_hand) == pytest.approx(distance, abs=1e-4)


def test_the_card_threshold_separates_same_and_different_people(chips):
    fused = get_embedder("dlib+sface")
    t = fused.embed(chips)
    same, different = np.linalg.norm(t[0] - t[1]), np.linalg.norm(t[0] - t[2])
    assert same < fused.threshold < different


def test_weights_move_the_score_between_the_components(chips):
    """A weight of 1 on one model makes the fused score that model's normalised score alone."""
    dlib_only = FusedEmbedder(
        [FusionPart("dlib-resnet-v1", 0.1, 0.8, 1.0), FusionPart("sface-2021dec", 0.0, 0.7, 0.0)]
    )
    t = dlib_only.embed(chips[[0, 2]])
    cos = _cosines(dlib_only, chips, 0, 2)
    d = float(np.linalg.norm(t[0] - t[1]))
    assert dlib_only.score_from_distance(d) == pytest.approx((cos[0] - 0.1) / 0.7, abs=1e-4)
    with pytest.raises(ValueError):
        FusedEmbedder([FusionPart("dlib-resnet-v1", 0.5, 0.4, 1.0)])  # genuine mean below impostor mean


def test_flip_is_the_mean_of_raw_outputs_then_the_fusion(chips):
    plain = get_embedder("dlib+sface")
    flipped = get_embedder("dlib+sface", flip=True)
    raw = (plain.raw(chips) + plain.raw(chips[:, :, ::-1])) / 2
    np.testing.assert_allclose(flipped.embed(chips), plain.finish(raw), atol=1e-6)


def test_reembedding_a_kept_chip_gives_the_enrolments_template(lfw_root):
    pipe = get_pipeline(detector="auto", embedder="dlib+sface", flip=True)
    face = pipe.embed_single(decode_image(lfw_image(lfw_root, "Colin_Powell", 1)), purpose="enroll")
    assert face.chip.shape == (150, 150, 3) and face.model == "dlib+sface"
    np.testing.assert_allclose(pipe.embed_chips(face.chip[None])[0], face.embedding, atol=1e-5)
