"""The schedules page: schedules (weekly pattern, time zone, grace, breaks, thresholds), assigning
them to people or groups from a date, work groups and their members, and the public holidays list."""

from __future__ import annotations

from datetime import date

from fastapi import Request

from whosthat.errors import BadInputError
from whosthat.i18n import M_, N_, Message
from whosthat.services import people, schedules
from whosthat.services.errors import AuthenticationError, PermissionDeniedError, ValidationError
from whosthat.web import deps
from whosthat.web.deps import Ctx, CurrentAdmin, RowId
from whosthat.web.language import tr
from whosthat.web.pages.common import (
    FormState,
    back_to,
    discard_draft,
    field_messages,
    flash,
    form_state,
    page_router,
    redirect,
    render,
    send_back,
    send_back_draft,
)

router = page_router()
BACK = "/admin/schedules"

# Forms sent back with errors (post/redirect/get, pages/common.py): their drafts and field labels.
GROUP_FORM = "group-new"  # the New group form
HOLIDAY_FORM = "holiday-new"  # the Add holiday form
SCHEDULE_FORM = "schedule-new"  # the New schedule form
ASSIGN_FORM = "schedule-assign"  # the Assign form
MEMBER_FORM = "group-member"  # a group's Add member form (its draft names the group)
MEMBER_LABELS = {"person": N_("Person")}
ASSIGN_LABELS = {"schedule": N_("Schedule"), "target": N_("Person or group"), "valid_from": N_("From")}
SCHEDULE_FIELDS = (
    "name",
    "timezone",
    "grace_late_min",
    "grace_early_min",
    "half_day_below_pct",
    "absent_below_pct",
)
SCHEDULE_LABELS = {
    "name": N_("Name"),
    "timezone": N_("Time zone"),
    "grace_late_min": N_("Late grace (min)"),
    "grace_early_min": N_("Early-leave grace (min)"),
    "half_day_below_pct": N_("Half day below (%%)"),
    "absent_below_pct": N_("Absent below (%%)"),
}
for _wd, _day in zip(schedules.WEEKDAYS, schedules.WEEKDAY_NAMES, strict=True):
    # a weekday row's fields (as their aria-labels): the week's errors are said beside that row
    SCHEDULE_LABELS[f"{_wd}_start"] = M_("%(day)s start", day=Message(_day))
    SCHEDULE_LABELS[f"{_wd}_end"] = M_("%(day)s end", day=Message(_day))
    SCHEDULE_LABELS[f"{_wd}_break"] = M_("the break on %(day)s", day=Message(_day))  # as _int names it
GROUP_LABELS = {"name": N_("Group name")}
HOLIDAY_LABELS = {"day": N_("Day"), "name": N_("Name")}


def _text(form, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _int(form, name: str, what: str, default: int = 0) -> int:
    text = _text(form, name)
    if not text:
        return default
    if not text.isdigit() or len(text) > 6:
        raise ValidationError(M_("%(field)s is a whole number", field=what), field=name)
    return int(text)


def _id(form, name: str) -> int | None:
    text = _text(form, name)
    return int(text) if text.isdigit() and len(text) < 10 else None


def _date(form, name: str) -> date:
    try:
        return date.fromisoformat(_text(form, name))
    except ValueError:
        raise ValidationError(M_("give the day as YYYY-MM-DD"), field=name) from None


def _sent_back(request: Request, ctx, form: str, exc: BadInputError, labels: dict, values: dict):
    """A refused form: 303 to the schedules page with its draft (the error beside its field, the values
    kept); a refusal that is not about the form (no permission) stays the error page."""
    if isinstance(exc, PermissionDeniedError | AuthenticationError):
        raise exc
    ctx.db.rollback()
    return send_back(request, ctx, form, BACK, exc, labels, {k: v[:200] for k, v in values.items()})


@router.get("/admin/schedules")
@back_to("/admin/attendance")
def schedules_page(request: Request, ctx: Ctx, admin: CurrentAdmin, draft: str = ""):
    groups = schedules.list_groups(ctx)
    members = schedules.group_members(ctx)
    everyone = people.list_people(ctx, None, page=1, size=200).items
    names = {p.id: p.full_name for p in everyone}
    return render(
        request,
        "admin/schedules.html",
        admin=admin,
        nav="schedules",
        schedules=schedules.list_schedules(ctx),
        schedule_names={s.id: s.name for s in schedules.list_schedules(ctx)},
        groups=[
            {"g": g, "members": [(pid, names.get(pid, f"#{pid}")) for pid in members.get(g.id, [])]}
            for g in groups
        ],
        group_names={g.id: g.name for g in groups},
        person_names=names,
        assignments=schedules.list_assignments(ctx),
        holidays=schedules.list_holidays(ctx),
        people=everyone,
        weekdays=schedules.WEEKDAYS,
        can_edit=admin.has("attendance:write"),
        site_zone=str(ctx.tz),
        group_state=form_state(request, ctx, GROUP_FORM, draft),
        holiday_state=form_state(request, ctx, HOLIDAY_FORM, draft),
        schedule_state=form_state(request, ctx, SCHEDULE_FORM, draft),
        assign_state=form_state(request, ctx, ASSIGN_FORM, draft),
        member_state=form_state(request, ctx, MEMBER_FORM, draft),
        empty_state=FormState(),
    )


@router.post("/admin/schedules", dependencies=[deps.VerifyCsrf])
@back_to(BACK)
async def schedule_create(request: Request, ctx: Ctx, admin: CurrentAdmin):
    form = await request.form()
    day_fields = [f"{wd}_{part}" for wd in schedules.WEEKDAYS for part in ("start", "end", "break")]
    values = {k: _text(form, k) for k in (*SCHEDULE_FIELDS, *day_fields)}
    try:
        week = []
        for wd, day_name in zip(schedules.WEEKDAYS, schedules.WEEKDAY_NAMES, strict=True):
            start, end = _text(form, f"{wd}_start"), _text(form, f"{wd}_end")
            if not start and not end:
                week.append(None)
            else:
                brk = _int(form, f"{wd}_break", M_("the break on %(day)s", day=Message(day_name)))
                week.append({"start": start, "end": end, "break_min": brk})
        row = schedules.create_schedule(
            ctx,
            name=_text(form, "name"),
            timezone=_text(form, "timezone"),
            week=week,
            grace_late_min=_int(form, "grace_late_min", M_("the late grace")),
            grace_early_min=_int(form, "grace_early_min", M_("the early-leave grace")),
            half_day_below_pct=_int(form, "half_day_below_pct", M_("the half-day threshold"), 75),
            absent_below_pct=_int(form, "absent_below_pct", M_("the absent threshold"), 25),
            actor=admin,
        )
    except BadInputError as exc:
        return _sent_back(request, ctx, SCHEDULE_FORM, exc, SCHEDULE_LABELS, values)
    flash(request, "ok", tr(request, "Schedule %(name)s created.", name=row.name))
    return redirect(BACK)


@router.post("/admin/schedules/{schedule_id}/delete", dependencies=[deps.VerifyCsrf])
@back_to(BACK)
def schedule_delete(request: Request, ctx: Ctx, admin: CurrentAdmin, schedule_id: RowId):
    schedules.delete_schedule(ctx, schedule_id, actor=admin)
    flash(request, "ok", tr(request, "Schedule deleted."))
    return redirect(BACK)


@router.post("/admin/schedules/assign", dependencies=[deps.VerifyCsrf])
@back_to(BACK)
async def schedule_assign(request: Request, ctx: Ctx, admin: CurrentAdmin):
    form = await request.form()
    values = {k: _text(form, k) for k in ("schedule", "target", "valid_from")}
    target = values["target"]  # "person:ID" | "group:ID"
    kind, _, raw = target.partition(":")
    tid = int(raw) if raw.isdigit() and len(raw) < 10 else None
    try:
        if kind not in ("person", "group") or tid is None:
            raise ValidationError(M_("choose a person or a group"), field="target")
        schedules.assign(
            ctx,
            _id(form, "schedule") or 0,
            valid_from=_date(form, "valid_from"),
            person_id=tid if kind == "person" else None,
            group_id=tid if kind == "group" else None,
            actor=admin,
        )
    except BadInputError as exc:
        return _sent_back(request, ctx, ASSIGN_FORM, exc, ASSIGN_LABELS, values)
    flash(request, "ok", tr(request, "Schedule assigned."))
    return redirect(BACK)


@router.post("/admin/schedules/assignments/{assignment_id}/delete", dependencies=[deps.VerifyCsrf])
@back_to(BACK)
def assignment_delete(request: Request, ctx: Ctx, admin: CurrentAdmin, assignment_id: RowId):
    schedules.delete_assignment(ctx, assignment_id, actor=admin)
    flash(request, "ok", tr(request, "Assignment removed."))
    return redirect(BACK)


@router.post("/admin/groups", dependencies=[deps.VerifyCsrf])
@back_to(BACK)
async def group_create(request: Request, ctx: Ctx, admin: CurrentAdmin):
    form = await request.form()
    values = {"name": _text(form, "name")}
    try:
        row = schedules.create_group(ctx, values["name"], actor=admin)
    except BadInputError as exc:
        return _sent_back(request, ctx, GROUP_FORM, exc, GROUP_LABELS, values)
    flash(request, "ok", tr(request, "Group %(name)s created.", name=row.name))
    return redirect(BACK)


@router.post("/admin/groups/{group_id}/members", dependencies=[deps.VerifyCsrf])
@back_to(BACK)
async def group_add_member(request: Request, ctx: Ctx, admin: CurrentAdmin, group_id: RowId):
    form = await request.form()
    discard_draft(request, ctx, MEMBER_FORM, form.get("draft"))
    values = {"person": _text(form, "person")}
    try:
        schedules.add_member(ctx, group_id, _id(form, "person") or 0, actor=admin)
    except BadInputError as exc:
        if exc.field != "person":  # an unknown group, no permission: not about the form, the error page
            raise
        ctx.db.rollback()
        data = {
            "values": {"person": values["person"][:20]},
            "errors": field_messages(request, exc, MEMBER_LABELS),
            "group": group_id,
        }
        return send_back_draft(request, ctx, MEMBER_FORM, BACK, data)
    flash(request, "ok", tr(request, "Added to the group."))
    return redirect(BACK)


@router.post("/admin/groups/{group_id}/members/{person_id}/delete", dependencies=[deps.VerifyCsrf])
@back_to(BACK)
def group_remove_member(request: Request, ctx: Ctx, admin: CurrentAdmin, group_id: RowId, person_id: RowId):
    schedules.remove_member(ctx, group_id, person_id, actor=admin)
    flash(request, "ok", tr(request, "Removed from the group."))
    return redirect(BACK)


@router.post("/admin/holidays", dependencies=[deps.VerifyCsrf])
@back_to(BACK)
async def holiday_add(request: Request, ctx: Ctx, admin: CurrentAdmin):
    form = await request.form()
    values = {"day": _text(form, "day"), "name": _text(form, "name")}
    try:
        row = schedules.add_holiday(ctx, _date(form, "day"), values["name"], actor=admin)
    except BadInputError as exc:
        return _sent_back(request, ctx, HOLIDAY_FORM, exc, HOLIDAY_LABELS, values)
    flash(request, "ok", tr(request, "%(day)s (%(name)s) added to the holidays.", day=row.day, name=row.name))
    return redirect(BACK)


@router.post("/admin/holidays/{holiday_id}/delete", dependencies=[deps.VerifyCsrf])
@back_to(BACK)
def holiday_delete(request: Request, ctx: Ctx, admin: CurrentAdmin, holiday_id: RowId):
    schedules.delete_holiday(ctx, holiday_id, actor=admin)
    flash(request, "ok", tr(request, "Holiday deleted."))
    return redirect(BACK)
