"""The face-work pool: a flood of uploads queues up to the limit, then gets 503 with Retry-After
instead of one decoder per request thread (memory and CPU grew with the flood before)."""

from __future__ import annotations

import threading
import time

import pytest

from tests.web.conftest import jpeg, upload
from whosthat.services.errors import BusyError
from whosthat.services.limits import WorkPool


def test_the_pool_runs_queues_and_refuses():
    pool = WorkPool(workers=1, queue=1, wait_s=5.0, retry_after_s=3)
    release = threading.Event()
    entered = threading.Event()

    def hold():
        with pool.slot():
            entered.set()
            release.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    entered.wait(5)
    done = []

    def wait_then_run():
        with pool.slot():
            done.append(time.monotonic())

    waiter = threading.Thread(target=wait_then_run)
    waiter.start()
    deadline = time.monotonic() + 5
    while pool.admitted < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert pool.admitted == 2 and not done  # one runs, one waits
    with pytest.raises(BusyError) as exc:
        with pool.slot():
            pass
    assert exc.value.retry_after_s == 3 and exc.value.http_status == 503
    release.set()
    holder.join(5)
    waiter.join(5)
    assert done and pool.admitted == 0  # the queued one ran once the worker was free


def test_a_flooded_server_answers_503_with_retry_after_and_recovers(web, astronaut):
    pool = web.runtime.face_pool
    saved = (pool.workers, pool.queue)
    web.runtime.face_pool = WorkPool(workers=1, queue=0, wait_s=0.1, retry_after_s=2)
    try:
        with web.runtime.face_pool.slot():  # all workers busy, no room to wait
            for path in ("/api/v1/identify", "/api/v1/quality"):
                r = web.client.post(path, files=upload(jpeg(astronaut)), headers=web.headers)
                assert r.status_code == 503, (path, r.text)
                assert r.headers["Retry-After"] == "2" and r.json()["error"] == "busy"
        r = web.client.post("/api/v1/quality", files=upload(jpeg(astronaut)), headers=web.headers)
        assert r.status_code == 200, r.text
    finally:
        web.runtime.face_pool = WorkPool(saved[0], saved[1], 30.0)


def test_the_server_limits_malloc_arenas_on_linux():
    import sys

    from whosthat.web.app import limit_malloc_arenas

    assert limit_malloc_arenas(0) is False
    if sys.platform.startswith("linux"):
        assert limit_malloc_arenas(2) is True
