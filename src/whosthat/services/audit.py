"""The audit log: who did what to which target, from which address. Never images, embeddings or chips."""

from __future__ import annotations

from whosthat.i18n import N_
from whosthat.services.common import SYSTEM, Actor, Context, Page, check_paging
from whosthat.store import repositories as repo

# Each action code in words, for the audit log page (translated where shown); the stored codes, the API
# and the filter keep the codes themselves.
ACTION_WORDS = {
    "admin.create": N_("administrator added"),
    "admin.login": N_("administrator signed in"),
    "admin.login_failed": N_("administrator sign-in refused"),
    "admin.logout": N_("administrator signed out"),
    "admin.password_changed": N_("administrator password changed"),
    "apikey.create": N_("API key created"),
    "apikey.revoke": N_("API key revoked"),
    "attendance.in": N_("clocked in"),
    "attendance.out": N_("clocked out"),
    "attendance.repeat": N_("clocked again within the repeat window: nothing recorded"),
    "attendance.export": N_("attendance exported"),
    "attendance.correct.add": N_("attendance event added by correction"),
    "attendance.correct.edit": N_("attendance event corrected"),
    "attendance.correct.void": N_("attendance event voided"),
    "attendance.request": N_("correction requested"),
    "attendance.request.approved": N_("correction request approved"),
    "attendance.request.rejected": N_("correction request rejected"),
    "consent.given": N_("consent recorded"),
    "consent.withdrawn": N_("consent withdrawn"),
    "employee.session": N_("employee page opened"),
    "employee.logout": N_("employee signed out"),
    "face_login.failed": N_("face login refused"),
    "group.add_member": N_("person added to a group"),
    "group.create": N_("group created"),
    "group.remove_member": N_("person removed from a group"),
    "holiday.add": N_("holiday added"),
    "holiday.delete": N_("holiday deleted"),
    "kiosk.create": N_("kiosk created"),
    "kiosk.language": N_("kiosk language changed"),
    "kiosk.pair": N_("kiosk paired"),
    "kiosk.pair_failed": N_("kiosk pairing refused"),
    "kiosk.repair": N_("kiosk pairing code renewed"),
    "kiosk.revoke": N_("kiosk revoked"),
    "period.lock": N_("period locked"),
    "period.unlock": N_("period unlocked"),
    "person.create": N_("person added"),
    "person.delete": N_("person deleted"),
    "person.update": N_("person changed"),
    "person.pin_set": N_("PIN set"),
    "person.pin_removed": N_("PIN removed"),
    "pin_login": N_("PIN login"),
    "pin_login.failed": N_("PIN login refused"),
    "retention.run": N_("retention rules applied"),
    "review.queued": N_("login queued for review"),
    "review.confirmed": N_("reviewed login confirmed"),
    "review.voided": N_("reviewed login voided"),
    "schedule.assign": N_("schedule assigned"),
    "schedule.create": N_("schedule created"),
    "schedule.delete": N_("schedule deleted"),
    "schedule.unassign": N_("schedule unassigned"),
    "template.create": N_("face template added"),
    "template.delete": N_("face template deleted"),
    "templates.reembed": N_("face templates recomputed"),
}


# Each detail key in words, for the audit log page (translated where shown); a key without words is
# shown as it is stored. The values are formatted by the page (web/pages/audit.py).
DETAIL_WORDS = {
    "action": N_("request"),
    "assignment": N_("assignment"),
    "at": N_("time"),
    "completed": N_("steps done"),
    "day": N_("day"),
    "detail": N_("check detail"),
    "duplicate_of": N_("same face as person"),
    "employee_code": N_("employee code"),
    "event": N_("event"),
    "fields": N_("fields changed"),
    "format": N_("format"),
    "from": N_("from"),
    "images_deleted": N_("images deleted"),
    "kind": N_("in or out"),
    "kiosk": N_("kiosk"),
    "language": N_("language"),
    "last_at": N_("last event's time"),
    "last_event": N_("last event"),
    "last_kind": N_("last event: in or out"),
    "last_kiosk": N_("last event's kiosk"),
    "last_source": N_("last event's source"),
    "model": N_("face model"),
    "name": N_("name"),
    "note": N_("note"),
    "pad_frames": N_("frames checked for a photo or screen"),
    "pad_mode": N_("photo and screen check"),
    "pad_model": N_("photo and screen model"),
    "pad_score": N_("live face score"),
    "pad_threshold": N_("live face threshold"),
    "person": N_("person"),
    "reason": N_("reason"),
    "reasons": N_("reasons"),
    "recorded": N_("recorded"),
    "removed_old": N_("old templates removed"),
    "replaces": N_("replaces"),
    "request": N_("correction request"),
    "role": N_("role"),
    "schedule": N_("schedule"),
    "scopes": N_("permissions"),
    "sessions_ended": N_("sessions ended"),
    "site": N_("site"),
    "source": N_("source"),
    "steps": N_("steps"),
    "template_id": N_("face template"),
    "templates": N_("face templates"),
    "templates_deleted": N_("face templates deleted"),
    "timezone": N_("time zone"),
    "to": N_("to"),
    "version": N_("consent text version"),
    "window_s": N_("repeat window"),
}

# The actions whose detail "reason" is a face or PIN login's reason code (liveness.outcomes.MESSAGES);
# elsewhere "reason" is what the administrator typed.
REASON_CODE_ACTIONS = frozenset({"face_login.failed"})


def action_words(action: str) -> str | None:
    """The action code in (English, N_-marked) words, None for a code without words."""
    return ACTION_WORDS.get(action)


def record(
    ctx: Context,
    actor: Actor,
    action: str,
    target: str | None = None,
    detail: dict | None = None,
    *,
    label: str | None = None,
) -> None:
    """Add an audit row to the current transaction (the calling service commits). The row keeps the
    target's name as it is now (`label`, else looked up from `target`: "person:2" -> "Ada Lovelace
    (E042)"), so a later rename does not rewrite history."""
    target = (target or None) and target[:120]
    repo.audit.add(
        ctx.db,
        actor=actor.label,
        action=action,
        target=target,
        target_label=label if label is not None else repo.audit.label_of(ctx.db, target),
        address=ctx.address,
        detail=detail,
    )


def deleted_label(person) -> str:
    """How the audit log names a deleted person: their employee code only, "E042 (deleted)"."""
    return f"{person.employee_code} {repo.audit.DELETED}"


def forget_person(ctx: Context, person) -> None:
    """The audit rows of a person being deleted keep only their employee code ("E042 (deleted)") and
    lose their name in any detail (right to erasure); who did what and when stays."""
    repo.audit.forget_person(ctx.db, person.id, person.employee_code, [person.full_name])


def list_entries(
    ctx: Context,
    *,
    page: int = 1,
    size: int = 50,
    action: str | None = None,
    actor_label: str | None = None,
    target: str | None = None,
    date_from=None,
    date_to=None,
    actor: Actor = SYSTEM,
) -> Page:
    """Audit rows, newest first; filter by exact action, by actor label prefix (e.g. "admin:"), by target
    (its code "person:2" or a part of its name) and by local days date_from..date_to (inclusive;
    ValidationError when reversed). The reading `actor` needs audit:read."""
    from whosthat.services.attendance import day_range  # attendance records audit rows itself

    actor.require("audit:read")
    page, size = check_paging(page, size)
    since, until = day_range(ctx, date_from, date_to)
    rows, total = repo.audit.page_newest_first(
        ctx.db,
        action=(action or "").strip()[:64] or None,
        actor_prefix=(actor_label or "").strip()[:80] or None,
        target=(target or "").strip()[:160] or None,
        page=page,
        size=size,
        since=since,
        until=until,
    )
    return Page(rows, page, size, total)


def filter_choices(ctx: Context, *, actor: Actor = SYSTEM) -> tuple[list[str], list[str]]:
    """(the distinct actor labels, the distinct action codes) in the log, for the filters' choices."""
    actor.require("audit:read")
    return repo.audit.actors(ctx.db), repo.audit.actions(ctx.db)
