"""`sface-2021dec-yunet` and `dlib+sface-yunet`: SFace on the crop placed by YuNet's five points, YuNet
run on a square cut around the pipeline's face box; the chip-map fallback (no face in the square, or
only a kept chip), the per-component embedding cache, and re-embedding a gallery from its chips."""

from __future__ import annotations

import glob

import numpy as np
import pytest

from whosthat.vision import cache as cache_mod
from whosthat.vision.embedders import (
    DLIB_EMBEDDER,
    SFACE_YUNET_EMBEDDER,
    get_embedder,
    list_embedders,
    looks_at_frame,
    unit_rows,
)
from whosthat.vision.fusion import FusedEmbedder
from whosthat.vision.image import decode_image, encode_jpeg
from whosthat.vision.pipeline import FacePipeline
from whosthat.vision.sface import (
    ALIGNED_CHIP_MAP,
    ALIGNED_YUNET,
    YUNET_SQUARE_PIXELS,
    YuNetLandmarks,
    arcface_crop,
    crop_from_dlib_chip,
    get_sface_network,
    get_yunet_square,
    square_around,
)


@pytest.fixture(scope="module")
def pipe() -> FacePipeline:
    return FacePipeline(detector="auto", embedder=SFACE_YUNET_EMBEDDER, flip=False)


def test_the_square_is_centred_on_the_box_and_scaled():
    m = square_around((100, 50, 200, 170))  # 100 x 120 box, centre (150, 110)
    centre = m[:, :2] @ [150, 110] + m[:, 2]
    np.testing.assert_allclose(centre, [YUNET_SQUARE_PIXELS / 2] * 2)
    assert m[0, 0] == pytest.approx(YUNET_SQUARE_PIXELS / (1.8 * 120))


def test_the_square_cut_finds_the_full_frames_five_points(nuaa, pipe):
    """On real 640x480 webcam frames YuNet on the 160x160 square gives nearly the points YuNet on the
    whole frame gives (measured: 2.5-10 px mean per point on 165-210 px faces) and SFace sees nearly the
    same face in both crops (cosine 0.96-0.98)."""
    frames = sorted(glob.glob(str(nuaa / "ClientRaw" / "*" / "*.jpg")))[::250][:8]
    full = YuNetLandmarks()
    compared = 0
    for path in frames:
        rgb = decode_image(path)
        box = pipe.dominant_face(pipe.detect(rgb)).box
        want = full.central_points(rgb, max_offset=0.5)
        got = get_yunet_square().points(rgb, box)
        if want is None:
            continue
        assert got is not None, path
        side = box[2] - box[0]
        assert np.linalg.norm(got - want, axis=1).mean() < 0.06 * side, path
        features = unit_rows(
            get_sface_network().features(np.stack([arcface_crop(rgb, want), arcface_crop(rgb, got)]))
        )
        assert float(features[0] @ features[1]) > 0.93, path
        compared += 1
    assert compared >= 4


def test_no_face_in_the_square_falls_back_to_the_chip_map_crop_and_counts_it():
    embedder = get_embedder(SFACE_YUNET_EMBEDDER)
    grey = np.full((240, 320, 3), 128, np.uint8)
    chip = np.random.default_rng(0).integers(0, 255, (150, 150, 3), dtype=np.uint8)
    assert get_yunet_square().points(grey, (100, 60, 220, 180)) is None
    before = embedder.fallbacks
    raw, notes = embedder.raw_frame(grey, (100, 60, 220, 180), chip, mirrored=False)
    assert notes == {"alignment": ALIGNED_CHIP_MAP} and embedder.fallbacks == before + 1
    np.testing.assert_allclose(raw[0], get_sface_network().features(crop_from_dlib_chip(chip[None]))[0])


def test_a_face_gets_yunets_crop_not_the_chip_maps(astronaut, pipe):
    face = pipe.embed_single(astronaut, purpose="research")
    assert face.alignment == ALIGNED_YUNET and face.model == SFACE_YUNET_EMBEDDER
    assert face.embedding.shape == (128,) and np.linalg.norm(face.embedding) == pytest.approx(1, abs=1e-5)
    from_chip = pipe.embed_chips(face.chip[None])[0]
    cosine = float(from_chip @ face.embedding)
    assert 0.5 < cosine < 0.995  # the same face, but another crop
    assert pipe.chip_alignment == ALIGNED_CHIP_MAP


def test_fusion_rows_are_cached_per_component_and_each_photo_detected_once(tmp_path, astronaut, monkeypatch):
    paths = []
    for k, img in enumerate((astronaut, astronaut[:, ::-1])):
        paths.append(tmp_path / f"face{k}.jpg")
        paths[-1].write_bytes(encode_jpeg(np.ascontiguousarray(img)))
    store = cache_mod.EmbeddingCache(tmp_path / "cache.sqlite3")
    calls = []
    real_detect = FacePipeline.detect
    monkeypatch.setattr(FacePipeline, "detect", lambda self, rgb: calls.append(1) or real_detect(self, rgb))
    fused = FusedEmbedder.uncalibrated([DLIB_EMBEDDER, SFACE_YUNET_EMBEDDER])
    both = cache_mod.embed_files(paths, embedder=fused, cache=store, progress=False)
    assert both.found.all() and both.plain.shape == (2, 256) and len(calls) == 2
    assert [m["alignment"] for m in both.meta] == [ALIGNED_YUNET] * 2
    # dlib alone now comes from the cache (its own key): nothing is detected again
    alone = cache_mod.embed_files(paths, embedder=DLIB_EMBEDDER, cache=store, progress=False)
    assert len(calls) == 2
    np.testing.assert_array_equal(alone.plain, both.plain[:, :128])
    np.testing.assert_array_equal(alone.flipped, both.flipped[:, :128])
    keys = {k for (k,) in store._db.execute("SELECT DISTINCT key FROM embeddings")}
    assert len(keys) == 2 and any(f"|{SFACE_YUNET_EMBEDDER}|" in k for k in keys)


def test_the_new_embedders_are_listed_and_named_in_words():
    from whosthat.models import zoo

    assert {SFACE_YUNET_EMBEDDER, "dlib+sface-yunet"} <= set(list_embedders())
    assert looks_at_frame(get_embedder(SFACE_YUNET_EMBEDDER))
    assert not looks_at_frame(get_embedder(DLIB_EMBEDDER))
    assert zoo.display_name(SFACE_YUNET_EMBEDDER) == "SFace on YuNet's landmarks (OpenCV Zoo)"
    assert zoo.display_name("dlib+sface-yunet") == "dlib ResNet + SFace on YuNet's landmarks, fused"
