"""Worked time from in -> out intervals, the one pairing that the API, the CSV and the pages all show."""

from __future__ import annotations

from datetime import UTC, date, datetime

from whosthat.services import attendance, people
from whosthat.store import repositories as repo


def at(hh, mm=0):
    return datetime(2026, 3, 2, hh, mm, tzinfo=UTC)


def test_intervals_pair_each_in_with_the_next_out_and_flag_the_rest(context):
    ctx = context()
    ada = people.create_person(ctx, employee_code="E1", name="Ada", surname="Lovelace")
    # Recorded as they came (clock() would alternate them): out 07:00 without an in, in 08:00, a second
    # in 08:30 while in, out 12:00, in 13:00 and no clock-out.
    for kind, t in (("out", at(7)), ("in", at(8)), ("in", at(8, 30)), ("out", at(12)), ("in", at(13))):
        repo.attendance.add(ctx.db, person_id=ada.id, kind=kind, at=t, source="manual")
    ctx.commit()
    (day,) = attendance.day_reports(
        ctx, person_id=ada.id, date_from=date(2026, 3, 2), date_to=date(2026, 3, 2)
    )
    assert [(i.start, i.end) for i in day.intervals] == [(at(8), at(12)), (at(13), None)]
    assert day.worked_hours == 4.0 and day.first_in == at(8) and day.last_out == at(12)
    assert day.missing_clock_out and day.unmatched_out
