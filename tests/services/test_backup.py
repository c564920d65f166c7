"""whosthat backup / restore: an encrypted, consistent snapshot taken while the server runs, restored
into a fresh home, where the enrolled person is identified again."""

from __future__ import annotations

import stat
import threading

import pytest

from tests.store.backends import make_settings
from whosthat.errors import BadInputError
from whosthat.services import attendance, backup, consent, people, recognition, templates
from whosthat.services.common import Context
from whosthat.services.errors import ConflictError
from whosthat.services.runtime import Runtime
from whosthat.vision.image import encode_jpeg

PASSPHRASE = "correct horse battery staple"


def test_backup_while_serving_then_restore_into_a_fresh_home_and_identify(runtime, tmp_path, astronaut):
    photo = encode_jpeg(astronaut)
    with Context.open(runtime) as ctx:
        ada = people.create_person(ctx, employee_code="B-1", name="Eileen", surname="Collins")
        templates.enroll_template(ctx, ada.id, photo, consent_version=consent.CURRENT_VERSION)
        attendance.clock(ctx, ada.id, source="api")
    # Writers keep going while the snapshot is taken.
    stop = threading.Event()

    def write():
        i = 0
        while not stop.is_set():
            with Context.open(runtime) as ctx:
                people.create_person(ctx, employee_code=f"W-{i}", name="Writer", surname=str(i))
            i += 1

    writer = threading.Thread(target=write)
    writer.start()
    try:
        info = backup.backup(runtime.settings, tmp_path / "site.backup", PASSPHRASE)
    finally:
        stop.set()
        writer.join(10)
    assert stat.S_IMODE(info.path.stat().st_mode) == 0o600
    raw = info.path.read_bytes()
    assert b"Collins" not in raw and b"B-1" not in raw  # encrypted (and compressed)
    with pytest.raises(BadInputError, match="wrong passphrase"):
        backup.read_backup(info.path, "not the passphrase at all")

    fresh = make_settings("sqlite", tmp_path / "fresh")
    restored = backup.restore(fresh, info.path, PASSPHRASE)
    assert restored.rows == info.rows
    with pytest.raises(ConflictError):  # never over existing data
        backup.restore(fresh, info.path, PASSPHRASE)
    rt = Runtime.from_settings(fresh)
    try:
        with Context.open(rt) as ctx:
            result = recognition.identify(ctx, photo)
            assert result.person is not None and result.person.employee_code == "B-1"
            assert attendance.list_events(ctx, person_id=result.person.id).total == 1
            # ids go on after the restored ones
            later = people.create_person(ctx, employee_code="AFTER", name="A", surname="After")
            assert later.id > max(
                p.id for p in people.list_people(ctx, None, page=1, size=200).items if p.id != later.id
            )
    finally:
        rt.close()


def test_a_changed_backup_is_refused(tmp_path, runtime):
    info = backup.backup(runtime.settings, tmp_path / "b.backup", PASSPHRASE)
    data = bytearray(info.path.read_bytes())
    data[-5] ^= 1
    (tmp_path / "bad.backup").write_bytes(bytes(data))
    with pytest.raises(BadInputError, match="changed"):
        backup.restore(make_settings("sqlite", tmp_path / "x"), tmp_path / "bad.backup", PASSPHRASE)
    with pytest.raises(BadInputError, match="not a whosthat backup"):
        backup.read_backup(_text(tmp_path), PASSPHRASE)
    with pytest.raises(BadInputError, match="at least"):
        backup.backup(runtime.settings, tmp_path / "c.backup", "short")


def _text(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    return path
