"""Gallery: exact top-k search, thresholds, and staying in sync with the database across processes."""

from __future__ import annotations

import os
from types import SimpleNamespace

import numpy as np
import pytest

from tests.store.backends import backend_params, make_settings
from whosthat.config import Settings
from whosthat.gallery import (
    Gallery,
    GalleryIndex,
    is_match,
    match_margin,
    match_threshold,
    open_set_reason,
)
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


def test_search_for_two_gives_the_runner_up_person_not_a_second_template_of_the_best():
    index = GalleryIndex("m")
    a1, a2, b = np.zeros(4, np.float32), np.full(4, 0.01, np.float32), np.full(4, 0.3, np.float32)
    index.update({1: (7, a1), 2: (7, a2), 3: (8, b)}, set())
    best, second = index.search(np.zeros(4, np.float32), k=2)
    assert (best.person_id, best.template_id) == (7, 1)
    assert (second.person_id, second.template_id) == (8, 3)
    only = GalleryIndex("m")
    only.update({1: (7, a1), 2: (7, a2)}, set())
    assert [m.person_id for m in only.search(np.zeros(4, np.float32), k=2)] == [7]


def test_open_set_rule_needs_the_threshold_and_the_margin_to_the_second_person():
    assert open_set_reason(None, None, 1.0, 0.1) == "not_recognised"
    assert open_set_reason(1.01, None, 1.0, 0.1) == "not_recognised"
    assert open_set_reason(0.5, None, 1.0, 0.1) is None  # one person enrolled: nobody to confuse
    assert open_set_reason(0.5, 0.65, 1.0, 0.1) is None
    assert open_set_reason(0.5, 0.75, 1.0, 0.25) is None  # exactly the margin: clear (inclusive)
    assert open_set_reason(0.5, 0.59, 1.0, 0.1) == "ambiguous"
    # the runner-up beyond the threshold still counts: the face sits between two people
    assert open_set_reason(0.95, 1.02, 1.0, 0.1) == "ambiguous"


def test_margin_comes_from_the_card_unless_overridden():
    assert match_margin(SimpleNamespace(name="e", margin=0.2), Settings(match_margin=None)) == 0.2
    assert match_margin(SimpleNamespace(name="e", margin=0.2), Settings(match_margin=0.05)) == 0.05
    # The shipped embedders' cards carry the margin next to the threshold.
    import json

    from whosthat.models import SHIPPED_DIR

    card = json.loads((SHIPPED_DIR / "sface-2021dec.json").read_text())
    sface = SimpleNamespace(name="sface-2021dec", threshold=1.0)
    assert card["margin"] > 0
    assert match_margin(sface, Settings(match_margin=None)) == pytest.approx(card["margin"])
    assert match_margin(SimpleNamespace(name="no-card"), Settings(match_margin=None)) == 0.0


def test_identify_refuses_a_face_that_fits_two_people(database):
    cipher = TemplateCipher(os.urandom(32))
    gallery = Gallery(cipher)
    with database.session() as db:
        ada = Person(employee_code="A", name="Ada", surname="L")
        bob = Person(employee_code="B", name="Bob", surname="K")
        db.add_all([ada, bob])
        db.flush()
        va = np.array([1, 0, 0, 0], np.float32)
        vb = np.array([0, 1, 0, 0], np.float32)
        for pid, v in ((ada.id, va), (bob.id, vb)):
            repo.templates.add(db, cipher, pid, embedder="m", embedding=v, chip=None, quality=1, source="t")
        db.commit()
        between = np.array([0.55, 0.45, 0, 0], np.float32)  # 0.64 from Ada, 0.78 from Bob
        clear = gallery.identify(db, "m", between, 1.0, 0.1)
        assert clear.match.person_id == ada.id and clear.reason is None
        assert clear.margin == pytest.approx(np.linalg.norm(between - vb) - np.linalg.norm(between - va))
        unsure = gallery.identify(db, "m", between, 1.0, 0.2)
        assert unsure.match is None and unsure.reason == "ambiguous"
        assert unsure.nearest.person_id == ada.id and unsure.runner_up.person_id == bob.id


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
        assert replica_b.identify(db, "m", va, 0.1, 0.0).match.person_id == ada.id
        # Replica A adds Bob; replica B must see him on its next search without a restart.
        repo.templates.add(db, cipher, bob.id, embedder="m", embedding=vb, chip=None, quality=1, source="t")
        db.commit()
        assert replica_a.identify(db, "m", vb, 0.1, 0.0).match.person_id == bob.id
        assert replica_b.identify(db, "m", vb, 0.1, 0.0).match.person_id == bob.id
        # Deactivating Ada removes her from every replica's search.
        ada.active = False
        repo.counters.bump_gallery_version(db)
        db.commit()
        found = replica_b.identify(db, "m", va, 0.1, 0.0)
        assert found.match is None and found.nearest.person_id == bob.id
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
        found = gallery.identify(db, "m", vec, 10.0, 0.0)
        assert found.match is None and found.nearest is None and found.reason == "not_recognised"
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


def test_weak_match_is_near_the_threshold_or_near_another_person():
    from whosthat.gallery import is_weak_match

    assert not is_weak_match(None, None, 1.0, 0.1)  # not a face match (manual, API)
    assert not is_weak_match(0.5, None, 1.0, 0.1)  # clear, one person enrolled
    assert not is_weak_match(0.5, 0.3, 1.0, 0.1)
    assert is_weak_match(0.95, 0.3, 1.0, 0.1)  # in the last 10% below the threshold
    assert is_weak_match(0.5, 0.15, 1.0, 0.1)  # passed the margin, but by less than twice it


def test_open_set_rates_count_strangers_and_ambiguous_probes_by_the_servers_rule():
    from whosthat.gallery.calibrate import open_set_rates

    rng = np.random.default_rng(3)
    centres = rng.normal(size=(40, 16))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    ids = [str(i) for i in range(40) for _ in range(3)]
    tpl = np.repeat(centres, 3, axis=0) + 0.02 * rng.normal(size=(120, 16))
    tpl[5] = np.nan  # a photo without a face is left out
    r = open_set_rates(tpl.astype(np.float32), ids, threshold=0.5, margins=(0.0, 10.0))
    assert r["gallery"] == 20 and r["genuine_probes"] + r["stranger_probes"] == 119 - 20
    clear, strict = r["by_margin"]["0.0000"], r["by_margin"]["10.0000"]
    assert clear["genuine_correct"] == 1.0 and clear["fpir"] == 0.0
    # a margin larger than any gap refuses everyone as ambiguous
    assert strict["genuine_correct"] == 0.0 and strict["genuine_ambiguous"] == 1.0
