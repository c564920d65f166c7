"""The attendance page (worked hours per person and day, the events, a person and date filter) and its
CSV download; `day_rows` also serves the employee's own page."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from fastapi import Request

from whosthat.services import attendance, corrections, reviews
from whosthat.services.attendance import DayReport
from whosthat.web.api.attendance import csv_response
from whosthat.web.deps import Ctx, CurrentAdmin
from whosthat.web.pages.common import back_to, page_router, render

router = page_router()


def _day(value: str | None) -> date | None:
    """A YYYY-MM-DD query parameter; None when absent or not a date (the page's default applies)."""
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _filter(request: Request) -> dict:
    """?person=&from=&to= as service arguments; a value that does not parse counts as absent."""
    params = request.query_params
    person = params.get("person")
    return {
        "person_id": int(person) if person and person.isascii() and person.isdigit() else None,
        "date_from": _day(params.get("from")),
        "date_to": _day(params.get("to")),
    }


def day_rows(reports: list[DayReport], today: date, tz=None) -> list[dict]:
    """DayReports as table rows. An open interval younger than attendance.MAX_SHIFT means "still in";
    an older one is a missing clock-out (flagged, not guessed). With the site's `tz`, each day's corrections as lines."""
    return [
        {
            "day": r.day.isoformat(),
            "date": r.day,  # for the language's date format (the `date` filter)
            "person_id": r.person.id,
            "name": r.person.full_name,
            "intervals": r.intervals,
            "worked": r.worked_seconds,
            "missing_out": r.missing_clock_out and not r.still_in,
            "still_in": r.still_in,
            "corrections": [corrections.describe(c, tz) for c in r.corrections] if tz else [],
        }
        for r in reports
    ]


def _liveness(event) -> str | None:
    if event.liveness_passed is None:
        return None
    return "passed" if event.liveness_passed else "failed"


@router.get("/admin/attendance")
@back_to("/admin/attendance")
def attendance_page(request: Request, ctx: Ctx, admin: CurrentAdmin):
    view = attendance.overview(ctx, **_filter(request))
    csv_params = {"from": view.date_from.isoformat(), "to": view.date_to.isoformat()}
    if view.person:
        csv_params["person"] = view.person.id
    weak = attendance.weak_match_rule(ctx)
    events = [
        {
            "id": e.id,
            "at": e.at,
            "source": e.source,
            "name": e.person.full_name,
            "kind": e.kind,
            "kiosk": e.kiosk,
            "distance": e.match_distance,
            "margin": e.match_margin,
            "weak": weak(e),
            "liveness": _liveness(e),
        }
        for e in view.events
    ]
    return render(
        request,
        "admin/attendance.html",
        admin=admin,
        nav="attendance",
        person=view.person,
        people=view.people,
        days=day_rows(view.days, view.today, ctx.tz),
        events=events,
        date_from=view.date_from.isoformat(),
        date_to=view.date_to.isoformat(),
        csv_url="/admin/attendance/report.csv?" + urlencode(csv_params),
        pending_requests=corrections.list_requests(ctx, size=1, actor=admin).total,
        pending_reviews=reviews.list_items(ctx, size=1, actor=admin).total,
        can_edit=admin.has("attendance:write"),
        today=view.today.isoformat(),
    )


@router.get("/admin/attendance/report.csv")
@back_to("/admin/attendance")
def attendance_csv(request: Request, ctx: Ctx, admin: CurrentAdmin):
    body = attendance.csv_report(ctx, **_filter(request), actor=admin)
    return csv_response(body, request.query_params.get("from"), request.query_params.get("to"))
