"""`whosthat bench crash` and `whosthat bench uploads`: the reliability numbers of docs/reliability.md,
measured on a real `whosthat serve` process (a subprocess on loopback, in a throwaway WHOSTHAT_HOME).

crash: writer threads add people and clock events over HTTP; every answer 201 is an acknowledged
write. The server is killed with SIGKILL at a random moment of each round and started again. Between
rounds, bursts of parallel clock events for one person test the in/out decision. At the end the
database is opened directly: every acknowledged person and event must be there, the integrity and
foreign-key checks must pass, and each person's events of a day must alternate in, out, in, ...

uploads: after a warm-up request (the models load), N worst-case uploads (25 MP, the pixel limit;
PNG, which has no reduced-scale decoding, and a JPEG) are sent at once, several rounds; the server's
peak resident memory (VmHWM) is read from /proc before and after.
"""

from __future__ import annotations

import io
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WHOSTHAT_")}
    env.update({"WHOSTHAT_HOME": str(home), "PYTHONUNBUFFERED": "1"})
    return env


def _whosthat(*args: str, home: Path, stdin: str | None = None) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "whosthat.cli", *args],
        env=_env(home),
        input=stdin,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return out.stdout


class Server:
    """`whosthat serve` as a subprocess; `kill()` is SIGKILL, `stop()` a clean SIGTERM."""

    def __init__(self, home: Path, port: int, extra_env: dict | None = None):
        self.home, self.port = home, port
        self.url = f"http://127.0.0.1:{port}"
        env = {**_env(home), **(extra_env or {})}
        self.log = open(home / f"server-{port}-{uuid.uuid4().hex[:6]}.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "whosthat.cli", "serve", "--port", str(port)],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.time() + 120
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited with {self.proc.returncode}; see {self.log.name}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2):
                    return
            except OSError:
                time.sleep(0.2)
        self.kill()
        raise RuntimeError("the server did not answer within 120 s")

    def peak_rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)
        self.log.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.log.close()


def _post(
    url: str, key: str, body: bytes, content_type: str, timeout: float = 30.0
) -> tuple[int, dict | None]:
    req = urllib.request.Request(url, data=body, method="POST")
    req.add_header("X-API-Key", key)
    req.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, None


def _post_json(url: str, key: str, payload: dict) -> tuple[int, dict | None]:
    return _post(url, key, json.dumps(payload).encode(), "application/json")


def _multipart(data: bytes, name: str = "image", filename: str = "photo") -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


# kill -9 during writes ---------------------------------------------------------------------------
@dataclass
class CrashReport:
    rounds: int
    writers: int
    acknowledged_people: int = 0
    acknowledged_events: int = 0
    answered: int = 0
    lost_people: int = 0
    lost_events: int = 0
    integrity: str = ""
    foreign_key_errors: int = 0
    race_bursts: int = 0
    race_parallel: int = 0
    days_checked: int = 0
    days_not_alternating: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def lost(self) -> int:
        return self.lost_people + self.lost_events

    def to_dict(self) -> dict:
        out = dict(self.__dict__)
        out["lost"] = self.lost
        return out


def _writer(url: str, key: str, tag: str, stop: threading.Event, acked: dict, lock: threading.Lock) -> None:
    rng = random.Random(tag)
    mine: list[int] = []
    i = 0
    while not stop.is_set():
        i += 1
        try:
            if mine and rng.random() < 0.5:
                pid = rng.choice(mine)
                status, body = _post_json(url + "/api/v1/attendance", key, {"person_id": pid})
                with lock:
                    acked["answered"] += 1
                    if status == 201 and body:
                        acked["events"].add(body["id"])
            else:
                code = f"K-{tag}-{i}"
                status, body = _post_json(
                    url + "/api/v1/people", key, {"employee_code": code, "name": "Crash", "surname": tag}
                )
                with lock:
                    acked["answered"] += 1
                    if status == 201 and body:
                        acked["people"][code] = body["id"]
                        mine.append(body["id"])
        except OSError:
            time.sleep(0.05)  # the server is down: try again until told to stop


def _race(url: str, key: str, person_id: int, parallel: int) -> None:
    barrier = threading.Barrier(parallel)

    def one():
        barrier.wait()
        try:
            _post_json(url + "/api/v1/attendance", key, {"person_id": person_id})
        except OSError:
            pass

    threads = [threading.Thread(target=one) for _ in range(parallel)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)


def crash_test(
    rounds: int = 12,
    writers: int = 4,
    round_s: tuple[float, float] = (1.0, 4.0),
    race_parallel: int = 8,
    seed: int = 16,
    home: Path | None = None,
) -> CrashReport:
    """Kill -9 the server `rounds` times during writes; see the module docstring."""
    t0 = time.time()
    rng = random.Random(seed)
    own = home is None
    tmp = tempfile.TemporaryDirectory(prefix="whosthat-crash-") if own else None
    home = Path(tmp.name) if tmp else Path(home)
    report = CrashReport(rounds=rounds, writers=writers, race_parallel=race_parallel)
    try:
        key = _whosthat("apikey", "create", "crash", "--scopes", "admin", home=home).strip().splitlines()[-1]
        acked: dict = {"people": {}, "events": set(), "answered": 0}
        lock = threading.Lock()
        port = _free_port()
        race_person = None
        for r in range(rounds):
            server = Server(home, port)
            if race_person is None:
                _, body = _post_json(
                    server.url + "/api/v1/people",
                    key,
                    {"employee_code": "RACE", "name": "Race", "surname": "Burst"},
                )
                race_person = body["id"]
            _race(server.url, key, race_person, race_parallel)
            report.race_bursts += 1
            stop = threading.Event()
            threads = [
                threading.Thread(target=_writer, args=(server.url, key, f"{r}-{w}", stop, acked, lock))
                for w in range(writers)
            ]
            for t in threads:
                t.start()
            time.sleep(rng.uniform(*round_s))
            server.kill()  # SIGKILL in the middle of the writes
            stop.set()
            for t in threads:
                t.join(60)
        server = Server(home, port)  # one clean start after the last kill, then a clean stop
        server.stop()
        report.acknowledged_people = len(acked["people"])
        report.acknowledged_events = len(acked["events"])
        report.answered = acked["answered"]
        db = sqlite3.connect(home / "whosthat.sqlite3")
        try:
            codes = {row[0] for row in db.execute("SELECT employee_code FROM people")}
            ids = {row[0] for row in db.execute("SELECT id FROM attendance_events")}
            report.lost_people = sum(1 for c in acked["people"] if c not in codes)
            report.lost_events = sum(1 for e in acked["events"] if e not in ids)
            report.integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
            report.foreign_key_errors = len(db.execute("PRAGMA foreign_key_check").fetchall())
            days: dict[tuple[int, str], list[str]] = defaultdict(list)
            for pid, kind, at in db.execute(
                "SELECT person_id, kind, at FROM attendance_events ORDER BY at, id"
            ):
                days[(pid, str(at)[:10])].append(kind)
            report.days_checked = len(days)
            report.days_not_alternating = sum(
                1 for kinds in days.values() if any(k != ("in", "out")[i % 2] for i, k in enumerate(kinds))
            )
        finally:
            db.close()
    finally:
        if tmp:
            tmp.cleanup()
    report.seconds = round(time.time() - t0, 1)
    return report


# Worst-case uploads ------------------------------------------------------------------------------
def worst_case_images(side: int = 5000) -> dict[str, bytes]:
    """25 MP images within the upload limits: a PNG (no reduced-scale decoding in PNG) and a JPEG."""
    import numpy as np
    from PIL import Image

    y, x = np.mgrid[0:side, 0:side]
    gradient = ((x + y) * 255 // (2 * side)).astype(np.uint8)
    rgb = np.dstack([gradient, gradient[::-1], gradient.T])
    out = {}
    png, jpeg = io.BytesIO(), io.BytesIO()
    Image.fromarray(rgb).save(png, "PNG", compress_level=9)
    Image.fromarray(rgb).save(jpeg, "JPEG", quality=90)
    out["png-25MP"] = png.getvalue()
    out["jpeg-25MP"] = jpeg.getvalue()
    return out


def upload_memory(concurrent: int = 4, rounds: int = 3, warm_image: bytes | None = None) -> dict:
    """Peak server memory while `concurrent` worst-case uploads run at once (see the module docstring)."""
    tmp = tempfile.TemporaryDirectory(prefix="whosthat-uploads-")
    home = Path(tmp.name)
    try:
        key = (
            _whosthat("apikey", "create", "uploads", "--scopes", "admin", home=home).strip().splitlines()[-1]
        )
        images = worst_case_images()
        server = Server(home, _free_port())
        try:
            if warm_image is not None:
                body, ctype = _multipart(warm_image)
                _post(server.url + "/api/v1/identify", key, body, ctype, timeout=300)
            time.sleep(1.0)
            baseline = {"rss_mb": round(server.rss_mb(), 1), "peak_mb": round(server.peak_rss_mb(), 1)}
            results = []
            for name, data in images.items():
                for _ in range(rounds):
                    statuses: list[int] = []
                    body, ctype = _multipart(data)

                    def one(body=body, ctype=ctype, statuses=statuses):
                        statuses.append(
                            _post(server.url + "/api/v1/identify", key, body, ctype, timeout=300)[0]
                        )

                    t = time.perf_counter()
                    threads = [threading.Thread(target=one) for _ in range(concurrent)]
                    for th in threads:
                        th.start()
                    for th in threads:
                        th.join(600)
                    results.append(
                        {
                            "image": name,
                            "bytes": len(data),
                            "statuses": sorted(statuses),
                            "wall_s": round(time.perf_counter() - t, 2),
                            "peak_mb_after": round(server.peak_rss_mb(), 1),
                        }
                    )
            return {
                "concurrent": concurrent,
                "rounds": rounds,
                "baseline": baseline,
                "peak_mb": round(server.peak_rss_mb(), 1),
                "results": results,
                "cpu_count": os.cpu_count(),
                "load_average": os.getloadavg(),
            }
        finally:
            server.stop()
    finally:
        tmp.cleanup()
