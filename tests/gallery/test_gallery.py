"""Gallery: exact top-k search, thresholds, and staying in sync with the database across processes."""

from __future__ import annotations

import os
from types import SimpleNamespace

import numpy as np
import pytest

from tests.store.backends import backend_params, make_settings
from whosthat.config import Settings
from whosthat.gallery import Gallery, GalleryIndex, is_match, match_threshold
from whosthat.gallery.calibrate import calibrate_far
from whosthat.store import repositories as repo
from whosthat.store.crypto import TemplateCipher
from whosthat.store.db import open_database
from whosthat.store.models import FaceTemplate, Person


def test_search_returns_people_by_their_best_template_like_brute_force():
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(300, 16)).astype(np.float32)
    persons = rng.integers(0, 60, size=300)
    index = GalleryIndex("m")
    index.update({i + 1: (int(persons[i]), vectors[i]) for i in range(300)}, set())
    query = rng.normal(size=16).astype(np.float32)
    d = np.linalg.norm(vectors - query, axis=1)
    best = {}
    for i in np.argsort(d):
        best.setdefault(int(persons[i]), (float(d[i]), i + 1))
    expected = sorted(best.items(), key=lambda kv: kv[1][0])[:5]
    got = index.search(query, k=5)
    assert [m.person_id for m in got] == [pid for pid, _ in expected]
    assert [m.template_id for m in got] == [tid for _, (_, tid) in expected]
    np.testing.assert_allclose([m.distance for m in got], [dist for _, (dist, _) in expected], rtol=1e-4)
    index.update({}, {tid for _, (_, tid) in expected[:1]})
    assert index.search(query, k=1)[0].template_id != expected[0][1][1]


def test_threshold_override_wins_over_the_embedder_default():
    embedder = SimpleNamespace(name="e", threshold=0.6)
    assert match_threshold(embedder, Settings(match_threshold=None)) == 0.6
    assert match_threshold(embedder, Settings(match_threshold=0.45)) == 0.45
    with pytest.raises(ValueError):
        match_threshold(SimpleNamespace(name="e", threshold=None), Settings(match_threshold=None))


def test_a_distance_equal_to_the_threshold_is_a_match_everywhere():
    # `whosthat verify` compared with `<`, the API with `<=`: one rule now, inclusive.
    assert is_match(0.5, 0.5)
    assert not is_match(0.5000001, 0.5)


@pytest.fixture(params=backend_params())
def database(request, tmp_path):
    db = open_database(make_settings(request.param, tmp_path))
    yield db
    db.dispose()


def test_two_processes_stay_in_sync_through_the_change_counter(database):
    cipher = TemplateCipher(os.urandom(32))
    replica_a, replica_b = Gallery(cipher), Gallery(cipher)
    rng = np.random.default_rng(1)
    with database.session() as db:
        ada = Person(employee_code="A", name="Ada", surname="L")
        bob = Person(employee_code="B", name="Bob", surname="K")
        db.add_all([ada, bob])
        db.flush()
        va, vb = rng.normal(size=8).astype(np.float32), rng.normal(size=8).astype(np.float32)
        repo.templates.add(db, cipher, ada.id, embedder="m", embedding=va, chip=None, quality=1, source="t")
        db.commit()
        assert replica_b.identify(db, "m", va, 0.1)[0].person_id == ada.id
        # Replica A adds Bob; replica B must see him on its next search without a restart.
        repo.templates.add(db, cipher, bob.id, embedder="m", embedding=vb, chip=None, quality=1, source="t")
        db.commit()
        assert replica_a.identify(db, "m", vb, 0.1)[0].person_id == bob.id
        assert replica_b.identify(db, "m", vb, 0.1)[0].person_id == bob.id
        # Deactivating Ada removes her from every replica's search.
        ada.active = False
        repo.counters.bump_gallery_version(db)
        db.commit()
        match, nearest = replica_b.identify(db, "m", va, 0.1)
        assert match is None and nearest.person_id == bob.id
        # A template of another embedder never mixes into this one.
        repo.templates.add(
            db, cipher, bob.id, embedder="other", embedding=va, chip=None, quality=1, source="t"
        )
        db.commit()
        assert len(replica_b.index(db, "m")) == 1 and len(replica_b.index(db, "other")) == 1


def test_rows_that_do_not_decrypt_are_never_searchable(database):
    cipher = TemplateCipher(os.urandom(32))
    intruder = TemplateCipher(os.urandom(32))
    with database.session() as db:
        p = Person(employee_code="A", name="Ada", surname="L")
        db.add(p)
        db.flush()
        vec = np.ones(8, np.float32)
        db.add(
            FaceTemplate(
                person_id=p.id,
                embedder="m",
                dim=8,
                embedding=intruder.encrypt_embedding(vec, p.id, "m"),
                quality=1.0,
                source="t",
            )
        )
        repo.counters.bump_gallery_version(db)
        db.commit()
        gallery = Gallery(cipher)
        assert gallery.identify(db, "m", vec, 10.0) == (None, None)
        assert gallery.decrypt_failures == 1


def test_calibration_reaches_the_target_far_on_impostor_pairs():
    rng = np.random.default_rng(2)
    centers = rng.normal(size=(200, 32))
    pids = np.repeat(np.arange(200), 3)
    vectors = centers[pids] + rng.normal(scale=0.3, size=(600, 32))
    result = calibrate_far(pids, vectors, 1e-3)
    assert result.impostor_pairs == 600 * 599 // 2 - 200 * 3
    assert result.resolvable and result.far_at_threshold <= 1e-3
    # Just above the threshold the FAR target is exceeded: the threshold is the largest allowed.
    d = [
        np.linalg.norm(vectors[i] - vectors[j])
        for i in range(600)
        for j in range(i + 1, 600)
        if pids[i] != pids[j]
    ]
    assert np.mean(np.asarray(d) <= np.nextafter(result.threshold, 10) * 1.0001) > 1e-3 - 1e-5
    small = calibrate_far(pids[:6], vectors[:6], 1e-4)
    assert not small.resolvable
    with pytest.raises(ValueError):
        calibrate_far(np.zeros(5), vectors[:5], 1e-3)
