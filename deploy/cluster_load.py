"""Helpers for the cluster (deploy/cluster.py): an admin API key made in the shared database, enrolment of
an LFW person, and a bounded identify load (threads, one HTTP client each) with its latency figures."""

from __future__ import annotations

import io
import json
import os
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx

PROBE_PERSON = "Colin_Powell"


def info_of(path: str | Path) -> dict:
    return json.loads(Path(path).read_text())


def api_key(info: dict, name: str = "cluster") -> str:
    """A new admin API key, written straight into the cluster's database."""
    from whosthat.config import Settings
    from whosthat.services import access
    from whosthat.services.common import Context
    from whosthat.services.runtime import Runtime

    home = Path(tempfile.mkdtemp(prefix="whosthat-cluster-client-"))
    settings = Settings(home=home, database_url=info["db_url"], secret_key=info["secret_key"])
    runtime = Runtime.from_settings(settings)
    try:
        with Context.open(runtime) as ctx:
            return access.create_api_key(ctx, name, ["admin"])[1]
    finally:
        runtime.close()
        shutil.rmtree(home, ignore_errors=True)


def lfw_photos(person: str = PROBE_PERSON) -> list[Path]:
    data = Path(os.environ.get("WHOSTHAT_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
    return sorted((data / "lfw" / "lfw-deepfunneled" / person).glob("*.jpg"))


def canvas_jpeg(path: Path) -> bytes:
    """An LFW photo pasted on a 640x480 gray canvas (a kiosk-sized frame), as `bench identify` does."""
    from PIL import Image

    face = Image.open(path).convert("RGB")
    canvas = Image.new("RGB", (640, 480), (128, 128, 128))
    canvas.paste(face, ((640 - face.width) // 2, (480 - face.height) // 2))
    out = io.BytesIO()
    canvas.save(out, "JPEG", quality=90)
    return out.getvalue()


def enrol(base: str, key: str, code: str, name: str, surname: str, photos: list[Path]) -> int:
    headers = {"X-API-Key": key}
    with httpx.Client(base_url=base, headers=headers, timeout=60) as c:
        r = c.post("/api/v1/people", json={"employee_code": code, "name": name, "surname": surname})
        r.raise_for_status()
        pid = r.json()["id"]
        c.post(f"/api/v1/people/{pid}/consent", json={}).raise_for_status()  # consent before any face
        for p in photos:
            c.post(
                f"/api/v1/people/{pid}/templates", files={"image": (p.name, p.read_bytes(), "image/jpeg")}
            ).raise_for_status()
    return pid


def load(
    url: str, key: str, image: bytes, concurrency: int, seconds: float, stop: threading.Event | None = None
):
    """Identify requests from `concurrency` threads for `seconds` (or until `stop`); returns
    {"requests", "errors", "error_samples", "throughput_rps", "p50_ms", "p99_ms", "max_ms"}."""
    lat: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    end = time.time() + seconds

    def worker() -> None:
        with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=60) as c:
            while time.time() < end and not (stop is not None and stop.is_set()):
                t0 = time.perf_counter()
                try:
                    r = c.post("/api/v1/identify", files={"image": ("probe.jpg", image, "image/jpeg")})
                    ok = r.status_code == 200
                    why = f"HTTP {r.status_code}: {r.text[:200]}"
                except httpx.HTTPError as exc:
                    ok, why = False, f"{type(exc).__name__}: {exc}"
                ms = (time.perf_counter() - t0) * 1000
                with lock:
                    lat.append(ms)
                    if not ok:
                        errors.append(why)

    t0 = time.time()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.time() - t0
    lat.sort()
    return {
        "concurrency": concurrency,
        "requests": len(lat),
        "errors": len(errors),
        "error_samples": errors[:5],
        "seconds": round(wall, 1),
        "throughput_rps": round(len(lat) / wall, 2) if wall else 0.0,
        "p50_ms": round(statistics.median(lat), 1) if lat else None,
        "p99_ms": round(lat[min(len(lat) - 1, int(0.99 * len(lat)))], 1) if lat else None,
        "max_ms": round(lat[-1], 1) if lat else None,
    }


def bench(path: str | Path, args: list[str]) -> dict:
    """Identify through the load balancer (all replicas) and straight to one replica, at concurrency
    1, 4 and 16, `seconds` each (args: [seconds])."""
    seconds = float(args[0]) if args else 20.0
    info = info_of(path)
    key = api_key(info, "cluster-bench")
    photos = lfw_photos()
    enrol(info["lb"], key, "BENCH-PROBE", "Colin", "Powell", photos[:2])
    image = canvas_jpeg(photos[2])
    out = {"replicas": len(info["replicas"]), "seconds_per_level": seconds, "runs": []}
    for target, url in (("load balancer", info["lb"]), ("one replica", info["replicas"][0]["url"])):
        load(url, key, image, 2, 3.0)  # warm-up (first requests load models)
        for c in (1, 4, 16):
            r = load(url, key, image, c, seconds)
            r["target"] = target
            out["runs"].append(r)
            print(f"cluster bench: {target} c={c}: {r}", flush=True)
    out["shared_state"] = shared_state_bench(info["db_url"])
    print(f"cluster bench: shared state {out['shared_state']}", flush=True)
    out["load_average"] = [round(x, 2) for x in os.getloadavg()]
    out["cpus"] = os.cpu_count()
    return out


def shared_state_bench(db_url: str, n: int = 300) -> dict:
    """Time one failed-login count (`failure`) and one lockout check (`check`) of the project's shared
    limiter on the cluster's PostgreSQL, against the same sliding window in Redis (a sorted set per key:
    ZREMRANGEBYSCORE + ZADD + ZCARD + EXPIRE in one MULTI; GET of the lock key for the check), when
    Debian's redis-server and the redis client are installed (the project does not need them)."""
    import shutil
    import socket
    import subprocess

    from whosthat.config import Settings
    from whosthat.services.limits import SharedFailureLimiter
    from whosthat.store.db import open_database

    def timed(fn) -> dict:
        ms = []
        for i in range(n):
            t0 = time.perf_counter()
            fn(i)
            ms.append((time.perf_counter() - t0) * 1000)
        ms.sort()
        return {"median_ms": round(statistics.median(ms), 3), "p99_ms": round(ms[int(0.99 * (n - 1))], 3)}

    home = Path(tempfile.mkdtemp(prefix="whosthat-state-bench-"))
    database = open_database(Settings(home=home, database_url=db_url, secret_key=None))
    shutil.rmtree(home, ignore_errors=True)  # nothing is kept there: the database is PostgreSQL
    lim = SharedFailureLimiter(database, "bench", max_failures=10**9, lockout_s=60)
    out = {
        "postgresql": {
            "failure": timed(lambda i: lim.failure(f"k{i % 20}")),
            "check": timed(lambda i: lim.check(f"k{i % 20}")),
        }
    }
    database.dispose()
    server = shutil.which("redis-server")
    try:
        import redis
    except ImportError:
        redis = None
    if server is None or redis is None:
        out["redis"] = "not measured: needs Debian's redis-server and the redis client"
        return out
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    proc = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        client = redis.Redis(port=port)
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)

        def failure(i: int) -> None:
            key, now = f"bench:k{i % 20}", time.time()
            pipe = client.pipeline(transaction=True)
            pipe.zremrangebyscore(key, 0, now - 300)
            pipe.zadd(key, {f"{now}:{i}": now})
            pipe.zcard(key)
            pipe.expire(key, 300)
            pipe.execute()

        out["redis"] = {
            "failure": timed(failure),
            "check": timed(lambda i: client.get(f"bench:lock:k{i % 20}")),
        }
    finally:
        proc.terminate()
        proc.wait(10)
    return out
