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
            for p in enrol_paths:
                client.post(
                    f"/api/v1/people/{pid}/templates",
                    files={"image": (p.name, p.read_bytes(), "image/jpeg")},
                    headers=headers,
                ).raise_for_status()
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
        "image": str(image) if image else f"{PROBE_PERSON}_0003.jpg on a 640x480 canvas",
    }
