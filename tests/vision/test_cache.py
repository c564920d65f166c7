"""The embedding cache: a re-run is served from disk, keyed by content, and the mirror is added later."""

from __future__ import annotations

import numpy as np

from whosthat.vision.cache import EmbeddingCache, embed_files
from whosthat.vision.image import encode_jpeg


def test_cache_serves_reruns_and_adds_the_mirror_later(tmp_path, astronaut):
    photo = tmp_path / "a.jpg"
    photo.write_bytes(encode_jpeg(astronaut))
    cache = EmbeddingCache(tmp_path / "cache.sqlite3")
    plain = embed_files([photo], progress=False, mirrored=False, cache=cache)
    assert plain.found.all() and np.isnan(plain.flipped).all()
    both = embed_files([photo], progress=False, mirrored=True, cache=cache)
    assert np.allclose(both.plain, plain.plain) and np.isfinite(both.flipped).all()
    # The mirrored descriptor is a different vector of the same face.
    assert 0 < np.linalg.norm(both.plain - both.flipped) < 0.4
    # A renamed copy of the same bytes is a cache hit (content-keyed): same vectors, no recomputation.
    copy = tmp_path / "renamed.jpg"
    copy.write_bytes(photo.read_bytes())
    rows = cache._db.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0]
    again = embed_files([copy], progress=False, mirrored=True, cache=cache)
    assert np.array_equal(again.flipped, both.flipped)
    assert cache._db.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0] == rows


def test_faceless_file_is_reported_not_dropped(tmp_path):
    from skimage import data

    photo = tmp_path / "coffee.jpg"
    photo.write_bytes(encode_jpeg(data.coffee()))
    result = embed_files([photo], progress=False, cache=EmbeddingCache(tmp_path / "c.sqlite3"))
    assert list(result.found) == [False] and np.isnan(result.plain).all()


def test_central_choice_takes_the_face_in_the_middle_not_the_largest(tmp_path, astronaut):
    import cv2

    canvas = np.full((600, 900, 3), 200, np.uint8)
    face = astronaut[30:330, 100:356]  # head and shoulders, 300x256
    canvas[150:450, 322:578] = face  # centred
    big = cv2.resize(face, None, fx=1.4, fy=1.4)
    canvas[0 : big.shape[0], 900 - big.shape[1] :] = big  # larger, top right
    photo = tmp_path / "two.jpg"
    photo.write_bytes(encode_jpeg(canvas))
    cache = EmbeddingCache(tmp_path / "c.sqlite3")
    largest = embed_files([photo], progress=False, mirrored=False, cache=cache)
    central = embed_files([photo], progress=False, mirrored=False, cache=cache, choose="central")
    cx = lambda meta: (meta["box"][0] + meta["box"][2]) / 2  # noqa: E731
    assert largest.meta[0]["faces"] == 2
    assert cx(largest.meta[0]) > 600 and 322 < cx(central.meta[0]) < 578


def test_central_choice_refuses_a_lone_face_far_from_the_centre(tmp_path, astronaut):
    # LFW's labelled person is centred; when only a bystander's face is found, it is not theirs.
    canvas = np.full((600, 900, 3), 200, np.uint8)
    canvas[0:300, 644:900] = astronaut[30:330, 100:356]  # the only face, in the top-right corner
    photo = tmp_path / "corner.jpg"
    photo.write_bytes(encode_jpeg(canvas))
    cache = EmbeddingCache(tmp_path / "c.sqlite3")
    largest = embed_files([photo], progress=False, mirrored=False, cache=cache)
    central = embed_files([photo], progress=False, mirrored=False, cache=cache, choose="central")
    assert largest.found.all()
    assert not central.found.any() and central.meta[0]["detector"] == "off-centre"
    # with a fallback box (what `eval lfw` does for such files) the file is embedded from that box
    box = (322.0, 150.0, 578.0, 450.0)
    back = embed_files(
        [photo], progress=False, mirrored=False, cache=cache, choose="central", fallback_box=box
    )
    assert back.found.all() and back.meta[0]["detector"] == "fallback"
