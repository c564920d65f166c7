"""Parallel clock events for one person still alternate in/out (SQLite and PostgreSQL), with the
repeat window off (WHOSTHAT_CLOCK_REPEAT_S=0; with it on, one burst records one event:
tests/services/test_clock_repeat.py).

Before the per-person lock, 8 parallel clock() calls for one person all read "no event yet" and all
recorded "in" (SELECT ... FOR UPDATE does nothing on SQLite).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from tests.store.backends import backend_params, make_settings
from whosthat.services import attendance, people
from whosthat.services.common import Context
from whosthat.services.runtime import Runtime
from whosthat.store import repositories as repo

PARALLEL = 8
BURSTS = 3


def _burst(runtime, person_id: int) -> list[Exception]:
    barrier = threading.Barrier(PARALLEL)
    errors: list[Exception] = []

    def one() -> None:
        with Context.open(runtime, "192.0.2.9") as ctx:
            barrier.wait()
            try:
                attendance.clock(ctx, person_id, kiosk="race", source="api")
            except Exception as exc:  # noqa: BLE001 - collected and asserted on below
                errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(PARALLEL)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return errors


@pytest.fixture(params=backend_params())
def runtime(request, tmp_path):
    runtime = Runtime.from_settings(make_settings(request.param, tmp_path, clock_repeat_s=0))
    yield runtime
    runtime.close()


def test_parallel_clock_events_alternate(runtime, context):
    ctx = context()
    ada = people.create_person(ctx, employee_code="R1", name="Ada", surname="Race")
    for _ in range(BURSTS):
        assert _burst(runtime, ada.id) == []
    ctx.db.rollback()  # a fresh snapshot
    events = repo.attendance.oldest_first(ctx.db, person_id=ada.id, since=None, until=None)
    kinds = [e.kind for e in events]
    assert len(kinds) == PARALLEL * BURSTS
    days = {e.at.astimezone(ctx.tz).date() for e in events}
    if len(days) == 1:  # a burst across local midnight restarts with "in"; otherwise strict alternation
        assert kinds == ["in", "out"] * (PARALLEL * BURSTS // 2), kinds
    assert all(e.at <= datetime.now(UTC) for e in events)
