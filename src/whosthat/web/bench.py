"""`whosthat bench identify`: server time of one POST /api/v1/identify with a large enrolled gallery.

Set-up, in a throwaway WHOSTHAT_HOME (SQLite), through the real app:
- the probe person is enrolled over HTTP from two real LFW photos; the probe is a third photo of them
  pasted on a 640x480 gray canvas and JPEG-encoded (checked to match the right person);
- the rest of the gallery are real dlib embeddings of other LFW photos, read through the project's
  embedding cache (`$WHOSTHAT_HOME/cache`, filled by `whosthat eval lfw`), embedding at most
  as many uncached photos as it takes to reach `min_real` real ones; when fewer real embeddings than needed exist, further templates are
  copies of real ones with small Gaussian noise (search cost depends only on the count and dimension).
  They are inserted encrypted, exactly like enrolled templates, and loaded by the gallery as usual.
Timing: wall time of the in-process HTTP request (ASGI, no network), after a warm-up request that also
loads and decrypts the gallery (reported separately), plus the search alone for reference. The CPU time
the process spent per request is reported too: on a machine shared with other jobs, wall time grows with
the load while the CPU time does not.
"""

from __future__ import annotations

import io
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

PROBE_PERSON = "Colin_Powell"  # photos 1-3 pass the enrollment quality rules


def _canvas_jpeg(path: Path) -> bytes:
    from PIL import Image

    face = Image.open(path).convert("RGB")
    canvas = Image.new("RGB", (640, 480), (128, 128, 128))
    canvas.paste(face, ((640 - face.width) // 2, (480 - face.height) // 2))
    out = io.BytesIO()
    canvas.save(out, "JPEG", quality=90)
    return out.getvalue()


def run_identify_bench(
    *,
    templates: int = 10_000,
    requests: int = 30,
    image: Path | None = None,
    data: Path | None = None,
    min_real: int = 1000,
    log=print,
) -> dict:
    from fastapi.testclient import TestClient

    from whosthat.config import Settings, get_settings
    from whosthat.services import access
    from whosthat.services.common import Context
    from whosthat.services.consent import CURRENT_VERSION as CONSENT_VERSION
    from whosthat.services.runtime import Runtime
    from whosthat.store import repositories as repo
    from whosthat.vision.cache import EmbeddingCache, embed_files
    from whosthat.web.app import create_app

    base = get_settings()
    from whosthat.datasets import lfw

    root = lfw.lfw_root(data or base.data) / lfw.IMAGES_DIR
    probe_dir = root / PROBE_PERSON
    enrol_paths = [probe_dir / f"{PROBE_PERSON}_{i:04d}.jpg" for i in (1, 2)]
    probe_bytes = Path(image).read_bytes() if image else _canvas_jpeg(probe_dir / f"{PROBE_PERSON}_0003.jpg")

    # Real embeddings of other people's photos, through the shared cache.
    others = sorted(p for d in sorted(root.iterdir()) if d.name != PROBE_PERSON for p in d.glob("*.jpg"))
    cache = EmbeddingCache(base.cache_dir / "embeddings.sqlite3") if base.cache_dir.exists() else None
    pipeline_probe = None
    with tempfile.TemporaryDirectory(prefix="whosthat-bench-") as home:
        settings = Settings(home=Path(home), database_url=None, secret_key=None)
        runtime = Runtime.from_settings(settings)
        app = create_app(settings, runtime)
        pipeline_probe = runtime.pipeline()
        key_model = pipeline_probe.model
        # Take cached ones first (cheap), then embed up to the budget.
        from whosthat.vision.cache import file_digest

        cached: list[Path] = []
        if cache is not None:
            # embed_files() keys its cache with the plain (flip=0) pipeline key.
            key = pipeline_probe.key.replace("|flip=1|", "|flip=0|")
            digests = cache.found_digests(key)
            if digests:
                for p in others:
                    if len(cached) >= templates:
                        break
                    if file_digest(p) in digests:
                        cached.append(p)
        need = max(0, min(min_real, templates) - len(cached))
        cached_set = set(cached)
        wanted = cached + [p for p in others if p not in cached_set][:need]
        log(
            f"gallery filler: {len(cached)} cached LFW embeddings, embedding {len(wanted) - len(cached)} more"
        )
        emb = embed_files(
            wanted, detector=pipeline_probe.detector_name, embedder=key_model, progress=True, cache=cache
        )
        real = emb.embeddings(flip=pipeline_probe.flip)[emb.found]
        real_paths = [p for p, f in zip(wanted, emb.found, strict=True) if f]
        n_fill = templates - 2
        rng = np.random.default_rng(0)
        rows = []
        for i in range(n_fill):
            j = i % len(real)
            vec = (
                real[j] if i < len(real) else real[j] + rng.normal(0, 0.02, real.shape[1]).astype(np.float32)
            )
            rows.append((real_paths[j].parent.name, vec))
        log(
            f"inserting {n_fill} encrypted templates ({min(n_fill, len(real))} real, "
            f"{max(0, n_fill - len(real))} noisy copies)"
        )
        with Context.open(runtime) as ctx:
            people: dict[str, int] = {}
            for name in sorted({n for n, _ in rows}):
                person = repo.people.add(
                    ctx.db,
                    employee_code=f"LFW-{name}"[:64],
                    name=name.split("_")[0],
                    surname=" ".join(name.split("_")[1:]) or "-",
                    active=True,
                )
                people[name] = person.id
            for name, vec in rows:
                repo.templates.insert(
                    ctx.db,
                    runtime.cipher,
                    people[name],
                    embedder=key_model,
                    embedding=vec,
                    chip_ciphertext=None,
                    quality=1.0,
                    source="bench",
                )
            repo.counters.bump_gallery_version(ctx.db)
            ctx.commit()
            admin_key = access.create_api_key(ctx, "bench", ["admin"])[1]
        headers = {"X-API-Key": admin_key}
        with TestClient(app) as client:
            r = client.post(
                "/api/v1/people",
                json={"employee_code": "PROBE", "name": "Colin", "surname": "Powell"},
                headers=headers,
            )
            r.raise_for_status()
            pid = r.json()["id"]
            look_alikes = []

            def enrol(photo: Path, **extra: str):
                return client.post(
                    f"/api/v1/people/{pid}/templates",
                    files={"image": (photo.name, photo.read_bytes(), "image/jpeg")},
                    # the benchmark's stand-in person agrees
                    data={"consent_version": CONSENT_VERSION, **extra},
                    headers=headers,
                )

            for p in enrol_paths:
                r = enrol(p)
                if r.status_code == 409 and r.json().get("error") == "duplicate_face":
                    # A filler person (another LFW identity) lies under the threshold: the admin's
                    # "enrol anyway", recorded in the result (a gallery of ~1,000 real identities).
                    dup = r.json()["duplicate_of"]
                    look_alikes.append(
                        {"photo": p.name, "matches": dup["employee_code"], "distance": dup["distance"]}
                    )
                    r = enrol(p, confirm_duplicate="true")
                if r.status_code != 201:
                    raise RuntimeError(f"enrolling the probe person from {p.name}: {r.status_code} {r.text}")
            t0 = time.perf_counter()
            first = client.post(
                "/api/v1/identify", files={"image": ("probe.jpg", probe_bytes, "image/jpeg")}, headers=headers
            )
            first_ms = (time.perf_counter() - t0) * 1000
            first.raise_for_status()
            match = first.json()["match"]
            times, cpu = [], []
            for _ in range(requests):
                c0, t0 = time.process_time(), time.perf_counter()
                r = client.post(
                    "/api/v1/identify",
                    files={"image": ("probe.jpg", probe_bytes, "image/jpeg")},
                    headers=headers,
                )
                times.append((time.perf_counter() - t0) * 1000)
                cpu.append((time.process_time() - c0) * 1000)  # all threads of this process
                r.raise_for_status()
            with runtime.database.session() as db:
                index = runtime.gallery.index(db, key_model)
                n_index = len(index)
                from whosthat.vision.image import decode_image

                stages: dict[str, list[float]] = {}
                for _ in range(min(requests, 20)):
                    t0 = time.perf_counter()
                    rgb = decode_image(probe_bytes)
                    t1 = time.perf_counter()
                    face = runtime.pipeline().embed_single(rgb)
                    stages.setdefault("decode", []).append(t1 - t0)
                    for name, seconds in face.timings.items():
                        stages.setdefault(name, []).append(seconds)
                probe_vec = face.embedding
                search = []
                for _ in range(50):
                    t0 = time.perf_counter()
                    index.search(probe_vec, k=1)
                    search.append((time.perf_counter() - t0) * 1000)
        runtime.close()
    times.sort()
    return {
        "templates": n_index,
        "requests": requests,
        "median_ms": round(statistics.median(times), 1),
        "p90_ms": round(times[int(0.9 * (len(times) - 1))], 1),
        "min_ms": round(times[0], 1),
        "cpu_median_ms": round(statistics.median(cpu), 1),
        "first_request_ms": round(first_ms, 1),
        "search_median_ms": round(statistics.median(search), 3),
        "stage_median_ms": {k: round(statistics.median(v) * 1000, 1) for k, v in stages.items()},
        "load_average": [round(x, 1) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
        "matched_probe": bool(match and match["person_id"] == pid),
        "model": key_model,
        "flip_tta": bool(pipeline_probe.flip),
        "detector": pipeline_probe.detector_name,
        "real_filler_embeddings": int(len(real)),
        "enrol_look_alikes": look_alikes,
        "image": str(image) if image else f"{PROBE_PERSON}_0003.jpg on a 640x480 canvas",
    }


# Search only at scale -----------------------------------------------------------------------------------
# `whosthat bench identify --search-only --templates N`: the gallery index alone at 100k-1M templates.


def _real_embeddings(
    base, data: Path | None, lfw_n: int, celeba_n: int, log
) -> tuple[list[str], np.ndarray, str]:
    """(identity per row, float32[N, D], embedder): real embeddings of LFW and CelebA photos, through the
    project's embedding cache (LFW first `lfw_n` photos of sorted people, CelebA first `celeba_n`)."""
    from whosthat.datasets import celeba, lfw
    from whosthat.vision.cache import EmbeddingCache, embed_files
    from whosthat.vision.pipeline import get_pipeline

    pipe = get_pipeline()
    root = data or base.data
    lfw_dir = lfw.lfw_root(root) / lfw.IMAGES_DIR
    lfw_paths = sorted(
        p for d in sorted(lfw_dir.iterdir()) if d.name != PROBE_PERSON for p in d.glob("*.jpg")
    )
    paths = lfw_paths[:lfw_n]
    names = [f"lfw:{p.parent.name}" for p in paths]
    celeba_root = Path(root) / "celeba"
    if celeba_n and celeba_root.is_dir():
        identity, _ = celeba.read_celeba(celeba_root)
        chosen = list(identity.items())[:celeba_n]
        paths += [celeba_root / rel for rel, _ in chosen]
        names += [f"celeba:{ident}" for _, ident in chosen]
    base.cache_dir.mkdir(parents=True, exist_ok=True)
    cache = EmbeddingCache(base.cache_dir / "embeddings.sqlite3")
    log(f"real embeddings: {len(paths)} photos ({min(lfw_n, len(lfw_paths))} LFW), through the cache")
    emb = embed_files(
        paths, detector=pipe.detector_name, embedder=pipe.model, progress=True, cache=cache, mirrored=False
    )
    vecs = emb.embeddings(flip=False)[emb.found].astype(np.float32)
    kept = [n for n, f in zip(names, emb.found, strict=True) if f]
    return kept, vecs, pipe.model


def _rss_mb(pid: int | str = "self") -> dict[str, float]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            out[line.split(":")[0]] = round(int(line.split()[1]) / 1024, 1)
    return out


def run_search_bench(
    *,
    templates: int = 100_000,
    queries: int = 400,
    float16: bool = False,
    ann: str = "ivf",
    ann_min: int | None = None,
    lfw_n: int = 1000,
    celeba_n: int = 300,
    noise: float = 0.02,
    data: Path | None = None,
    store: bool = True,
    serve: bool = True,
    sweep_widths: tuple[int, ...] = (),
    rows_per_list: int | None = None,
    log=print,
) -> dict:
    """Search-only numbers at `templates` rows: exact vs approximate median time and recall@1, merge
    (index build) time, one enrolment's time to visibility; with `store`, also the start-up load and
    decryption of every row from a real (SQLite) database and an enrolment through the change log;
    with `serve`, a `whosthat serve` process on that database: time until /readyz answers 200 (503
    before) and its memory.

    Gallery rows: real embeddings (LFW, CelebA; every tenth held out as a probe of a person whose
    other photos are enrolled) then copies of them with Gaussian noise (sd `noise` per dimension), as
    `bench identify` fills its gallery. Probes: the held-out real embeddings and fresh noisy copies.
    """
    import gc

    from whosthat.config import Settings, get_settings
    from whosthat.gallery import index as gindex

    base = get_settings()
    names, real, model = _real_embeddings(base, data, lfw_n, celeba_n, log)
    held = np.arange(len(real)) % 10 == 9
    gallery_real, gallery_names = real[~held], [n for n, h in zip(names, held, strict=True) if not h]
    rng = np.random.default_rng(0)
    n_fill = templates
    src = np.arange(n_fill) % len(gallery_real)
    matrix = gallery_real[src].copy()
    jitter = np.arange(n_fill) >= len(gallery_real)
    matrix[jitter] += rng.normal(0, noise, size=(int(jitter.sum()), real.shape[1])).astype(np.float32)
    person_of = {n: i + 1 for i, n in enumerate(sorted(set(gallery_names)))}
    pids = np.array([person_of[gallery_names[j]] for j in src], np.int64)
    tids = np.arange(1, n_fill + 1, dtype=np.int64)
    n_held = min(int(held.sum()), queries // 2)
    probe_held = real[held][:n_held]
    jit_src = rng.integers(0, len(gallery_real), queries - n_held)
    probe_jit = gallery_real[jit_src] + rng.normal(0, noise, size=(len(jit_src), real.shape[1])).astype(
        np.float32
    )
    probes = np.concatenate([probe_held, probe_jit]).astype(np.float32)
    log(
        f"gallery: {n_fill} rows ({len(gallery_real)} real, {int(jitter.sum())} noisy copies, "
        f"{len(person_of)} people), {len(probes)} probes ({n_held} held-out real photos)"
    )
    rss0 = _rss_mb()

    # In memory: the exact index, then the approximate one over the same rows.
    gindex.ANN_KIND = ann
    if rows_per_list:
        gindex.IVF_ROWS_PER_LIST = rows_per_list
    exact = gindex.GalleryIndex(model, float16=float16, ann_min=None, background=False)
    t0 = time.perf_counter()
    exact.update_arrays(tids, pids, matrix)
    exact_build_s = time.perf_counter() - t0
    approx = gindex.GalleryIndex(model, float16=float16, ann_min=ann_min or 1, background=False)
    t0 = time.perf_counter()
    approx.update_arrays(tids, pids, matrix)  # reaches ann_min: merged inline, the ANN index built
    ann_build_s = time.perf_counter() - t0
    assert approx._snap.blocks[0].ann is not None

    def timed(index, q, **kw):
        t = time.perf_counter()
        m = index.search(q, k=1, **kw)[0]
        return (time.perf_counter() - t) * 1000, m

    for q in probes[:10]:  # warm-up
        timed(exact, q), timed(approx, q)
    ex_ms, an_ms, same_t, same_p, exact_top, held_hits = [], [], 0, 0, [], []
    for q in probes:
        te, me = timed(exact, q)
        ta, ma = timed(approx, q)
        ex_ms.append(te)
        an_ms.append(ta)
        exact_top.append(me.template_id)
        same_t += me.template_id == ma.template_id
        same_p += me.person_id == ma.person_id
        held_hits.append(me.template_id == ma.template_id)
    nprobe0, ef0 = gindex.NPROBE, gindex.HNSW_EF_SEARCH
    # The approximate index's search breadth against recall and time (IVF: lists probed; HNSW: efSearch).
    import dataclasses

    sweep = []
    for width in sweep_widths:
        if ann == "ivf":
            gindex.NPROBE = width
        else:
            gindex.HNSW_EF_SEARCH = width
        snap = approx._snap
        approx._snap = dataclasses.replace(
            snap,
            selectors=tuple(
                gindex._ann_params(b.ann, d) if b.ann is not None else None
                for b, d in zip(snap.blocks, snap.dead, strict=True)
            ),
        )
        ms, hits = [], 0
        for q, me in zip(probes, exact_top, strict=True):
            ta, ma = timed(approx, q)
            ms.append(ta)
            hits += ma.template_id == me
        sweep.append(
            {
                "width": width,
                "median_ms": round(statistics.median(ms), 3),
                "p99_ms": round(float(np.percentile(ms, 99)), 3),
                "recall_at_1": round(hits / len(probes), 4),
            }
        )
    gindex.NPROBE, gindex.HNSW_EF_SEARCH = nprobe0, ef0
    # One enrolment into the gallery as it serves: visible to the next search.
    new_vec = (real[0] + rng.normal(0, 0.05, real.shape[1])).astype(np.float32)
    t0 = time.perf_counter()
    approx.update({n_fill + 10: (999_999, new_vec)}, set())
    found = approx.search(new_vec, k=1)[0].template_id == n_fill + 10
    enrol_mem_ms = (time.perf_counter() - t0) * 1000
    result = {
        "templates": n_fill,
        "dim": int(real.shape[1]),
        "model": model,
        "float16": float16,
        "ann": ann,
        "probes": len(probes),
        "held_out_real_probes": n_held,
        "real_embeddings": int(len(real)),
        "exact_median_ms": round(statistics.median(ex_ms), 3),
        "exact_p99_ms": round(float(np.percentile(ex_ms, 99)), 3),
        "ann_median_ms": round(statistics.median(an_ms), 3),
        "ann_p99_ms": round(float(np.percentile(an_ms, 99)), 3),
        "recall_at_1_template": round(same_t / len(probes), 4),
        "recall_at_1_person": round(same_p / len(probes), 4),
        "recall_at_1_held_out_real": round(float(np.mean(held_hits[:n_held])), 4) if n_held else None,
        "recall_at_1_noisy_copies": round(float(np.mean(held_hits[n_held:])), 4),
        "exact_load_s": round(exact_build_s, 2),
        "ann_build_s": round(ann_build_s, 2),
        "enrolment_visible_in_memory_ms": round(enrol_mem_ms, 2),
        "enrolment_found": bool(found),
        "process_rss_mb_before_indexes": rss0,
        "process_rss_mb_with_both_indexes": _rss_mb(),
        "sweep": sweep,
        "ivf": {"rows_per_list": gindex.IVF_ROWS_PER_LIST, "nprobe": gindex.NPROBE},
        "hnsw": {
            "M": gindex.HNSW_M,
            "ef_construction": gindex.HNSW_EF_CONSTRUCTION,
            "ef_search": gindex.HNSW_EF_SEARCH,
        },
    }
    del exact, approx
    gc.collect()
    if not store:
        result["load_average"] = [round(x, 1) for x in os.getloadavg()]
        return result

    from whosthat.gallery import Gallery
    from whosthat.store import repositories as repo
    from whosthat.store.crypto import TemplateCipher, load_or_create_key
    from whosthat.store.db import open_database

    with tempfile.TemporaryDirectory(prefix="whosthat-bench-") as home:
        settings = Settings(home=Path(home), database_url=None, secret_key=None, embedder=model)
        cipher = TemplateCipher(load_or_create_key(None, Path(home)))
        database = open_database(settings)
        t0 = time.perf_counter()
        with database.session() as db:
            ids = repo.people.add_many(
                db, [(f"BENCH-{i}", "Bench", str(i)) for i in range(1, len(person_of) + 1)]
            )
            pmap = dict(zip(range(1, len(person_of) + 1), ids, strict=True))
            db_pids = np.array([pmap[int(p)] for p in pids], np.int64)
            repo.templates.insert_many(db, cipher, model, db_pids, matrix, source="bench")
            repo.counters.bump_gallery_version(db)
            db.commit()
        insert_s = time.perf_counter() - t0
        log(f"{n_fill} encrypted templates written in {insert_s:.1f} s")
        del matrix
        gc.collect()
        # Start-up: one replica loads and decrypts every row (and builds the approximate index).
        gallery = Gallery(cipher, float16=float16, ann_min=ann_min or gindex.ANN_MIN)
        t0 = time.perf_counter()
        with database.session() as db:
            index = gallery.index(db, model)
        start_s = time.perf_counter() - t0
        assert len(index) == n_fill
        load_decrypt_s, start_merge_s = gallery.last_load_s, index.stats.last_merge_s
        # An enrolment committed by another replica, visible here through the change log.
        with database.session() as db:
            person = repo.people.add(db, employee_code="NEW", name="New", surname="Person", active=True)
            vec = (real[1] + rng.normal(0, 0.05, real.shape[1])).astype(np.float32)
            t0 = time.perf_counter()
            row = repo.templates.add(
                db, cipher, person.id, embedder=model, embedding=vec, chip=None, quality=1, source="bench"
            )
            db.commit()
            t1 = time.perf_counter()
            hit = gallery.search(db, model, vec, k=1)[0]
            t2 = time.perf_counter()
        result.update(
            {
                "db_insert_s": round(insert_s, 1),
                "start_total_s": round(start_s, 2),
                "start_read_decrypt_s": round(load_decrypt_s, 2),
                "start_ann_build_s": round(start_merge_s, 2),
                "enrolment_commit_ms": round((t1 - t0) * 1000, 2),
                "enrolment_visible_after_commit_ms": round((t2 - t1) * 1000, 2),
                "enrolment_found_via_change_log": hit.template_id == row.id,
                "full_reloads": gallery.full_reloads,
            }
        )
        del gallery, index
        gc.collect()
        database.dispose()
        if serve:
            result["serve"] = _serve_start(home, model, float16, ann_min, log)
    result["load_average"] = [round(x, 1) for x in os.getloadavg()]
    return result


def _serve_start(home: str, model: str, float16: bool, ann_min: int | None, log) -> dict:
    """Start `whosthat serve` on `home`: seconds until /readyz answers 200 (and whether it said 503
    before), then the process's memory (VmRSS, VmHWM)."""
    import socket
    import subprocess
    import sys
    import urllib.error
    import urllib.request

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    env = dict(os.environ, WHOSTHAT_HOME=home, WHOSTHAT_EMBEDDER=model)
    env.pop("WHOSTHAT_DATABASE_URL", None)
    env["WHOSTHAT_GALLERY_FLOAT16"] = "1" if float16 else "0"
    if ann_min:
        env["WHOSTHAT_GALLERY_ANN_MIN"] = str(ann_min)
    t0 = time.perf_counter()
    log_path = Path(home) / "serve.log"
    log_file = open(log_path, "wb")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(
        [sys.executable, "-m", "whosthat", "serve", "--port", str(port)],
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    codes: list[int] = []
    ready_s = None
    try:
        while time.perf_counter() - t0 < 600 and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as r:
                    codes.append(r.status)
            except urllib.error.HTTPError as exc:
                codes.append(exc.code)
            except OSError:
                pass
            if codes and codes[-1] == 200:
                ready_s = time.perf_counter() - t0
                break
            time.sleep(0.2)
        mem = _rss_mb(proc.pid) if proc.poll() is None else {}
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log_file.close()
    log(f"serve: /readyz 200 after {ready_s} s, memory {mem}")
    if ready_s is None:
        log("serve log tail:\n" + log_path.read_text(errors="replace")[-3000:])
    return {
        "ready_s": round(ready_s, 1) if ready_s else None,
        "answered_503_before_ready": 503 in codes,
        "readyz_polls": len(codes),
        "memory_mb": mem,
    }
