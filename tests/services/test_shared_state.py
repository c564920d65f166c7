"""Lockouts, rate limits and liveness sessions shared by two replicas of one database (SQLite with
shared_state=database here, PostgreSQL too when configured; the cluster test runs real processes)."""

from __future__ import annotations

import hashlib
import threading
from types import SimpleNamespace

import pytest

from tests.store.backends import backend_params, make_settings
from whosthat.services.limits import FailureLimiter, SharedFailureLimiter, SharedRateLimiter
from whosthat.services.runtime import Runtime

FAKE_PIPELINE = SimpleNamespace(embedder=SimpleNamespace(name="e", threshold=0.5), model="e")


@pytest.fixture(params=backend_params())
def replicas(request, tmp_path):
    settings = make_settings(request.param, tmp_path, shared_state="database")
    a, b = Runtime.from_settings(settings), Runtime.from_settings(settings)
    for rt in (a, b):
        rt._pipelines[None] = FAKE_PIPELINE
    yield a, b
    a.close()
    b.close()


def test_sqlite_keeps_the_single_process_default(tmp_path):
    rt = Runtime.from_settings(make_settings("sqlite", tmp_path))
    assert not rt.shared_state and isinstance(rt.face_limiter, FailureLimiter)
    rt.close()


def test_failures_spread_over_two_replicas_lock_out_on_both(replicas):
    a, b = replicas
    assert isinstance(a.face_limiter, SharedFailureLimiter)
    key = "kiosk:lobby"
    states = [(a if i % 2 else b).face_limiter.failure(key) for i in range(5)]
    assert [s.locked for s in states] == [False] * 4 + [True]
    for rt in (a, b):
        state = rt.face_limiter.check(key)
        assert state.locked and 0 < state.retry_after_s <= a.settings.face_login_lockout_s
    assert not a.face_limiter.check("kiosk:other").locked
    # A success on one replica clears the count everywhere (once not locked).
    b.face_limiter.failure("kiosk:hall")
    a.face_limiter.success("kiosk:hall")
    assert b.face_limiter.check("kiosk:hall").failures == 0


def test_a_lockout_ends_for_every_replica_and_counting_starts_again(replicas):
    a, b = replicas
    now = [1000.0]
    la = SharedFailureLimiter(a.database, "t", 3, lockout_s=10, clock=lambda: now[0])
    lb = SharedFailureLimiter(b.database, "t", 3, lockout_s=10, clock=lambda: now[0])
    for lim in (la, lb, la):
        lim.failure("k")
    assert lb.check("k").locked
    now[0] += 11
    assert not lb.check("k").locked and lb.check("k").failures == 0
    assert not la.failure("k").locked and lb.check("k").failures == 1


def test_concurrent_failures_on_two_replicas_are_all_counted(replicas):
    a, b = replicas
    la = SharedFailureLimiter(a.database, "race", 1000, lockout_s=60)
    lb = SharedFailureLimiter(b.database, "race", 1000, lockout_s=60)
    threads = [
        threading.Thread(target=lambda lim=lim: [lim.failure("k") for _ in range(10)]) for lim in (la, lb)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert la.check("k").failures == 20


def test_the_session_rate_limit_counts_both_replicas(replicas):
    a, b = replicas
    ra = SharedRateLimiter(a.database, "r", limit=3, window_s=60)
    rb = SharedRateLimiter(b.database, "r", limit=3, window_s=60)
    assert [lim.hit("addr").locked for lim in (ra, rb, ra, rb)] == [False, False, False, True]
    assert rb.hit("addr").retry_after_s > 0
    assert isinstance(a.session_limiter, SharedRateLimiter)


def test_a_liveness_session_opens_on_another_replica_once(replicas):
    a, b = replicas
    store_a, store_b = a.challenges(), b.challenges()
    session = store_a.create("lobby", ["blink", "turn_left"], timeout_s=30, pad_mode="off")
    there = store_b.get(session.id)
    assert there is not None and there is not session
    assert (there.kiosk, there.steps, there.expires_at) == (
        "lobby",
        ["blink", "turn_left"],
        session.expires_at,
    )
    assert there.check_nonce(session.nonce) and not there.check_nonce(session.nonce + "x")
    assert not there.check_nonce("") and there.nonce is None
    assert there.nonce_hash == hashlib.sha256(session.nonce.encode()).hexdigest()
    # The first WebSocket to claim it wins, on whichever replica; the other is refused.
    assert store_b.claim(session.id)
    assert not store_a.claim(session.id)
    assert not store_b.claim(session.id)
    # Once claimed, a replica that has not rebuilt it yet does not hand it out either.
    assert a.challenges().get("unknown-id") is None
    fresh = type(store_b)(b.database, lambda: {})
    assert fresh.get(session.id) is None
