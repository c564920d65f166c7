"""GalleryIndex: incremental blocks and tombstones against brute force, merges in the background while
searching and updating, float16, any dimension, approximate (FAISS IVF) search, and the change log."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest

from tests.store.backends import backend_params, make_settings
from whosthat.gallery import Gallery, GalleryIndex
from whosthat.gallery import index as index_mod
from whosthat.store import repositories as repo
from whosthat.store.crypto import TemplateCipher
from whosthat.store.db import open_database
from whosthat.store.models import Person


def brute(rows: dict[int, tuple[int, np.ndarray]], q: np.ndarray, k: int):
    best: dict[int, tuple[float, int]] = {}
    for tid, (pid, v) in sorted(rows.items()):
        d = float(np.linalg.norm(v - q))
        if pid not in best or (d, tid) < best[pid]:
            best[pid] = (d, tid)
    return sorted(((d, tid, pid) for pid, (d, tid) in best.items()))[:k]


def check(index: GalleryIndex, rows, rng, dim, k=5, tries=5):
    assert len(index) == len(rows)
    assert index.template_ids == set(rows)
    for _ in range(tries):
        q = rng.normal(size=dim).astype(np.float32)
        got = index.search(q, k=k)
        want = brute(rows, q, k)
        assert [m.template_id for m in got] == [t for _, t, _ in want]
        np.testing.assert_allclose([m.distance for m in got], [d for d, _, _ in want], rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("dim", [16, 256])
def test_random_adds_and_removes_match_brute_force_through_merges(dim, monkeypatch):
    monkeypatch.setattr(index_mod, "MAX_BLOCKS", 3)
    rng = np.random.default_rng(dim)
    index = GalleryIndex("m", ann_min=None, background=False)
    rows: dict[int, tuple[int, np.ndarray]] = {}
    next_id = 1
    for step in range(40):
        added = {}
        for _ in range(int(rng.integers(0, 30))):
            added[next_id] = (int(rng.integers(0, 25)), rng.normal(size=dim).astype(np.float32))
            next_id += 1
        removed = (
            set(
                rng.choice(sorted(rows), size=min(len(rows), int(rng.integers(0, 8))), replace=False).tolist()
            )
            if rows
            else set()
        )
        if rows and step % 7 == 0:  # re-adding an existing id replaces its vector
            tid = next(iter(rows))
            added[tid] = (rows[tid][0], rng.normal(size=dim).astype(np.float32))
        index.update(added, removed)
        for tid in removed:
            rows.pop(tid)
        rows.update(added)
        assert len(index._snap.blocks) <= index_mod.MAX_BLOCKS + 1
        check(index, rows, rng, dim)
    assert index.stats.merges > 0
    people = {pid for pid, _ in rows.values()}
    assert index.templates_of(sorted(people)) == {
        p: {t for t, (pid, _) in rows.items() if pid == p} for p in people
    }


def test_an_update_does_not_copy_the_gallery():
    rng = np.random.default_rng(1)
    index = GalleryIndex("m", ann_min=None, background=False)
    index.update({i: (i % 100, rng.normal(size=32).astype(np.float32)) for i in range(1, 20_001)}, set())
    big = index._snap.blocks[0]
    index.update({50_000: (7, rng.normal(size=32).astype(np.float32))}, {3, 4})
    snap = index._snap
    # The large block is shared, not re-stacked: the change is one small block and two tombstones.
    assert snap.blocks[0] is big and len(snap.blocks) == 2 and len(snap.blocks[1]) == 1
    assert snap.dead[0].tolist() == [2, 3]
    assert len(index) == 20_000 - 2 + 1
    assert {m.template_id for m in index.search(big.matrix[2], k=3)}.isdisjoint({3, 4})


def test_float16_halves_the_matrix_and_keeps_the_nearest(monkeypatch):
    rng = np.random.default_rng(2)
    rows = {
        i: (i, (v / np.linalg.norm(v)).astype(np.float32))
        for i, v in enumerate(rng.normal(size=(3000, 128)), 1)
    }
    exact, half = GalleryIndex("m", ann_min=None), GalleryIndex("m", ann_min=None, float16=True)
    exact.update(rows, set())
    half.update(rows, set())
    assert half._snap.blocks[0].matrix.dtype == np.float16
    assert half._snap.blocks[0].matrix.nbytes * 2 == exact._snap.blocks[0].matrix.nbytes
    monkeypatch.setattr(index_mod, "_CHUNK", 1000)  # several float32 chunks
    for tid in (1, 500, 2999):
        q = rows[tid][1] + rng.normal(scale=0.05, size=128).astype(np.float32)
        a, b = exact.search(q, k=1)[0], half.search(q, k=1)[0]
        assert a.template_id == b.template_id == tid
        assert abs(a.distance - b.distance) < 2e-3


def test_dimension_mismatch_is_refused():
    index = GalleryIndex("m", ann_min=None)
    index.update({1: (1, np.ones(256, np.float32))}, set())
    with pytest.raises(ValueError, match="128 dimensions"):
        index.search(np.ones(128, np.float32))
    with pytest.raises(ValueError, match="128-D templates"):
        index.update({2: (1, np.ones(128, np.float32))}, set())
    assert len(index) == 1


def test_a_background_merge_keeps_the_updates_made_while_it_ran():
    rng = np.random.default_rng(3)
    started, release = threading.Event(), threading.Event()

    def slow_ann(matrix):
        started.set()
        assert release.wait(10)
        return index_mod.build_ann(matrix)

    index = GalleryIndex("m", ann_min=2000, ann_factory=slow_ann, background=True)
    rows = {i: (i // 3, rng.normal(size=24).astype(np.float32)) for i in range(1, 2501)}
    index.update(rows, set())  # reaches ann_min: a background merge starts and blocks in slow_ann
    assert started.wait(10)
    # Meanwhile: searches answer exactly, enrolments and deletions land at once.
    probe_id = 1234
    assert index.search(rows[probe_id][1], k=1)[0].template_id == probe_id
    extra = {
        9001: (77, rng.normal(size=24).astype(np.float32)),
        9002: (78, rng.normal(size=24).astype(np.float32)),
    }
    index.update(extra, {5, 6, 7})
    rows.update(extra)
    gone = {t: rows.pop(t)[1] for t in (5, 6, 7)}
    assert index.search(extra[9001][1], k=1)[0].template_id == 9001
    release.set()
    index.wait_merged(10)
    snap = index._snap
    assert index.stats.merges == 1 and snap.blocks[0].ann is not None and len(snap.blocks) == 2
    assert len(index) == len(rows) and index.template_ids == set(rows)
    for t, vec in gone.items():  # the tombstones were carried into the merged block's ANN search
        assert t not in {m.template_id for m in index.search(vec, k=3)}
    for tid in (1, 1234, 2500, 9001, 9002):
        assert index.search(rows[tid][1], k=1)[0].template_id == tid


def test_searches_running_during_updates_and_merges_never_see_a_half_index(monkeypatch):
    monkeypatch.setattr(index_mod, "MAX_BLOCKS", 2)
    rng = np.random.default_rng(4)
    index = GalleryIndex("m", ann_min=None, background=True)
    anchor = rng.normal(size=16).astype(np.float32)
    index.update({1: (1, anchor)}, set())
    stop, errors = threading.Event(), []

    def searcher():
        while not stop.is_set():
            got = index.search(anchor, k=1)
            if not got or got[0].template_id != 1 or got[0].distance > 1e-3:
                errors.append(got)

    threads = [threading.Thread(target=searcher) for _ in range(2)]
    for t in threads:
        t.start()
    next_id = 2
    for _ in range(200):
        batch = {next_id + j: (j, rng.normal(size=16).astype(np.float32) + 3) for j in range(5)}
        next_id += 5
        index.update(batch, {next_id - 7} if next_id > 10 else set())
    stop.set()
    for t in threads:
        t.join()
    index.wait_merged(10)
    assert not errors and index.stats.merges > 0


def clustered(rng, n_people, per, dim, noise=0.03):
    centers = rng.normal(size=(n_people, dim)).astype(np.float32)
    centers /= np.linalg.norm(centers, axis=1, keepdims=True)
    pids = np.repeat(np.arange(n_people), per)
    vecs = centers[pids] + rng.normal(scale=noise, size=(len(pids), dim)).astype(np.float32)
    return pids, vecs.astype(np.float32)


def test_approximate_search_agrees_with_exact_and_honours_tombstones():
    pytest.importorskip("faiss")
    rng = np.random.default_rng(5)
    pids, vecs = clustered(rng, 2000, 3, 64)
    rows = {i + 1: (int(pids[i]), vecs[i]) for i in range(len(pids))}
    index = GalleryIndex("m", ann_min=3000, background=False)
    index.update(rows, set())
    assert index._snap.blocks[0].ann is not None
    probes = rng.choice(len(pids), 300, replace=False)
    queries = vecs[probes] + rng.normal(scale=0.03, size=(300, 64)).astype(np.float32)
    agree = sum(
        index.search(q, k=1)[0].template_id == index.search(q, k=1, exact=True)[0].template_id
        for q in queries
    )
    assert agree / 300 >= 0.99
    # Remove the nearest template of a probe: the approximate search never returns it again.
    q = queries[0]
    first = index.search(q, k=1)[0]
    index.update({}, {first.template_id})
    assert index._snap.blocks[0].ann is not None  # a tombstone, not a rebuild
    assert index.search(q, k=1)[0].template_id != first.template_id
    top = index.search(q, k=5)
    assert len({m.person_id for m in top}) == 5 and first.template_id not in {m.template_id for m in top}


@pytest.fixture(params=backend_params())
def database(request, tmp_path):
    db = open_database(make_settings(request.param, tmp_path))
    yield db
    db.dispose()


def test_a_replica_catches_up_from_the_change_log_without_a_full_reload(database):
    cipher = TemplateCipher(os.urandom(32))
    rng = np.random.default_rng(6)
    with database.session() as db:
        people = [Person(employee_code=f"P{i}", name="N", surname=str(i)) for i in range(30)]
        db.add_all(people)
        db.flush()
        for p in people:
            for _ in range(2):
                repo.templates.insert(
                    db,
                    cipher,
                    p.id,
                    embedder="m",
                    embedding=rng.normal(size=8),
                    chip_ciphertext=None,
                    quality=1.0,
                    source="t",
                )
        repo.counters.bump_gallery_version(db)  # a batch without names: everyone
        db.commit()
        replica = Gallery(cipher)
        assert len(replica.index(db, "m")) == 60 and replica.full_reloads == 1
        # Enrol, delete one template, deactivate one person, delete another: four logged changes.
        new = rng.normal(size=8).astype(np.float32)
        row = repo.templates.add(
            db, cipher, people[0].id, embedder="m", embedding=new, chip=None, quality=1, source="t"
        )
        db.commit()
        victim = repo.templates.of_person(db, people[1].id)[0]
        repo.templates.delete_one(db, victim)
        repo.people.update(db, people[2], {"active": False})
        repo.people.delete_with_data(db, people[3])
        db.commit()
        decrypted_before = replica.decrypt_failures
        index = replica.index(db, "m")
        assert replica.full_reloads == 1  # caught up from the log
        assert len(index) == 60 + 1 - 1 - 2 - 2
        assert index.search(new, k=1)[0].template_id == row.id
        assert victim.id not in index.template_ids
        assert not index.templates_of([people[2].id, people[3].id])[people[2].id]
        assert replica.decrypt_failures == decrypted_before
        # Reactivating brings the person back, from the log too.
        repo.people.update(db, people[2], {"active": True})
        db.commit()
        assert len(replica.index(db, "m")) == 58 and replica.full_reloads == 1
        # A fresh replica (joining later) matches the one that followed the log.
        late = Gallery(cipher)
        assert late.index(db, "m").template_ids == replica.index(db, "m").template_ids


def test_a_gap_in_the_change_log_means_a_full_reload(database):
    cipher = TemplateCipher(os.urandom(32))
    with database.session() as db:
        p = Person(employee_code="A", name="A", surname="A")
        db.add(p)
        db.flush()
        repo.templates.add(
            db, cipher, p.id, embedder="m", embedding=np.ones(4), chip=None, quality=1, source="t"
        )
        db.commit()
        replica = Gallery(cipher)
        replica.index(db, "m")
        v = repo.counters.gallery_version(db)
        repo.templates.add(
            db, cipher, p.id, embedder="m", embedding=np.zeros(4), chip=None, quality=1, source="t"
        )
        db.commit()
        assert repo.counters.changed_people(db, v, v + 1) == {p.id}
        from whosthat.store.models import GalleryChange

        db.query(GalleryChange).delete()  # pruned away
        db.commit()
        assert repo.counters.changed_people(db, v, v + 1) is None
        assert len(replica.index(db, "m")) == 2 and replica.full_reloads == 2


def test_bulk_insert_loads_back_bit_exact_and_serve_is_not_ready_until_loaded(tmp_path):
    import threading as th

    from fastapi.testclient import TestClient

    from whosthat.services.runtime import Runtime
    from whosthat.web.app import create_app

    settings = make_settings("sqlite", tmp_path)
    runtime = Runtime.from_settings(settings)
    rng = np.random.default_rng(7)
    vecs = rng.normal(size=(700, 256)).astype(np.float32)
    with runtime.database.session() as db:
        ids = repo.people.add_many(db, [(f"E{i}", "N", str(i)) for i in range(70)])
        pids = np.repeat(np.array(ids), 10)
        assert (
            repo.templates.insert_many(db, runtime.cipher, settings.embedder, pids, vecs, source="t") == 700
        )
        repo.counters.bump_gallery_version(db)
        db.commit()
    release = th.Event()
    real_load = runtime.gallery._load_all

    def slow_load(session, index):
        assert release.wait(10)
        real_load(session, index)

    runtime.gallery._load_all = slow_load
    runtime.pipeline = lambda embedder=None: None  # the pipeline's own loading is not the subject here
    app = create_app(settings, runtime)
    app.state.warm_up = True
    with TestClient(app) as client:
        r = client.get("/readyz")
        assert r.status_code == 503 and r.json()["status"] == "starting"
        release.set()
        runtime.warming.wait(10)
        assert runtime.warm_error is None
        assert client.get("/readyz").status_code == 200
    tids, got_pids, matrix = runtime.gallery._indexes[settings.embedder].vectors()
    order = np.argsort(tids)
    np.testing.assert_array_equal(matrix[order], vecs)
    np.testing.assert_array_equal(got_pids[order], pids)
    runtime.close()


def test_hnsw_for_the_benchmark_comparison_honours_tombstones_too(monkeypatch):
    pytest.importorskip("faiss")
    monkeypatch.setattr(index_mod, "ANN_KIND", "hnsw")
    rng = np.random.default_rng(8)
    pids, vecs = clustered(rng, 300, 2, 32)
    index = GalleryIndex("m", ann_min=500, background=False)
    index.update({i + 1: (int(pids[i]), vecs[i]) for i in range(len(pids))}, set())
    import faiss

    assert isinstance(index._snap.blocks[0].ann, faiss.IndexHNSW)
    q = vecs[10]
    assert index.search(q, k=1)[0].template_id == 11
    index.update({}, {11})
    assert index.search(q, k=1)[0].template_id != 11
    with pytest.raises(ValueError, match="unknown approximate index"):
        index_mod.build_ann(vecs, kind="lsh")


def test_enrolments_beside_the_approximate_block_merge_without_rebuilding_it(monkeypatch):
    pytest.importorskip("faiss")
    monkeypatch.setattr(index_mod, "MAX_BLOCKS", 3)
    rng = np.random.default_rng(9)
    pids, vecs = clustered(rng, 1500, 2, 16)
    rows = {i + 1: (int(pids[i]), vecs[i]) for i in range(len(pids))}
    index = GalleryIndex("m", ann_min=2000, background=False)
    index.update(rows, set())
    big = index._snap.blocks[0]
    assert big.ann is not None and index.stats.extra["full_merges"] == 1
    next_id = 10_000
    for _ in range(12):  # 12 single enrolments: 36 rows < 2 % of 3000
        for _ in range(3):
            v = rng.normal(size=16).astype(np.float32)
            index.update({next_id: (5000 + next_id, v)}, set())
            rows[next_id] = (5000 + next_id, v)
            next_id += 1
    snap = index._snap
    assert snap.blocks[0] is big  # never rebuilt: the small blocks were merged among themselves
    assert index.stats.extra.get("delta_merges", 0) > 0 and index.stats.extra["full_merges"] == 1
    assert len(snap.blocks) <= index_mod.MAX_BLOCKS + 1
    check(index, rows, rng, 16, k=3)
    # Past 2 % beside it, the next merge folds everything into a new approximate block.
    extra = {next_id + j: (9000 + j, rng.normal(size=16).astype(np.float32)) for j in range(80)}
    index.update(extra, set())
    rows.update(extra)
    for j in range(4):
        v = rng.normal(size=16).astype(np.float32)
        index.update({20_000 + j: (1, v)}, set())
        rows[20_000 + j] = (1, v)
    assert index._snap.blocks[0] is not big and index._snap.blocks[0].ann is not None
    assert index.stats.extra["full_merges"] == 2
    assert index.template_ids == set(rows)
