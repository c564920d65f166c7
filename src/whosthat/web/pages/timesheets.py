"""The timesheet page (a period's work days with schedules applied, totals per person and for
everyone, weekly totals), its CSV and XLSX downloads, and locking / unlocking the period."""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import Response

from whosthat.services import corrections, exports, people, periods, timesheets
from whosthat.web import deps
from whosthat.web.api.timesheets import XLSX_TYPE
from whosthat.web.deps import Ctx, CurrentAdmin, RowId
from whosthat.web.language import tr
from whosthat.web.pages.common import back_to, flash, page_router, redirect, render

router = page_router()


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _period(request: Request, today: date) -> tuple[date, date, int | None]:
    """?from=&to=&person=; default: this month up to today."""
    params = request.query_params
    date_to = _day(params.get("to")) or today
    date_from = _day(params.get("from")) or date_to.replace(day=1)
    if date_from > date_to:
        date_from, date_to = date_to, date_from
    person = params.get("person") or ""
    return date_from, date_to, int(person) if person.isdigit() and len(person) < 10 else None


def _download(body, media_type: str, date_from, date_to, suffix: str):
    name = f"timesheet-{date_from}-{date_to}{suffix}"
    return Response(
        body, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@router.get("/admin/timesheets")
@back_to("/admin/timesheets")
def timesheet_page(request: Request, ctx: Ctx, admin: CurrentAdmin):
    today = timesheets.today(ctx)
    date_from, date_to, person_id = _period(request, today)
    sheet = timesheets.build(ctx, date_from, date_to, person_id=person_id)
    query = {"from": date_from.isoformat(), "to": date_to.isoformat()}
    if person_id:
        query["person"] = person_id
    days = []
    if person_id:
        for ps in sheet.people:
            for d in ps.days:
                days.append({"d": d, "corrections": [corrections.describe(c, ctx.tz) for c in d.corrections]})
    return render(
        request,
        "admin/timesheets.html",
        admin=admin,
        nav="timesheets",
        sheet=sheet,
        days=days,
        person_id=person_id,
        people=people.list_people(ctx, None, page=1, size=200).items,
        date_from=date_from.isoformat(),  # for the date inputs and the links
        date_to=date_to.isoformat(),
        period_from=date_from,  # for the words: the reader's date format
        period_to=date_to,
        query=urlencode(query),
        can_lock=admin.has("attendance:write") and date_to < today and not sheet.locked,
        can_edit=admin.has("attendance:write"),
        locks=periods.list_locks(ctx)[:20],
        last_month=(today.replace(day=1) - timedelta(days=1)),
    )


@router.get("/admin/timesheets/export.csv")
@back_to("/admin/timesheets")
def timesheet_csv(request: Request, ctx: Ctx, admin: CurrentAdmin, table: str = "days"):
    date_from, date_to, person_id = _period(request, timesheets.today(ctx))
    body = exports.timesheet_csv(ctx, date_from, date_to, person_id=person_id, table=table, actor=admin)
    return _download(body, "text/csv; charset=utf-8", date_from, date_to, f"-{table}.csv")


@router.get("/admin/timesheets/export.xlsx")
@back_to("/admin/timesheets")
def timesheet_xlsx(request: Request, ctx: Ctx, admin: CurrentAdmin):
    date_from, date_to, person_id = _period(request, timesheets.today(ctx))
    body = exports.timesheet_xlsx(ctx, date_from, date_to, person_id=person_id, actor=admin)
    return _download(body, XLSX_TYPE, date_from, date_to, ".xlsx")


def _text(form, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


@router.post("/admin/timesheets/lock", dependencies=[deps.VerifyCsrf])
@back_to("/admin/timesheets")
async def timesheet_lock(request: Request, ctx: Ctx, admin: CurrentAdmin):
    form = await request.form()
    date_from, date_to = _day(_text(form, "from")), _day(_text(form, "to"))
    row = periods.lock_period(ctx, date_from, date_to, note=_text(form, "note") or None, actor=admin)
    flash(
        request,
        "ok",
        tr(
            request,
            "Locked %(start)s to %(end)s: corrections there now need an unlock.",
            start=row.date_from,
            end=row.date_to,
        ),
    )
    return redirect("/admin/timesheets?" + urlencode({"from": row.date_from, "to": row.date_to}))


@router.post("/admin/timesheets/locks/{lock_id}/unlock", dependencies=[deps.VerifyCsrf])
@back_to("/admin/timesheets")
async def timesheet_unlock(request: Request, ctx: Ctx, admin: CurrentAdmin, lock_id: RowId):
    form = await request.form()
    row = periods.unlock_period(ctx, lock_id, reason=_text(form, "reason"), actor=admin)
    flash(request, "ok", tr(request, "Unlocked %(start)s to %(end)s.", start=row.date_from, end=row.date_to))
    return redirect("/admin/timesheets?" + urlencode({"from": row.date_from, "to": row.date_to}))
