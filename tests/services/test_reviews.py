"""The review queue: a weak kiosk match or a liveness warning is queued with the attempt's chip
encrypted; confirming keeps the event, voiding it is a correction; the chip is deleted either way."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from whosthat.services import attendance, corrections, people, reviews
from whosthat.services.errors import ConflictError, ValidationError
from whosthat.store import repositories as repo

AT = datetime(2026, 3, 2, 8, tzinfo=UTC)


def _event(ctx, person_id, distance, margin=None, at=AT):
    return attendance.clock(
        ctx, person_id, kiosk="lobby", at=at, match_distance=distance, match_margin=margin
    )


@pytest.fixture
def ada(context):
    ctx = context()
    return ctx, people.create_person(ctx, employee_code="R1", name="Ada", surname="Lovelace")


def test_a_clear_match_is_not_queued_and_a_weak_one_is_with_its_chip_encrypted(ada):
    ctx, person = ada
    threshold, _ = ctx.runtime.operating_point()
    chip = np.random.default_rng(1).integers(0, 255, (150, 150, 3), dtype=np.uint8)
    clear = _event(ctx, person.id, 0.3 * threshold, margin=10.0)
    assert reviews.flag_if_needed(ctx, clear, chip, {"passed": True}) is None
    weak = _event(ctx, person.id, 0.95 * threshold, margin=10.0, at=AT.replace(hour=12))
    item = reviews.flag_if_needed(ctx, weak, chip, {"passed": True, "pad_flag": True})
    assert item.reasons == ["weak_match", "liveness_warning"]
    assert chip.tobytes() not in item.chip  # stored encrypted
    assert np.array_equal(reviews.chip(ctx, item.id), chip)
    assert [i.id for i in reviews.list_items(ctx).items] == [item.id]


def test_voiding_a_queued_event_is_a_correction_and_deletes_the_chip(ada):
    ctx, person = ada
    threshold, _ = ctx.runtime.operating_point()
    chip = np.zeros((150, 150, 3), np.uint8)
    event = _event(ctx, person.id, 0.95 * threshold)
    item = reviews.flag_if_needed(ctx, event, chip, None)
    with pytest.raises(ValidationError):
        reviews.decide(ctx, item.id, confirm=False)  # voiding needs a note
    reviews.decide(ctx, item.id, confirm=False, note="not Ada on the picture")
    assert repo.reviews.get(ctx.db, item.id).chip is None and reviews.chip(ctx, item.id) is None
    (row,) = corrections.corrections_in(ctx, since=None, until=None)
    assert (
        row.action == "void"
        and row.replaces.id == event.id
        and row.reason == "review: not Ada on the picture"
    )
    with pytest.raises(ConflictError):
        reviews.decide(ctx, item.id, confirm=True)


def test_confirming_keeps_the_event_and_deletes_the_chip(ada):
    ctx, person = ada
    threshold, _ = ctx.runtime.operating_point()
    event = _event(ctx, person.id, 0.95 * threshold)
    item = reviews.flag_if_needed(ctx, event, np.zeros((150, 150, 3), np.uint8), None)
    reviews.decide(ctx, item.id, confirm=True)
    assert repo.reviews.get(ctx.db, item.id).chip is None
    assert corrections.corrections_in(ctx, since=None, until=None) == []
    (day,) = attendance.day_reports(ctx, person_id=person.id)
    assert [e.id for e in day.events] == [event.id]
