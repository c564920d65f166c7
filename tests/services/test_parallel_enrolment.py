"""Parallel enrolments on SQLite and PostgreSQL: every photo becomes exactly one template and the
gallery sees them all, and the consent they carry is recorded once; one employee code taken by parallel requests is taken once, the rest get a
conflict (never a 500, never a duplicate)."""

from __future__ import annotations

import threading

from whosthat.services import consent, people, recognition, templates
from whosthat.services.common import Context
from whosthat.services.errors import ConflictError
from whosthat.vision.image import encode_jpeg

PARALLEL = 6


def _parallel(fn) -> list:
    barrier = threading.Barrier(PARALLEL)
    results: list = []

    def one(i):
        barrier.wait()
        try:
            results.append(fn(i))
        except Exception as exc:  # noqa: BLE001 - collected and asserted on
            results.append(exc)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(PARALLEL)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results


def test_parallel_enrolments_each_store_one_template(runtime, astronaut):
    photo = encode_jpeg(astronaut)
    with Context.open(runtime) as ctx:
        person = people.create_person(ctx, employee_code="PAR-1", name="Eileen", surname="Parallel")
    runtime.pipeline().embed_single(astronaut)  # load the models once, outside the race

    def enrol(_):
        with Context.open(runtime) as ctx:
            return templates.enroll_template(
                ctx, person.id, photo, consent_version=consent.CURRENT_VERSION
            ).id

    ids = _parallel(enrol)
    assert all(isinstance(i, int) for i in ids), ids
    assert len(set(ids)) == PARALLEL
    with Context.open(runtime) as ctx:
        assert len(consent.history(ctx, person.id)) == 1  # decided under the person's lock
        _, rows = templates.person_with_templates(ctx, person.id)
        assert len(rows) == PARALLEL
        assert recognition.identify(ctx, photo).person.id == person.id


def test_one_employee_code_is_taken_once(runtime):
    def create(i):
        with Context.open(runtime) as ctx:
            return people.create_person(ctx, employee_code="SAME-1", name="N", surname=str(i)).id

    results = _parallel(create)
    made = [r for r in results if isinstance(r, int)]
    assert len(made) == 1, results
    assert all(isinstance(r, ConflictError) for r in results if not isinstance(r, int)), results
