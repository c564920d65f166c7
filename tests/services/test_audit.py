"""The audit log names each target as it was at the time of the action, forgets a deleted person's name
(right to erasure: the rows keep only the employee code) and filters by actor, action, target and day."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from whosthat.services import audit, corrections, kiosks, people, pin_login, schedules
from whosthat.services.common import SYSTEM
from whosthat.services.errors import ValidationError


def _rows(ctx, **filters):
    return audit.list_entries(ctx, size=100, **filters).items


def _labels(ctx, target):
    return {e.action: e.target_label for e in _rows(ctx) if e.target == target}


def test_a_row_keeps_the_name_of_its_target_at_the_time_of_the_action(context):
    ctx = context()
    ada = people.create_person(ctx, employee_code="E042", name="Ada", surname="Lovelace")
    people.update_person(ctx, ada.id, surname="King")
    kiosk, _ = kiosks.create_kiosk(ctx, name="Lobby")
    group = schedules.create_group(ctx, "Night shift")
    labels = _labels(ctx, f"person:{ada.id}")
    # created as Ada Lovelace; the rename is recorded under the new name; the old row is not rewritten
    assert labels == {"person.create": "Ada Lovelace (E042)", "person.update": "Ada King (E042)"}
    assert _labels(ctx, f"kiosk:{kiosk.id}") == {"kiosk.create": "Lobby"}
    assert _labels(ctx, f"group:{group.id}") == {"group.create": "Night shift"}


def test_a_pin_row_names_the_person_by_its_label_never_in_the_detail(context):
    ctx = context()
    ada = people.create_person(ctx, employee_code="E042", name="Ada", surname="Lovelace")
    pin_login.set_pin(ctx, ada.id, "480151", actor=SYSTEM)
    (row,) = _rows(ctx, action="person.pin_set")
    assert row.target_label == "Ada Lovelace (E042)"
    assert "Ada" not in json.dumps(row.detail or {}) and "Lovelace" not in json.dumps(row.detail or {})


def test_deleting_a_person_leaves_only_their_code_in_their_audit_rows(context):
    ctx = context()
    ada = people.create_person(ctx, employee_code="E042", name="Ada", surname="Lovelace")
    kept = people.create_person(ctx, employee_code="E043", name="Grace", surname="Hopper")
    pin_login.set_pin(ctx, ada.id, "480151", actor=SYSTEM)
    corrections.add_event(
        ctx,
        ada.id,
        kind="in",
        at=datetime.now(UTC) - timedelta(hours=2),
        reason="Ada Lovelace forgot to clock in",
    )
    people.delete_person(ctx, ada.id)
    mine = [e for e in _rows(ctx) if e.target == f"person:{ada.id}"]
    assert {e.action for e in mine} == {
        "person.create",
        "person.pin_set",
        "attendance.correct.add",
        "person.delete",
    }
    assert {e.target_label for e in mine} == {"E042 (deleted)"}
    stored = json.dumps([e.detail for e in mine])
    assert "Ada" not in stored and "Lovelace" not in stored
    (fixed,) = [e for e in mine if e.action == "attendance.correct.add"]
    assert fixed.detail["reason"] == "… forgot to clock in"  # the rest of what was typed stays
    assert _labels(ctx, f"person:{kept.id}") == {"person.create": "Grace Hopper (E043)"}  # others untouched


def test_the_log_filters_by_target_name_or_code_actor_and_action(context):
    ctx = context()
    ada = people.create_person(ctx, employee_code="E042", name="Ada", surname="Lovelace")
    people.create_person(ctx, employee_code="E043", name="Grace", surname="Hopper")
    kiosks.create_kiosk(ctx, name="Lobby")
    assert [e.target for e in _rows(ctx, target="lovelace")] == [f"person:{ada.id}"]  # any case
    assert [e.target for e in _rows(ctx, target=f"person:{ada.id}")] == [f"person:{ada.id}"]
    assert [e.target for e in _rows(ctx, target="E04%")] == []  # % is no wildcard
    assert {e.action for e in _rows(ctx, actor_label="system")} == {"person.create", "kiosk.create"}
    assert len(_rows(ctx, action="person.create", target="Hopper")) == 1
    actors, actions = audit.filter_choices(ctx)
    assert actors == ["system:cli"] and actions == ["kiosk.create", "person.create"]
    today = datetime.now(UTC).date()
    with pytest.raises(ValidationError):
        audit.list_entries(ctx, date_from=today, date_to=today - timedelta(days=1))
