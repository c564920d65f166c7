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


def test_a_night_shift_across_midnight_is_one_interval_on_the_day_it_began(context):
    ctx = context()
    nia = people.create_person(ctx, employee_code="N1", name="Nia", surname="Night")
    # in 22:00 on 2 March, out 06:00 on 3 March: clock() decides "out" across midnight
    kinds = [
        attendance.clock(ctx, nia.id, at=t).kind
        for t in (at(22), datetime(2026, 3, 3, 6, tzinfo=UTC), datetime(2026, 3, 3, 22, tzinfo=UTC))
    ]
    assert kinds == ["in", "out", "in"]
    days = attendance.day_reports(ctx, person_id=nia.id, date_from=date(2026, 3, 2), date_to=date(2026, 3, 3))
    # 22:00-06:00 = 8 h, counted on the 2nd; the 3rd has the next night's open "in" (4 March not read)
    assert [(d.day, d.worked_hours, d.unmatched_out) for d in days] == [
        (date(2026, 3, 2), 8.0, False),
        (date(2026, 3, 3), 0.0, False),
    ]
    # asking for the 3rd alone still pairs the night of the 3rd with its out on the 4th
    attendance.clock(ctx, nia.id, at=datetime(2026, 3, 4, 5, 30, tzinfo=UTC))
    (third,) = attendance.day_reports(
        ctx, person_id=nia.id, date_from=date(2026, 3, 3), date_to=date(2026, 3, 3)
    )
    assert third.worked_hours == 7.5 and not third.missing_clock_out  # 22:00-05:30


def test_an_in_without_an_out_for_16_hours_is_a_missing_clock_out_not_a_long_shift(context):
    ctx = context()
    sam = people.create_person(ctx, employee_code="S1", name="Sam", surname="Sleepy")
    # in 08:00, the next event 17 h later: a new "in" (the first one is flagged, never stretched)
    kinds = [attendance.clock(ctx, sam.id, at=t).kind for t in (at(8), datetime(2026, 3, 3, 1, tzinfo=UTC))]
    assert kinds == ["in", "in"]
    (day, _) = attendance.day_reports(
        ctx, person_id=sam.id, date_from=date(2026, 3, 2), date_to=date(2026, 3, 3)
    )
    assert day.missing_clock_out and not day.still_in and day.worked_hours == 0.0


def test_the_open_shift_counts_as_running_time_and_the_csv_says_open_until_it_is_overdue(context):
    """Issue 15: "0:00 worked this week" next to "In since 19:04" is wrong; today's open shift is
    "open" in the CSV, and "missing clock-out" (yes) only once it is past MAX_SHIFT."""
    import csv
    import io
    from datetime import timedelta

    from whosthat.store.models import utcnow

    ctx = context()
    now = utcnow()
    ria = people.create_person(ctx, employee_code="R1", name="Ria", surname="Running")
    old = people.create_person(ctx, employee_code="O1", name="Ole", surname="Overdue")
    attendance.clock(ctx, ria.id, at=now - timedelta(hours=2))
    attendance.clock(ctx, old.id, at=now - attendance.MAX_SHIFT - timedelta(hours=1))

    week = attendance.week_summary(ctx, ria.id)
    assert week.open_since is not None
    week_start = datetime.combine(week.start, datetime.min.time(), tzinfo=ctx.tz)
    expected = (utcnow() - max(now - timedelta(hours=2), week_start)).total_seconds()
    assert abs(week.running_seconds - expected) < 60 and week.running_seconds > 0
    assert week.total_seconds == sum(d.worked_seconds for d in week.days) + week.running_seconds

    rows = {
        r["employee_code"]: r["missing_clock_out"]
        for r in csv.DictReader(
            io.StringIO(attendance.csv_report(ctx, date_from=now.date() - timedelta(days=2)))
        )
    }
    assert rows == {"R1": "open", "O1": "yes"}
