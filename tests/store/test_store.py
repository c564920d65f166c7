"""Store: migrations, encryption at rest, cascading deletes, the gallery change counter."""

from __future__ import annotations

import base64
import json
import os
import stat

import numpy as np
import pytest
from sqlalchemy import func, inspect, select, text

from tests.store.backends import backend_params, make_settings
from whosthat.store import repositories as repo
from whosthat.store.crypto import DecryptionError, SecretKeyError, TemplateCipher, load_or_create_key
from whosthat.store.db import alembic_config, migrate, open_database
from whosthat.store.models import AttendanceEvent, Base, FaceTemplate, Person


@pytest.fixture(params=backend_params())
def database(request, tmp_path):
    settings = make_settings(request.param, tmp_path)
    db = open_database(settings)
    yield db
    db.dispose()


def test_migrations_create_the_models_schema_and_are_idempotent(database):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    migrate(database.engine)  # second run: nothing to do, no error
    with database.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": False})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == [], f"models and migrations disagree: {diff}"
    with database.engine.connect() as conn:
        version = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar_one()
    from alembic.script import ScriptDirectory

    assert version == ScriptDirectory.from_config(alembic_config()).get_current_head()


@pytest.mark.parametrize("backend", backend_params())
def test_0008_keeps_the_match_distance_of_existing_events_and_downgrades(backend, tmp_path):
    """An attendance event stored before 0008 keeps its distance as match_distance (margin NULL); the
    downgrade gives the old column back."""
    from alembic import command

    from whosthat.store.db import make_engine

    engine = make_engine(make_settings(backend, tmp_path).resolved_database_url())
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0007")
        conn.exec_driver_sql(
            "INSERT INTO people (id, employee_code, name, surname, active, created_at, updated_at) "
            "VALUES (1, 'A', 'Ada', 'L', TRUE, '2026-12-01 08:00:00+00:00', '2026-12-01 08:00:00+00:00')"
        )
        conn.exec_driver_sql(
            "INSERT INTO attendance_events (person_id, kind, at, distance, source) "
            "VALUES (1, 'in', '2026-12-01 08:00:00+00:00', 0.4321, 'kiosk')"
        )
        # A row referencing the event (ON DELETE CASCADE) must survive: no copy-and-drop of the table.
        conn.exec_driver_sql(
            "INSERT INTO attendance_corrections (person_id, action, event_id, reason, by, at) "
            "VALUES (1, 'void', 1, 'test', 'admin:a', '2026-12-01 09:00:00+00:00')"
        )
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "head")
    with engine.connect() as conn:
        row = conn.exec_driver_sql("SELECT match_distance, match_margin FROM attendance_events").one()
    assert row == (0.4321, None)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM attendance_corrections").scalar_one() == 1
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0007")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT distance FROM attendance_events").scalar_one() == 0.4321
    engine.dispose()


def test_key_file_is_created_with_mode_0600_and_reused(tmp_path):
    key = load_or_create_key(None, tmp_path)
    path = tmp_path / "secret.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_key(None, tmp_path) == key and len(key) == 32


def test_secret_key_setting_wins_and_bad_keys_are_rejected(tmp_path):
    raw = os.urandom(32)
    assert load_or_create_key(base64.b64encode(raw).decode(), tmp_path) == raw
    assert not (tmp_path / "secret.key").exists()
    with pytest.raises(SecretKeyError):
        load_or_create_key(base64.b64encode(b"short").decode(), tmp_path)
    with pytest.raises(SecretKeyError):
        load_or_create_key("not base64 !!!", tmp_path)


def test_embedding_and_chip_round_trip_and_are_bound_to_the_person():
    cipher = TemplateCipher(os.urandom(32))
    vec = np.random.default_rng(0).normal(size=128).astype(np.float32)
    blob = cipher.encrypt_embedding(vec, 7, "dlib-resnet-v1")
    assert vec.tobytes() not in blob  # really encrypted
    np.testing.assert_array_equal(cipher.decrypt_embedding(blob, 7, "dlib-resnet-v1"), vec)
    with pytest.raises(DecryptionError):  # a row copied onto another person does not decrypt
        cipher.decrypt_embedding(blob, 8, "dlib-resnet-v1")
    with pytest.raises(DecryptionError):  # nor under another embedder's name
        cipher.decrypt_embedding(blob, 7, "other")
    with pytest.raises(DecryptionError):  # nor with another key
        TemplateCipher(os.urandom(32)).decrypt_embedding(blob, 7, "dlib-resnet-v1")
    tampered = bytearray(blob)
    tampered[-1] ^= 1
    with pytest.raises(DecryptionError):
        cipher.decrypt_embedding(bytes(tampered), 7, "dlib-resnet-v1")
    chip = np.random.default_rng(1).integers(0, 255, (150, 150, 3), dtype=np.uint8)
    np.testing.assert_array_equal(cipher.decrypt_chip(cipher.encrypt_chip(chip, 7), 7), chip)


def test_deleting_a_person_in_the_database_cascades_to_templates_and_events(database):
    cipher = TemplateCipher(os.urandom(32))
    with database.session() as db:
        person = Person(employee_code="E1", name="Ada", surname="Lovelace")
        db.add(person)
        db.flush()
        v0 = repo.counters.gallery_version(db)
        repo.templates.add(
            db, cipher, person.id, embedder="m", embedding=np.ones(4), chip=None, quality=0.9, source="test"
        )
        assert repo.counters.gallery_version(db) == v0 + 1
        db.add(AttendanceEvent(person_id=person.id, kind="in"))
        db.commit()
        # A raw DELETE (no ORM cascade): the foreign keys themselves must remove the rows.
        db.execute(Person.__table__.delete().where(Person.id == person.id))
        db.commit()
        assert db.execute(select(func.count()).select_from(FaceTemplate)).scalar_one() == 0
        assert db.execute(select(func.count()).select_from(AttendanceEvent)).scalar_one() == 0


def test_people_search_and_pagination(database):
    with database.session() as db:
        for i in range(25):
            db.add(Person(employee_code=f"E{i:03d}", name=f"Name{i}", surname=f"Surname{i:02d}"))
        db.add(Person(employee_code="X-1", name="Ada", surname="Lovelace"))
        db.commit()
        page, total = repo.people.search(db, None, page=2, size=10)
        assert total == 26 and len(page) == 10
        found, total = repo.people.search(db, "ada love", page=1, size=10)
        assert total == 1 and found[0].employee_code == "X-1"
        found, total = repo.people.search(db, "x-1")
        assert [p.surname for p in found] == ["Lovelace"]
        assert inspect(database.engine).has_table("people")


@pytest.mark.parametrize("backend", backend_params())
def test_0015_names_the_targets_that_still_exist_and_downgrades(backend, tmp_path):
    """Audit rows written before 0015 get their target's name as it is at the upgrade; a person deleted
    before it, a period and a row without target get no label; a PIN row's copy of the name is removed; the downgrade drops the column."""
    from alembic import command

    from whosthat.store.db import make_engine

    at = "'2026-12-01 08:00:00+00:00'"
    engine = make_engine(make_settings(backend, tmp_path).resolved_database_url())
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0014")
        conn.exec_driver_sql(
            "INSERT INTO people (id, employee_code, name, surname, active, created_at, updated_at) "
            f"VALUES (1, 'E042', 'Ada', 'Lovelace', TRUE, {at}, {at})"
        )
        conn.exec_driver_sql(
            "INSERT INTO kiosks (id, name, site, timezone, created_at, created_by) "
            f"VALUES (3, 'Lobby', '', 'UTC', {at}, 'admin:alice')"
        )
        conn.exec_driver_sql(
            "INSERT INTO api_keys (id, name, prefix, key_hash, scopes, created_at) "
            f"VALUES (5, 'ci', 'wt_abc', 'h', 'audit:read', {at})"
        )
        for target in ("person:1", "person:9", "kiosk:3", "apikey:5", "admin:alice", "period:2", None):
            conn.execute(
                text("INSERT INTO audit_log (at, actor, action, target) VALUES (:at, 'system:cli', 'x', :t)"),
                {"at": "2026-12-01 08:00:00+00:00", "t": target},
            )
        # a PIN row of a person deleted before 0015 still held the name
        conn.execute(
            text(
                "INSERT INTO audit_log (at, actor, action, target, detail) VALUES (:at, 'kiosk:x', 'pin_login', :t, :d)"
            ),
            {
                "at": "2026-12-01 08:00:00+00:00",
                "t": "person:9",
                "d": '{"name": "Zebulon Gone", "employee_code": "E077", "kind": "in", "recorded": true}',
            },
        )
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "head")
    with engine.connect() as conn:
        labels = dict(conn.exec_driver_sql("SELECT id, target_label FROM audit_log ORDER BY id").all())
    assert list(labels.values()) == ["Ada Lovelace (E042)", None, "Lobby", "ci", "alice", None, None, None]
    with engine.connect() as conn:
        detail = conn.exec_driver_sql("SELECT detail FROM audit_log WHERE action = 'pin_login'").scalar_one()
    detail = json.loads(detail) if isinstance(detail, str) else detail
    assert detail == {"kind": "in", "recorded": True}  # the name is gone
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0014")
    with engine.connect() as conn:
        assert "target_label" not in {c["name"] for c in inspect(conn).get_columns("audit_log")}
    engine.dispose()
