"""The Jinja2 environment of web/templates, shared by the pages and the error handlers: the template
filters (times in the site's time zone and the request's language, worked hours, model names in words),
the CSRF token as a global, and the i18n extension whose translations come per request
(web/language.py's context processor), never installed on this shared environment."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from fastapi.templating import Jinja2Templates
from jinja2 import pass_context

from whosthat import i18n
from whosthat.i18n import N_
from whosthat.web.deps import csrf_token
from whosthat.web.language import template_context

TEMPLATES_DIR = Path(__file__).with_name("templates")
templates = Jinja2Templates(directory=str(TEMPLATES_DIR), context_processors=[template_context])
templates.env.add_extension("jinja2.ext.i18n")
templates.env.newstyle_gettext = True  # {% trans %} and _() fill %(name)s themselves, escaping the values


def local_time(value: datetime, tz) -> datetime:
    """A stored (UTC) time in the zone `tz` (the site's; the context's `tz` in templates)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(tz or UTC)


def _time_filter(formatter):
    @pass_context
    def render_time(ctx, value) -> str:
        return formatter(value, ctx.get("lang") or i18n.SOURCE_LANGUAGE, ctx.get("tz")) if value else "–"

    return render_time


@pass_context
def _hours(ctx, seconds: float | None) -> str:
    return hours(seconds, ctx.get("lang") or i18n.SOURCE_LANGUAGE)


def hours(seconds: float | None, lang: str = i18n.SOURCE_LANGUAGE) -> str:
    """Worked time as H:MM (e.g. 7:45)."""
    return i18n.format_hours(seconds, lang)


@pass_context
def _number(ctx, value, digits: int | None = None) -> str:
    return i18n.format_number(value, ctx.get("lang") or i18n.SOURCE_LANGUAGE, digits)


@pass_context
def _weekday(ctx, value) -> str:
    """A date's weekday, abbreviated in the request's language (Wed, Mi., mer, mer.)."""
    from babel.dates import format_date

    return format_date(value, "EEE", locale=i18n.format_locale(ctx.get("lang")))


def model_name(name: str | None) -> str:
    """An embedder's registry name in words (the zoo's display name, from the model card)."""
    from whosthat.models.zoo import display_name

    return display_name(name) if name else "–"


# The enrolment quality score (vision.quality.assess_quality: 0.3 face size + 0.3 sharpness + 0.3
# frontal + 0.1 exposure) in words, best first.
QUALITY_WORDS = ((0.85, N_("very good quality")), (0.7, N_("good quality")), (0.55, N_("fair quality")))


def quality_words(score: float | None) -> str:
    """A template's quality score in words ("good quality"), with no unexplained number."""
    if score is None:
        return N_("quality not measured")
    return next((words for floor, words in QUALITY_WORDS if score >= floor), N_("poor quality"))


@pass_context
def _quality_words(ctx, score: float | None) -> str:
    return i18n.translate(quality_words(score), ctx.get("lang") or i18n.SOURCE_LANGUAGE)


# Words the templates show from stored values, translated with the `localise` filter.
ROLE_WORDS = (N_("admin"), N_("viewer"))
EVENT_WORDS = (N_("in"), N_("out"))  # attendance event kinds
REQUEST_WORDS = (N_("add"), N_("edit"), N_("void"), N_("pending"), N_("approved"), N_("rejected"), N_("all"))
REVIEW_WORDS = (N_("confirmed"), N_("voided"))  # review queue decisions
# why a kiosk event is in the review queue (services.reviews.reasons_for)
REVIEW_REASONS = {
    "weak_match": N_("weak match"),
    "liveness_warning": N_("liveness check passed with a warning"),
    "pin_login": N_("PIN login"),
}
# how an attendance event came in (store.models.AttendanceEvent.source), as the event page says it
EVENT_SOURCES = {
    "kiosk": N_("face login"),
    "pin": N_("PIN login"),
    "api": N_("through the API"),
    "manual": N_("entered by an administrator"),
    "correction": N_("correction"),
}
# a timesheet day's status (services.timesheets: present, absent, half_day, open, off, holiday)
DAY_STATUSES = {
    "present": N_("present"),
    "absent": N_("absent"),
    "half_day": N_("half day"),
    "open": N_("in progress"),
    "off": N_("off"),
}


def code_in_words(words: dict[str, str], code: str, lang: str) -> str:
    """A stored code in the reader's words from `words`; an unknown code as written, underscores as
    spaces."""
    said = words.get(code)
    return i18n.translate(said, lang) if said else code.replace("_", " ")


def _code_filter(words: dict[str, str], default: str = ""):
    """A template filter saying a stored code (None -> `default`) with `code_in_words`."""

    @pass_context
    def say(ctx, code: str | None) -> str:
        return code_in_words(words, code or default, ctx.get("lang") or i18n.SOURCE_LANGUAGE)

    return say


# the schedule form's weekdays (services.schedules.WEEKDAYS, capitalised)
WEEKDAY_WORDS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))

TEMPLATE_SOURCES = {
    "upload": N_("uploaded photo"),
    "webcam": N_("webcam photo"),
    "api": N_("photo sent through the API"),
    "cli": N_("photo from the command line"),
}


def template_source(source: str | None) -> str:
    """Where a template's photo came from, in words."""
    return TEMPLATE_SOURCES.get(source or "upload", N_("photo"))


@pass_context
def _template_source(ctx, source: str | None) -> str:
    return i18n.translate(template_source(source), ctx.get("lang") or i18n.SOURCE_LANGUAGE)


def first_upper(text: str) -> str:
    """The first letter upper case and the rest as written (Jinja's `capitalize` lowers the rest, which
    turned German's "Webcam-Foto" into "Webcam-foto")."""
    return text[:1].upper() + text[1:]


@pass_context
def _localise(ctx, text) -> str:
    return i18n.translate(text, ctx.get("lang") or i18n.SOURCE_LANGUAGE)


templates.env.filters.update(
    quality_words=_quality_words,
    template_source=_template_source,
    dt=_time_filter(i18n.format_datetime),
    hm=_time_filter(i18n.format_time),
    day=_time_filter(i18n.format_day),
    date=_time_filter(i18n.format_date),
    weekday=_weekday,
    hours=_hours,
    number=_number,
    localise=_localise,
    model_name=model_name,
    first_upper=first_upper,
    review_reason=_code_filter(REVIEW_REASONS),
    event_source=_code_filter(EVENT_SOURCES, default="kiosk"),
    day_status=_code_filter(DAY_STATUSES),
)
templates.env.globals["csrf_token"] = csrf_token
