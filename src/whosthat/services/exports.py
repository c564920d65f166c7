"""Timesheet exports a payroll clerk opens directly: CSV (one table: days, totals, weeks or months)
and XLSX (all four as sheets, hours as numbers, dates as dates). The days table leaves out days off
with nothing on them (no shift, no events, no corrections); the totals count every day. Both read services/timesheets.py,
so they show the same numbers as the API's JSON and the admin page.

Cells that a spreadsheet would run as a formula (=, +, -, @ first) are written as text: in CSV with a
leading apostrophe, in XLSX as typed string cells.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from zoneinfo import ZoneInfo

from whosthat.i18n import M_
from whosthat.services import audit, corrections
from whosthat.services.common import SYSTEM, Actor, Context
from whosthat.services.errors import ValidationError
from whosthat.services.timesheets import Timesheet, Totals, WorkDay, build

TABLES = ("days", "totals", "weeks", "months")
DAY_COLUMNS = [
    "date",
    "employee_code",
    "name",
    "surname",
    "schedule",
    "status",
    "holiday",
    "first_in",
    "last_out",
    "worked_hours",
    "scheduled_hours",
    "overtime_hours",
    "break_hours",
    "late_minutes",
    "early_leave_minutes",
    "flags",
    "corrections",
]
TOTAL_COLUMNS = [
    "worked_hours",
    "scheduled_hours",
    "overtime_hours",
    "break_hours",
    "present_days",
    "half_days",
    "absent_days",
    "late_days",
    "early_leave_days",
    "missing_clock_outs",
]
PERSON_COLUMNS = ["employee_code", "name", "surname"]
EVERYONE = ("", "Everyone", "")


def _h(seconds: float) -> float:
    return round(seconds / 3600.0, 2)


def _day_row(d: WorkDay, zone) -> list:
    fmt = "%H:%M"
    return [
        d.day,
        d.person.employee_code,
        d.person.name,
        d.person.surname,
        d.schedule.name if d.schedule else "",
        d.status,
        d.holiday or "",
        d.first_in.astimezone(zone).strftime(fmt) if d.first_in else "",
        d.last_out.astimezone(zone).strftime(fmt) if d.last_out else "",
        _h(d.worked_s),
        _h(d.expected_s),
        _h(d.overtime_s),
        _h(d.break_s),
        round(d.late_s / 60),
        round(d.early_s / 60),
        " ".join(d.flags),
        "; ".join(corrections.describe(c, zone) for c in d.corrections),
    ]


def _total_cells(t: Totals) -> list:
    return [
        _h(t.worked_s),
        _h(t.expected_s),
        _h(t.overtime_s),
        _h(t.break_s),
        t.present,
        t.half_days,
        t.absent,
        t.late,
        t.early_leave,
        t.missing_clock_out,
    ]


def tables(sheet: Timesheet, tz) -> dict[str, tuple[list[str], list[list]]]:
    """Each table's (header, rows): days; totals (per person, then everyone); weeks; months."""
    days, totals, weeks, months = [], [], [], []
    for ps in sheet.people:
        who = [ps.person.employee_code, ps.person.name, ps.person.surname]
        for d in ps.days:
            if d.status == "off" and not d.events and not d.corrections:
                continue  # a day off with nothing on it: no row
            days.append(_day_row(d, _zone(d.schedule.timezone if d.schedule else None, tz)))
        totals.append(who + _total_cells(ps.total))
        weeks += [who + [k] + _total_cells(t) for k, t in sorted(ps.weeks.items())]
        months += [who + [k] + _total_cells(t) for k, t in sorted(ps.months.items())]
    totals.append(list(EVERYONE) + _total_cells(sheet.total))
    weeks += [list(EVERYONE) + [k] + _total_cells(t) for k, t in sorted(sheet.weeks.items())]
    months += [list(EVERYONE) + [k] + _total_cells(t) for k, t in sorted(sheet.months.items())]
    return {
        "days": (DAY_COLUMNS, days),
        "totals": (PERSON_COLUMNS + TOTAL_COLUMNS, totals),
        "weeks": (PERSON_COLUMNS + ["week"] + TOTAL_COLUMNS, weeks),
        "months": (PERSON_COLUMNS + ["month"] + TOTAL_COLUMNS, months),
    }


_ZONES: dict[str, ZoneInfo] = {}


def _zone(name: str | None, default):
    """Times in a person's row are in their schedule's zone (the site's without one)."""
    if not name:
        return default
    if name not in _ZONES:
        _ZONES[name] = ZoneInfo(name)
    return _ZONES[name]


def _unsafe(text: str) -> bool:
    return text[:1] in ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value) -> str:
    if isinstance(value, date):
        return value.isoformat()
    text = "" if value is None else str(value)
    return "'" + text if isinstance(value, str) and _unsafe(text) else text


def _check(table: str) -> str:
    if table not in TABLES:
        raise ValidationError(M_("table must be one of: %(tables)s", tables=", ".join(TABLES)))
    return table


def _sheet(ctx, actor, date_from, date_to, person_id, fmt) -> Timesheet:
    actor.require("attendance:read")
    sheet = build(ctx, date_from, date_to, person_id=person_id)
    audit.record(
        ctx,
        actor,
        "attendance.export",
        f"person:{person_id}" if person_id else None,
        {"from": date_from.isoformat(), "to": date_to.isoformat(), "format": fmt},
    )
    ctx.commit()
    return sheet


def timesheet_csv(
    ctx: Context,
    date_from: date,
    date_to: date,
    *,
    person_id: int | None = None,
    table: str = "days",
    actor: Actor = SYSTEM,
) -> str:
    """One table of the period's timesheet as CSV (hours as decimals, local times)."""
    header, rows = tables(_sheet(ctx, actor, date_from, date_to, person_id, "csv:" + _check(table)), ctx.tz)[
        table
    ]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([_csv_cell(v) for v in row] for row in rows)
    return out.getvalue()


def workbook_bytes(sheet: Timesheet, tz) -> bytes:
    """The timesheet as an XLSX workbook: Totals, Days, Weeks, Months (write-only, streamed)."""
    from openpyxl import Workbook  # noqa: PLC0415 (only exports need it)
    from openpyxl.cell import WriteOnlyCell  # noqa: PLC0415

    wb = Workbook(write_only=True)
    parts = tables(sheet, tz)
    for name in ("totals", "days", "weeks", "months"):
        header, rows = parts[name]
        ws = wb.create_sheet(title=name.capitalize())
        ws.freeze_panes = "A2"
        ws.append(header)
        for row in rows:
            cells = []
            for value in row:
                if value == "":
                    cells.append(None)  # an empty cell is not written at all
                elif isinstance(value, str) and _unsafe(value):
                    cell = WriteOnlyCell(ws, value=None)
                    cell.value, cell.data_type = value, "s"  # text, never a formula
                    cells.append(cell)
                else:
                    cells.append(value)  # dates get openpyxl's date format
            ws.append(cells)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def timesheet_xlsx(
    ctx: Context, date_from: date, date_to: date, *, person_id: int | None = None, actor: Actor = SYSTEM
) -> bytes:
    """The period's timesheet as an XLSX workbook."""
    return workbook_bytes(_sheet(ctx, actor, date_from, date_to, person_id, "xlsx"), ctx.tz)
