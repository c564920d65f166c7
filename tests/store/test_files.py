"""What a deletion leaves on disk and what ids come back: a deleted person is gone from every file
(secure_delete, the WAL checkpointed after the deletion and at shutdown), the data files are 0600, and
row ids are never reused (AUTOINCREMENT on SQLite; sequences on PostgreSQL).

Before: the WAL still held the deleted person's name, code and ciphertexts after a clean shutdown, the
files were 0644, and deleting the newest person handed their id to the next one."""

from __future__ import annotations

import sqlite3
import stat

import numpy as np
import pytest

from tests.store.backends import backend_params, make_settings
from whosthat.services import attendance, people
from whosthat.services.common import Context
from whosthat.services.runtime import Runtime
from whosthat.store import repositories as repo
from whosthat.store.db import alembic_config, make_engine, migrate
from whosthat.store.models import Base, integer_id_tables

MARKER = "Zebulon Quixotic-Marker"


@pytest.fixture(params=backend_params())
def runtime(request, tmp_path):
    rt = Runtime.from_settings(make_settings(request.param, tmp_path))
    yield rt
    rt.close()


def _files(home):
    return sorted(p for p in home.rglob("*") if p.is_file() and p.name.startswith("whosthat.sqlite3"))


def _enrol(ctx, code: str, name: str):
    person = people.create_person(ctx, employee_code=code, name=name, surname="Marker")
    rng = np.random.default_rng(3)
    emb = rng.normal(size=128).astype(np.float32)
    repo.templates.add(
        ctx.db,
        ctx.runtime.cipher,
        person.id,
        embedder="test",
        embedding=emb / np.linalg.norm(emb),
        chip=rng.integers(0, 255, (150, 150, 3), np.uint8),
        quality=1.0,
        source="upload",
    )
    ctx.commit()
    attendance.clock(ctx, person.id, source="api")
    return person


def test_ids_are_never_reused(runtime):
    with Context.open(runtime) as ctx:
        a = people.create_person(ctx, employee_code="ID-1", name="A", surname="One")
        b = people.create_person(ctx, employee_code="ID-2", name="B", surname="Two")
        people.delete_person(ctx, b.id)
        c = people.create_person(ctx, employee_code="ID-3", name="C", surname="Three")
    assert a.id < b.id < c.id


def test_a_deleted_person_is_gone_from_every_file_and_the_files_are_private(tmp_path):
    rt = Runtime.from_settings(make_settings("sqlite", tmp_path))
    try:
        with Context.open(rt) as ctx:
            keep = _enrol(ctx, "KEEP-1", "Kept")
            gone = _enrol(ctx, "GONE-XQ-77", MARKER)
            code = gone.employee_code
            with rt.database.engine.connect() as conn:  # the ciphertexts that must disappear
                blobs = [
                    bytes(v)
                    for row in conn.exec_driver_sql(
                        "SELECT embedding, chip FROM face_templates WHERE person_id = ?", (gone.id,)
                    )
                    for v in row
                    if v
                ]
            assert blobs
            files = _files(tmp_path)
            assert any(MARKER.encode() in p.read_bytes() for p in files)  # the check can see it
            people.delete_person(ctx, gone.id)
            with rt.database.engine.connect() as conn:  # the audit rows that name the deleted person
                labels = [
                    label
                    for (label,) in conn.exec_driver_sql(
                        "SELECT target_label FROM audit_log WHERE target = ?", (f"person:{gone.id}",)
                    )
                ]
        # created, clocked in, deleted: each row names the person by the code only
        assert labels == [f"{code} (deleted)"] * 3
        for p in _files(tmp_path):  # while the server still runs: after the deletion's checkpoint
            data = p.read_bytes()
            # The name and the template/chip ciphertexts are gone. (The audit log keeps the employee
            # code on purpose: in the details of person.create / person.delete and in each of the
            # person's rows' labels: who was deleted, by whom.)
            assert MARKER.encode() not in data, p.name
            assert data.count(code.encode()) <= 2 + len(labels), p.name
            assert not any(b[16:48] in data for b in blobs), p.name
            assert stat.S_IMODE(p.stat().st_mode) == 0o600, (p.name, oct(p.stat().st_mode))
    finally:
        rt.close()
    wal = tmp_path / "whosthat.sqlite3-wal"
    assert not wal.exists() or wal.stat().st_size == 0  # checkpointed at shutdown
    for p in _files(tmp_path):
        assert MARKER.encode() not in p.read_bytes(), p.name
    with Context.open(Runtime.from_settings(make_settings("sqlite", tmp_path))) as ctx:
        assert people.get_person(ctx, keep.id).employee_code == "KEEP-1"


def test_every_integer_id_table_has_autoincrement_on_sqlite(tmp_path):
    rt = Runtime.from_settings(make_settings("sqlite", tmp_path))
    try:
        with rt.database.engine.connect() as conn:
            sql = dict(conn.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'table'").all())
    finally:
        rt.close()
    missing = [t for t in integer_id_tables(Base.metadata) if "AUTOINCREMENT" not in sql[t].upper()]
    assert not missing, (
        f"tables without AUTOINCREMENT on SQLite: {missing}; create them with sqlite_autoincrement=True "
        "in their migration (ids must never be reused, see store/models.py)"
    )


def test_the_autoincrement_rebuild_keeps_every_row_and_reference(tmp_path):
    """Upgrading a database with data: the rebuild must not cascade deletes or lose rows."""
    from alembic import command

    path = tmp_path / "old.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0006")
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO people (id, employee_code, name, surname, active, created_at, updated_at) "
            "VALUES (7, 'OLD-7', 'Old', 'Timer', 1, '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
        )
        conn.exec_driver_sql(
            "INSERT INTO attendance_events (person_id, kind, at, source) VALUES (7, 'in', '2026-01-01 09:00:00', 'api')"
        )
    migrate(engine)
    with engine.connect() as conn:
        assert (
            conn.exec_driver_sql("SELECT count(*) FROM attendance_events WHERE person_id = 7").scalar() == 1
        )
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM people WHERE id = 7")
        assert conn.exec_driver_sql("SELECT count(*) FROM attendance_events").scalar() == 0  # cascade works
        conn.exec_driver_sql(
            "INSERT INTO people (employee_code, name, surname, active, created_at, updated_at) "
            "VALUES ('NEW-1', 'New', 'Comer', 1, '2026-01-02 00:00:00', '2026-01-02 00:00:00')"
        )
        assert conn.exec_driver_sql("SELECT max(id) FROM people").scalar() == 8
    engine.dispose()
    assert sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
