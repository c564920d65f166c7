"""Timesheets: schedules applied per work day, with every expected number computed by hand in the
comments; nights across midnight and across daylight-saving changes; holidays; locked periods."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from whosthat.services import attendance, corrections, people, periods, schedules, timesheets
from whosthat.services.errors import ConflictError, ValidationError

BERLIN = ZoneInfo("Europe/Berlin")
LATER = datetime(2027, 1, 1, tzinfo=UTC)  # "now" for the statuses: every day in these tests has ended
H = 3600


def local(y, m, d, hh, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=BERLIN).astimezone(UTC)


def office(ctx, name="office"):
    day = {"start": "09:00", "end": "17:30", "break_min": 30}
    return schedules.create_schedule(
        ctx,
        name=name,
        timezone="Europe/Berlin",
        week=[day] * 5 + [None, None],
        grace_late_min=5,
        grace_early_min=5,
    )


def clock_all(ctx, person_id, moments):
    return [attendance.clock(ctx, person_id, at=m).kind for m in moments]


def test_an_office_week_by_hand(context):
    # The site's zone is UTC; Ada's schedule is Berlin's (CET = UTC+1 in early March), so her days are too.
    ctx = context()
    ada = people.create_person(ctx, employee_code="T1", name="Ada", surname="Lovelace")
    schedules.assign(ctx, office(ctx).id, person_id=ada.id, valid_from=date(2026, 1, 1))
    schedules.add_holiday(ctx, date(2026, 3, 6), "Local holiday")
    kinds = clock_all(
        ctx,
        ada.id,
        [
            local(2026, 3, 2, 9),
            local(2026, 3, 2, 17, 30),  # Mon
            local(2026, 3, 3, 9, 10),
            local(2026, 3, 3, 12),
            local(2026, 3, 3, 12, 20),
            local(2026, 3, 3, 18, 30),
            local(2026, 3, 4, 9),
            local(2026, 3, 4, 12),  # Wed
            local(2026, 3, 7, 10),
            local(2026, 3, 7, 12),  # Sat (a day off)
        ],
    )
    assert kinds == ["in", "out"] * 5
    sheet = timesheets.build(ctx, date(2026, 3, 2), date(2026, 3, 8), now=LATER)
    (mine,) = sheet.people
    days = {d.day.day: d for d in mine.days}
    # Mon: 8.5 h gross, no gap, the 30 min break deducted: 8 h worked of 8 h expected
    assert (days[2].worked_s, days[2].expected_s, days[2].overtime_s, days[2].status) == (
        8 * H,
        8 * H,
        0,
        "present",
    )
    # Tue: 2 h 50 + 6 h 10 = 9 h gross; a 20 min gap, so 10 min of the break deducted: 8 h 50 worked,
    # 50 min overtime; in at 09:10 is past the 5 min grace: late by 10 min
    assert days[3].worked_s == 8 * H + 50 * 60 and days[3].overtime_s == 50 * 60
    assert days[3].late_s == 600 and days[3].break_s == 600 and days[3].flags == ["late", "overtime"]
    # Wed: 3 h gross - 30 min break = 2.5 h, 31% of 8 h: a half day (25% <= 31% < 75%); left 5.5 h early
    assert (days[4].worked_s, days[4].status, days[4].early_s) == (2.5 * H, "half_day", 5.5 * H)
    # Thu: scheduled, nothing: absent. Fri: the holiday, nothing expected. Sat: 2 h on a day off = overtime
    assert (days[5].status, days[5].expected_s) == ("absent", 8 * H)
    assert (days[6].status, days[6].expected_s, days[6].holiday) == ("holiday", 0, "Local holiday")
    assert (days[7].worked_s, days[7].overtime_s, days[7].status) == (2 * H, 2 * H, "present")
    assert days[8].status == "off"
    # Week: 8 + 8 h 50 + 2.5 + 2 = 21 h 20 min worked; 4 x 8 = 32 h expected; 50 min + 2 h = 2 h 50 overtime
    t = mine.weeks["2026-W10"]
    assert (t.worked_s, t.expected_s, t.overtime_s) == (21 * H + 20 * 60, 32 * H, 2 * H + 50 * 60)
    assert (t.present, t.half_days, t.absent, t.late, t.early_leave) == (3, 1, 1, 1, 1)
    assert sheet.total.worked_s == t.worked_s and sheet.months["2026-03"].worked_s == t.worked_s


def test_night_shifts_across_midnight_and_both_daylight_saving_changes(context):
    ctx = context()
    nia = people.create_person(ctx, employee_code="T2", name="Nia", surname="Night")
    night = {"start": "22:00", "end": "06:00", "break_min": 0}
    sched = schedules.create_schedule(ctx, name="nights", timezone="Europe/Berlin", week=[night] * 7)
    schedules.assign(ctx, sched.id, person_id=nia.id, valid_from=date(2026, 1, 1))
    # Spring: Sat 28 March 22:00 CET (21:00Z) to Sun 29 March 06:00 CEST (04:00Z): 7 h, the clock jumps
    # Autumn: Sat 24 Oct 22:00 CEST (20:00Z) to Sun 25 Oct 06:00 CET (05:00Z): 9 h, the clock goes back
    assert clock_all(ctx, nia.id, [local(2026, 3, 28, 22), local(2026, 3, 29, 6)]) == ["in", "out"]
    assert clock_all(ctx, nia.id, [local(2026, 10, 24, 22), local(2026, 10, 25, 6)]) == ["in", "out"]
    spring = timesheets.build(ctx, date(2026, 3, 28), date(2026, 3, 29), person_id=nia.id, now=LATER)
    sat, sun = spring.people[0].days
    assert (sat.worked_s, sat.expected_s, sat.overtime_s, sat.status) == (7 * H, 7 * H, 0, "present")
    assert sun.worked_s == 0 and sun.status == "absent"  # Sunday's own night (22:00) was not worked
    autumn = timesheets.build(ctx, date(2026, 10, 24), date(2026, 10, 24), person_id=nia.id, now=LATER)
    (sat,) = autumn.people[0].days
    assert (sat.worked_s, sat.expected_s, sat.overtime_s, sat.status) == (9 * H, 9 * H, 0, "present")
    assert not sat.missing_clock_out and not sat.unmatched_out


def test_a_group_schedule_applies_unless_the_person_has_their_own(context):
    ctx = context()
    a = people.create_person(ctx, employee_code="G1", name="Al", surname="A")
    b = people.create_person(ctx, employee_code="G2", name="Bo", surname="B")
    team = schedules.create_group(ctx, "warehouse")
    schedules.add_member(ctx, team.id, a.id)
    schedules.add_member(ctx, team.id, b.id)
    short = {"start": "08:00", "end": "12:00", "break_min": 0}
    schedules.assign(ctx, office(ctx).id, group_id=team.id, valid_from=date(2026, 1, 1))
    part = schedules.create_schedule(ctx, name="part-time", timezone="UTC", week=[short] * 5 + [None, None])
    schedules.assign(ctx, part.id, person_id=b.id, valid_from=date(2026, 3, 1))
    sheet = timesheets.build(ctx, date(2026, 2, 27), date(2026, 3, 2), now=LATER)
    exp = {s.person.employee_code: [d.expected_s for d in s.days] for s in sheet.people}
    # Fri 27 Feb, Sat, Sun, Mon 2 March: the office's 8 h on weekdays; Bo part-time (4 h) from 1 March
    assert exp == {"G1": [8 * H, 0, 0, 8 * H], "G2": [8 * H, 0, 0, 4 * H]}


def test_bad_schedules_are_refused(context):
    ctx = context()
    day = {"start": "09:00", "end": "17:00"}
    for kwargs in (
        dict(timezone="Mars/Olympus", week=[day] * 7),
        dict(timezone="UTC", week=[day] * 6),
        dict(timezone="UTC", week=[None] * 7),
        dict(timezone="UTC", week=[{"start": "9am", "end": "17:00"}] + [None] * 6),
        dict(timezone="UTC", week=[{"start": "09:00", "end": "09:00"}] + [None] * 6),
        dict(timezone="UTC", week=[{"start": "09:00", "end": "10:00", "break_min": 60}] + [None] * 6),
        dict(timezone="UTC", week=[day] * 7, grace_late_min=-1),
        dict(timezone="UTC", week=[day] * 7, absent_below_pct=80, half_day_below_pct=50),
    ):
        with pytest.raises(ValidationError):
            schedules.create_schedule(ctx, name="bad", **kwargs)
    assert schedules.list_schedules(ctx) == []


def test_a_locked_period_refuses_corrections_until_unlocked_with_a_reason(context):
    ctx = context()
    ada = people.create_person(ctx, employee_code="L1", name="Ada", surname="Lovelace")
    start = datetime(2026, 3, 2, 8, tzinfo=UTC)
    ev = attendance.clock(ctx, ada.id, at=start)
    lock = periods.lock_period(ctx, date(2026, 3, 1), date(2026, 3, 31), note="exported March")
    with pytest.raises(periods.PeriodLockedError):
        corrections.add_event(
            ctx, ada.id, kind="out", at=start + timedelta(hours=8), reason="forgot to clock out"
        )
    with pytest.raises(periods.PeriodLockedError):
        corrections.void_event(ctx, ev.id, reason="wrong match")
    with pytest.raises(ConflictError):
        periods.lock_period(ctx, date(2026, 3, 15), date(2026, 4, 2))  # overlaps
    with pytest.raises(ValidationError):
        periods.lock_period(ctx, date(2026, 4, 1), date(2999, 4, 30))  # not over yet
    assert timesheets.build(ctx, date(2026, 3, 1), date(2026, 3, 31), person_id=ada.id, now=LATER).locked
    with pytest.raises(ValidationError):
        periods.unlock_period(ctx, lock.id, reason="")
    periods.unlock_period(ctx, lock.id, reason="late correction from HR")
    corrections.add_event(
        ctx, ada.id, kind="out", at=start + timedelta(hours=8), reason="forgot to clock out"
    )
    (day,) = [d for d in timesheets.build(ctx, date(2026, 3, 2), date(2026, 3, 2), now=LATER).people[0].days]
    assert day.worked_s == 8 * H and day.corrections
