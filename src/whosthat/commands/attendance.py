"""`whosthat bench attendance`: a month's timesheet, JSON, admin page, CSV and XLSX for a generated
workplace (web/bench_attendance.py)."""

from __future__ import annotations

from typing import Annotated

import typer

from whosthat.commands.options import JsonOpt, echo_json


def bench_attendance_command(
    people: Annotated[int, typer.Option(help="generated people")] = 500,
    events: Annotated[int, typer.Option(help="generated in/out events in the month")] = 20_000,
    year: Annotated[int, typer.Option(help="the month's year")] = 2026,
    month: Annotated[int, typer.Option(help="the month (1-12)")] = 3,
    repeats: Annotated[int, typer.Option(help="timed runs of each step (median)")] = 3,
    as_json: JsonOpt = False,
) -> None:
    """Time a month report for PEOPLE people and EVENTS events: the timesheet, the JSON API, the admin
    page, the CSV and the XLSX export (targets: report < 2 s, XLSX < 5 s)."""
    if not 1 <= month <= 12 or not 2000 <= year <= 2100:
        raise typer.BadParameter("give a month 1-12 of a year 2000-2100")
    if people < 1 or events < 0 or repeats < 1:
        raise typer.BadParameter("people and repeats must be at least 1, events at least 0")
    import os

    from whosthat.web.bench_attendance import run_attendance_bench

    result = run_attendance_bench(people=people, events=events, year=year, month=month, repeats=repeats)
    result["load_average"] = [round(x, 2) for x in os.getloadavg()]
    if as_json:
        echo_json(result)
        return
    s = result["setup"]
    typer.echo(
        f"{s['people']} people, {s['events']} events, {s['corrections']} corrections, {result['period']}"
    )
    for key, label in (
        ("timesheet_build", "timesheet (service)"),
        ("api_json", "GET /api/v1/timesheets"),
        ("admin_page", "GET /admin/timesheets"),
        ("csv_days", "CSV (every day)"),
        ("xlsx", "XLSX (HTTP)"),
        ("xlsx_service", "XLSX (service)"),
    ):
        r = result[key]
        typer.echo(f"{label:26s} median {r['median_s']:.3f} s   cpu {r['cpu_s']:.3f} s")
    typer.echo(f"xlsx size {result['xlsx_bytes']} bytes; load average {result['load_average']}")


def kiosk_create_command(
    name: Annotated[str, typer.Argument(help="kiosk name, e.g. 'Front door'")],
    site: Annotated[str, typer.Option(help="where it stands")] = "",
    timezone: Annotated[str, typer.Option(help="IANA time zone (default: the site's)")] = "",
    language: Annotated[
        str, typer.Option(help="the kiosk's language: en, de, it or fr (default: the browser's choice)")
    ] = "",
    as_json: JsonOpt = False,
) -> None:
    """Register a kiosk and print its one-time pairing code (enter it on the kiosk's /kiosk page)."""
    from whosthat.commands.server import _context, _runtime
    from whosthat.services import kiosks

    with _context(_runtime()) as ctx:
        row, code = kiosks.create_kiosk(
            ctx, name=name, site=site, timezone=timezone or None, language=language or None
        )
        _print_code(row, code, as_json)


def kiosk_code_command(
    name: Annotated[str, typer.Argument(help="kiosk name")],
    as_json: JsonOpt = False,
) -> None:
    """A new one-time pairing code for the kiosk (the browser paired before stops working)."""
    from whosthat.commands.server import _context, _runtime
    from whosthat.errors import BadInputError
    from whosthat.services import kiosks

    with _context(_runtime()) as ctx:
        row = next((k for k in kiosks.list_kiosks(ctx) if k.name == name), None)
        if row is None:
            raise BadInputError(f"no kiosk named {name!r} (whosthat kiosk create {name!r})")
        row, code = kiosks.new_pairing_code(ctx, row.id)
        _print_code(row, code, as_json)


def kiosk_list_command(as_json: JsonOpt = False) -> None:
    """Kiosks, whether they are paired, and their last contact."""
    from whosthat.commands.server import _context, _runtime
    from whosthat.services import kiosks

    with _context(_runtime()) as ctx:
        rows = [
            {
                "name": k.name,
                "site": k.site,
                "timezone": k.timezone,
                "language": k.language,
                "paired": k.device_token_hash is not None,
                "revoked": k.revoked_at is not None,
                "last_seen_at": k.last_seen_at.isoformat() if k.last_seen_at else None,
            }
            for k in kiosks.list_kiosks(ctx)
        ]
    if as_json:
        echo_json(rows)
        return
    for r in rows:
        state = "paired" if r["paired"] else ("revoked" if r["revoked"] else "not paired")
        typer.echo(f"{r['name']:24s} {state:11s} last contact {r['last_seen_at'] or 'never'}")


def _print_code(row, code: str, as_json: bool) -> None:
    if as_json:
        echo_json({"name": row.name, "pairing_code": code, "expires_at": row.pairing_expires_at.isoformat()})
        return
    typer.echo(
        f"whosthat: pairing code for kiosk {row.name!r} (once, until {row.pairing_expires_at:%H:%M} UTC):",
        err=True,
    )
    typer.echo(code)


def retention_run_command(as_json: JsonOpt = False) -> None:
    """Apply the retention settings once now (WHOSTHAT_RETENTION_ATTENDANCE_MONTHS,
    WHOSTHAT_RETENTION_INACTIVE_CHIP_DAYS); the server also runs this every WHOSTHAT_RETENTION_EVERY_S."""
    from whosthat.commands.server import _context, _runtime
    from whosthat.services import consent

    with _context(_runtime()) as ctx:
        done = consent.run_retention(ctx)
    result = (
        None if done is None else {"events_deleted": done.events_deleted, "chips_deleted": done.chips_deleted}
    )
    if as_json:
        echo_json(result)
    elif result is None:
        typer.echo("whosthat: no retention setting is on (nothing deleted)", err=True)
    else:
        typer.echo(
            f"deleted {result['events_deleted']} attendance events, {result['chips_deleted']} face chips"
        )
