"""The audit log page, newest first, filtered by actor, action, target and local days (a GET form: the
filters are in the address, so a filtered view can be bookmarked and paging keeps them). Targets, actions
and details are shown in words in the reader's language; the stored codes stay beside them."""

from __future__ import annotations

from datetime import date, datetime
from urllib.parse import urlencode

from fastapi import Request

from whosthat import i18n
from whosthat.errors import BadInputError
from whosthat.i18n import M_, N_
from whosthat.liveness.outcomes import message_for
from whosthat.services.audit import (
    DETAIL_WORDS,
    REASON_CODE_ACTIONS,
    action_words,
    filter_choices,
    list_entries,
)
from whosthat.services.common import MAX_PAGE
from whosthat.store.repositories.audit import DELETED
from whosthat.web.deps import Ctx, CurrentAdmin
from whosthat.web.language import localise, request_language, tr
from whosthat.web.pages.common import back_to, error_text, page_router, render
from whosthat.web.rendering import (
    EVENT_SOURCES,
    EVENT_WORDS,
    REQUEST_WORDS,
    REVIEW_REASONS,
    TEMPLATE_SOURCES,
    code_in_words,
)

router = page_router()
AUDIT_PAGE_SIZE = 50

# A target with a name (the row's label) and one without (its number only), by the target's kind.
TARGET_NAMED = {
    "kiosk": N_("kiosk %(name)s"),
    "apikey": N_("API key %(name)s"),
    "admin": N_("administrator %(name)s"),
    "schedule": N_("schedule %(name)s"),
    "group": N_("group %(name)s"),
    "holiday": N_("holiday %(name)s"),
}
TARGET_NUMBERED = {
    "person": N_("person #%(id)s"),
    "kiosk": N_("kiosk #%(id)s"),
    "apikey": N_("API key #%(id)s"),
    "schedule": N_("schedule #%(id)s"),
    "group": N_("group #%(id)s"),
    "holiday": N_("holiday #%(id)s"),
    "period": N_("locked period #%(id)s"),
}
# The actor filter's choices for every actor of a kind (label prefixes), before the actors themselves.
ACTOR_KINDS = {
    "admin:": N_("every administrator"),
    "apikey:": N_("every API key"),
    "kiosk:": N_("every kiosk"),
    "employee:": N_("every employee"),
}


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        raise BadInputError(M_("%(value)s is not a date (YYYY-MM-DD)", value=repr(value))) from None


def target_words(request: Request, target: str | None, label: str | None) -> str:
    """The target as the reader reads it: its name at the time ("Ada Lovelace (E042)", "kiosk Lobby"),
    "E042 (deleted)" for a deleted person, "person #2" without a name; "" without a target."""
    if not target:
        return ""
    kind, _, key = target.partition(":")
    if label:
        if kind == "person" and label.endswith(" " + DELETED):
            return tr(request, "%(code)s (deleted)", code=label[: -len(DELETED) - 1])
        named = TARGET_NAMED.get(kind)
        return tr(request, named, name=label) if named else label
    numbered = TARGET_NUMBERED.get(kind)
    return tr(request, numbered, id=key) if numbered and key.isdigit() else target


def _value(request: Request, ctx, key: str, value) -> str:
    lang = request_language(request)
    if isinstance(value, bool):
        return tr(request, "yes") if value else tr(request, "no")
    if isinstance(value, int | float):
        if key == "window_s":
            return i18n.format_duration(value, lang)
        return i18n.format_number(value, lang, 2 if isinstance(value, float) else None)
    if isinstance(value, list):
        return ", ".join(_value(request, ctx, key, v) for v in value)
    if isinstance(value, dict):  # e.g. the event a correction replaces: {"id", "kind", "at"}
        return ", ".join(f"{_key(request, k)}: {_value(request, ctx, k, v)}" for k, v in value.items())
    text = str(value)
    if key in ("kind", "last_kind") and text in EVENT_WORDS:
        return localise(request, text)
    if key == "language" and text in i18n.LANGUAGE_NAMES:
        return i18n.LANGUAGE_NAMES[text]
    if key in ("at", "last_at"):
        try:
            return i18n.format_datetime(datetime.fromisoformat(text), lang, ctx.tz)
        except ValueError:
            return text
    if key == "reasons":
        return code_in_words(REVIEW_REASONS, text, lang)
    if key == "source":  # an attendance event's or a photo's
        return code_in_words({**TEMPLATE_SOURCES, **EVENT_SOURCES}, text, lang)
    if key == "action" and text in REQUEST_WORDS:  # a correction request's add / edit / void
        return localise(request, text)
    if key in ("from", "to", "day", "valid_from", "date_from", "date_to") and len(text) == 10:
        try:
            return i18n.format_date(date.fromisoformat(text), lang)
        except ValueError:
            return text
    return text


def _key(request: Request, key: str) -> str:
    return localise(request, DETAIL_WORDS[key]) if key in DETAIL_WORDS else str(key)


def detail_words(request: Request, ctx, action: str, detail: dict | None) -> list[dict]:
    """Each detail as {"label", "value", "code"} in the reader's language: a known key in words, its value
    formatted (a face login's reason code as the message the person read, the code kept beside it); an
    unknown key as it is stored. Empty values are left out."""
    items = []
    for key, value in (detail or {}).items():
        if value is None or value == "" or value == [] or value == {}:
            continue
        label = _key(request, key)
        if key == "reason" and action in REASON_CODE_ACTIONS and isinstance(value, str):
            items.append({"label": label, "value": localise(request, message_for(value)), "code": value})
        else:
            items.append({"label": label, "value": _value(request, ctx, key, value), "code": None})
    return items


def _choices(request: Request, present: list[str], current: str, words) -> list[dict]:
    options = [{"value": v, "text": words(v)} for v in present]
    if current and current not in present:  # a bookmarked filter that matches nothing (any more)
        options.append({"value": current, "text": words(current)})
    return options


@router.get("/admin/audit")
@back_to("/admin/people")
def audit(
    request: Request,
    ctx: Ctx,
    admin: CurrentAdmin,
    page: int = 1,
    actor: str = "",
    action: str = "",
    target: str = "",
    date_from: str = "",
    date_to: str = "",
):
    filters = {"actor": actor, "action": action, "target": target, "date_from": date_from, "date_to": date_to}
    errors = {}
    days = {}
    for field in ("date_from", "date_to"):
        try:
            days[field] = _day(filters[field])
        except BadInputError as exc:  # said beside that date field
            errors[field] = error_text(request, exc)
    result = None
    if not errors:
        try:
            result = list_entries(
                ctx,
                page=min(max(1, page), MAX_PAGE),
                size=AUDIT_PAGE_SIZE,
                actor_label=actor,
                action=action,
                target=target,
                date_from=days["date_from"],
                date_to=days["date_to"],
                actor=admin,
            )
        except BadInputError as exc:  # the days reversed: said beside "To"
            errors["date_to"] = error_text(request, exc)
    if errors:  # the form again with the reason beside the date, the log unfiltered
        result = list_entries(ctx, page=1, size=AUDIT_PAGE_SIZE, actor=admin)
    actors, actions = filter_choices(ctx, actor=admin)

    def said(code: str) -> str:
        words = action_words(code)
        return f"{localise(request, words)} ({code})" if words else code

    action_options = sorted(_choices(request, actions, action, said), key=lambda o: o["text"].casefold())
    kind_options = [{"value": k, "text": localise(request, v)} for k, v in ACTOR_KINDS.items()]
    actor_options = kind_options + _choices(
        request, actors, actor if actor not in ACTOR_KINDS else "", lambda a: a
    )
    kept = urlencode({k: v for k, v in filters.items() if v})
    return render(
        request,
        "admin/audit.html",
        status_code=400 if errors else 200,
        admin=admin,
        nav="audit",
        entries=[
            {
                "row": e,
                "target": target_words(request, e.target, e.target_label),
                "details": detail_words(request, ctx, e.action, e.detail),
            }
            for e in result.items
        ],
        # each action in words in the reader's language (the code stays beside it, for the filter)
        words={e.action: localise(request, action_words(e.action)) for e in result.items},
        page=result.page,
        pages=result.pages,
        filters=filters,
        filter_errors=errors,
        actor_options=actor_options,
        action_options=action_options,
        kept=("&" + kept) if kept else "",
    )
