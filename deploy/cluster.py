#!/usr/bin/env python3
"""A real cluster on loopback: one private PostgreSQL 15 cluster, N `whosthat serve` replicas sharing it
(and one secret key), and Debian's HAProxy in front of them (round robin, no sticky sessions, health
checks on /readyz, failed connections retried on another replica).

    python deploy/cluster.py test           # start, run tests/cluster against it, stop (make cluster)
    python deploy/cluster.py bench          # start, identify load at concurrency 1/4/16, LB vs one replica
    python deploy/cluster.py up             # start and wait (Ctrl-C stops everything)

Installs Debian's postgresql and haproxy when missing (root). Everything lives in a temporary folder that
is removed at the end; `cluster.json` there describes the cluster for the tests (WHOSTHAT_CLUSTER_JSON).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = (
    str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() else sys.executable
)

# The replicas' settings for the cluster tests: one blink per challenge (the NUAA clip blinks), the
# default lockout (5 failures), print attacks enforced (the default).
REPLICA_ENV = {
    "WHOSTHAT_LIVENESS_STEP_KINDS": "blink",
    "WHOSTHAT_LIVENESS_TIMEOUT_S": "20",
}

HAPROXY_CFG = """\
global
    maxconn 512
    tune.bufsize 262144
defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout tunnel 120s
    timeout http-request 30s
    option forwardfor
    option http-buffer-request
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response response-timeout 503
frontend whosthat
    bind 127.0.0.1:{port}
    default_backend replicas
backend replicas
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    default-server inter 500ms fall 2 rise 2
{servers}
"""


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def log(msg: str) -> None:
    print(f"cluster: {msg}", file=sys.stderr, flush=True)


def _apt_install(package: str) -> None:
    log(f"installing Debian's {package}")
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", package],
        check=True,
        env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"),
        stdout=subprocess.DEVNULL,
    )


def pg_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: float(p.parent.name))
    if not found:
        _apt_install("postgresql")
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: float(p.parent.name))
    return found[-1]


def haproxy_bin() -> str:
    path = shutil.which("haproxy") or ("/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None)
    if path is None:
        _apt_install("haproxy")
        path = shutil.which("haproxy") or "/usr/sbin/haproxy"
    return path


def http_status(url: str, timeout: float = 3.0) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


class Cluster:
    def __init__(self, replicas: int = 2, workdir: Path | None = None):
        self.n = replicas
        self.dir = Path(workdir or tempfile.mkdtemp(prefix="whosthat-cluster-"))
        self.procs: dict[str, subprocess.Popen] = {}
        self.pg = pg_bin()
        self.pg_port = free_port()
        self.lb_port = free_port()
        self.ports = [free_port() for _ in range(replicas)]
        self.secret = base64.b64encode(os.urandom(32)).decode()
        self.db_url = f"postgresql://whosthat:whosthat@127.0.0.1:{self.pg_port}/whosthat"

    # PostgreSQL -------------------------------------------------------------------------------------
    def _as_pg(self, *cmd: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, *cmd], check=True, stdout=subprocess.DEVNULL)

    def start_postgres(self) -> None:
        data = self.dir / "pg"
        self.dir.chmod(0o755)
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
        self._as_pg(str(self.pg / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync")
        self._as_pg(
            str(self.pg / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(self.dir / "pg.log"),
            "-w",
            "-o",
            f"-p {self.pg_port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c max_connections=200",
            "start",
        )
        self._as_pg(
            str(self.pg / "psql"),
            "-q",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.pg_port),
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-c",
            "CREATE USER whosthat PASSWORD 'whosthat'",
            "-c",
            "CREATE DATABASE whosthat OWNER whosthat",
        )
        log(f"PostgreSQL on 127.0.0.1:{self.pg_port}")

    def stop_postgres(self) -> None:
        try:
            self._as_pg(str(self.pg / "pg_ctl"), "-D", str(self.dir / "pg"), "-m", "fast", "-w", "stop")
        except subprocess.CalledProcessError:
            pass

    # Replicas ---------------------------------------------------------------------------------------
    def replica_env(self, i: int) -> dict:
        home = self.dir / f"r{i}"
        home.mkdir(exist_ok=True)
        env = dict(os.environ, **REPLICA_ENV)
        env.update(
            WHOSTHAT_HOME=str(home),
            WHOSTHAT_DATABASE_URL=self.db_url,
            WHOSTHAT_SECRET_KEY=self.secret,
        )
        return env

    def replica_cmd(self, i: int) -> list[str]:
        return [
            PYTHON,
            "-m",
            "whosthat",
            "serve",
            "--port",
            str(self.ports[i]),
            "--proxy-headers",
            "--forwarded-allow-ips",
            "127.0.0.1",
        ]

    def start_replica(self, i: int) -> None:
        out = open(self.dir / f"r{i}.log", "ab")  # noqa: SIM115 (the process keeps it)
        self.procs[f"r{i}"] = subprocess.Popen(
            self.replica_cmd(i), env=self.replica_env(i), stdout=out, stderr=subprocess.STDOUT, cwd=ROOT
        )

    def wait_ready(self, i: int, timeout: float = 240.0) -> float:
        t0 = time.time()
        url = f"http://127.0.0.1:{self.ports[i]}/readyz"
        while time.time() - t0 < timeout:
            proc = self.procs.get(f"r{i}")
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"replica r{i} exited ({proc.returncode}):\n{self.tail(f'r{i}.log')}")
            if http_status(url) == 200:
                return time.time() - t0
            time.sleep(0.3)
        raise RuntimeError(f"replica r{i} not ready after {timeout} s:\n{self.tail(f'r{i}.log')}")

    def tail(self, name: str, n: int = 3000) -> str:
        path = self.dir / name
        return path.read_text(errors="replace")[-n:] if path.exists() else ""

    # Load balancer ----------------------------------------------------------------------------------
    def start_haproxy(self) -> None:
        servers = "\n".join(f"    server r{i} 127.0.0.1:{p} check" for i, p in enumerate(self.ports))
        cfg = self.dir / "haproxy.cfg"
        cfg.write_text(HAPROXY_CFG.format(port=self.lb_port, servers=servers))
        out = open(self.dir / "haproxy.log", "ab")  # noqa: SIM115
        self.procs["lb"] = subprocess.Popen(
            [haproxy_bin(), "-db", "-f", str(cfg)], stdout=out, stderr=subprocess.STDOUT
        )
        t0 = time.time()
        while http_status(f"http://127.0.0.1:{self.lb_port}/readyz") != 200:
            if time.time() - t0 > 30 or self.procs["lb"].poll() is not None:
                raise RuntimeError(f"HAProxy did not come up:\n{self.tail('haproxy.log')}")
            time.sleep(0.3)
        log(f"HAProxy on 127.0.0.1:{self.lb_port} -> replicas {self.ports}")

    # The whole ----------------------------------------------------------------------------------------
    def start(self) -> None:
        self.start_postgres()
        # The first replica migrates the schema; the others start once it is ready.
        self.start_replica(0)
        log(f"replica r0 ready in {self.wait_ready(0):.1f} s")
        for i in range(1, self.n):
            self.start_replica(i)
        for i in range(1, self.n):
            log(f"replica r{i} ready in {self.wait_ready(i):.1f} s")
        self.start_haproxy()
        self.describe()

    def describe(self) -> Path:
        info = {
            "lb": f"http://127.0.0.1:{self.lb_port}",
            "db_url": self.db_url,
            "secret_key": self.secret,
            "dir": str(self.dir),
            "replicas": [
                {
                    "name": f"r{i}",
                    "url": f"http://127.0.0.1:{p}",
                    "pid": self.procs[f"r{i}"].pid,
                    "cmd": self.replica_cmd(i),
                    "env": {k: v for k, v in self.replica_env(i).items() if k.startswith("WHOSTHAT_")},
                    "log": str(self.dir / f"r{i}.log"),
                }
                for i, p in enumerate(self.ports)
            ],
        }
        path = self.dir / "cluster.json"
        path.write_text(json.dumps(info, indent=2))
        return path

    def stop(self) -> None:
        # Replicas the tests restarted are not our children: their pids are in cluster.json.
        own = {p.pid for p in self.procs.values()}
        try:
            others = [r["pid"] for r in json.loads((self.dir / "cluster.json").read_text())["replicas"]]
        except (OSError, ValueError, KeyError):
            others = []
        for pid in others:
            if pid not in own:
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.stop_postgres()


def run_tests(cluster: Cluster, extra: list[str]) -> int:
    env = dict(os.environ, WHOSTHAT_CLUSTER_JSON=str(cluster.dir / "cluster.json"))
    cmd = [PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/cluster", *extra]
    return subprocess.run(cmd, cwd=ROOT, env=env).returncode


def main(argv: list[str]) -> int:
    what = argv[0] if argv else "test"
    cluster = Cluster(replicas=int(os.environ.get("WHOSTHAT_CLUSTER_REPLICAS", "2")))
    rc = 1
    try:
        cluster.start()
        if what == "test":
            rc = run_tests(cluster, argv[1:])
        elif what == "bench":
            sys.path.insert(0, str(ROOT / "deploy"))
            from cluster_load import bench

            result = bench(cluster.dir / "cluster.json", argv[1:])
            print(json.dumps(result, indent=2))
            rc = 0
        elif what == "up":
            log(f"up: {cluster.dir / 'cluster.json'} (Ctrl-C stops)")
            while True:
                time.sleep(3600)
        else:
            log(f"unknown command {what!r}: test, bench or up")
            rc = 2
    except KeyboardInterrupt:
        rc = 0
    except Exception as exc:
        log(f"failed: {exc}")
        for i in range(cluster.n):
            log(f"r{i} log tail:\n{cluster.tail(f'r{i}.log')}")
    finally:
        cluster.stop()
        if os.environ.get("WHOSTHAT_CLUSTER_KEEP") != "1":
            shutil.rmtree(cluster.dir, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
