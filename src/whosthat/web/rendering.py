"""The Jinja2 environment of web/templates, shared by the pages and the error handlers: the template
filters (times in the site's time zone, worked hours, model names in words) and the CSRF token as a global."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from fastapi.templating import Jinja2Templates
from jinja2 import pass_context

from whosthat.web.deps import csrf_token

TEMPLATES_DIR = Path(__file__).with_name("templates")
templates = Jinja2Templates(directory=str(TEMPLATES_DIR))


def local_time(value: datetime, tz) -> datetime:
    """A stored (UTC) time in the zone `tz` (the site's; the context's `tz` in templates)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(tz or UTC)


def _time_filter(fmt: str):
    @pass_context
    def render_time(ctx, value) -> str:
        return local_time(value, ctx.get("tz")).strftime(fmt) if value else "–"

    return render_time


def hours(seconds: float | None) -> str:
    """Worked time as H:MM (e.g. 7:45)."""
    minutes = int(round((seconds or 0) / 60))
    return f"{minutes // 60}:{minutes % 60:02d}"


def model_name(name: str | None) -> str:
    """An embedder's registry name in words (the zoo's display name, from the model card)."""
    from whosthat.models.zoo import display_name

    return display_name(name) if name else "–"


# The enrolment quality score (vision.quality.assess_quality: 0.3 face size + 0.3 sharpness + 0.3
# frontal + 0.1 exposure) in words, best first.
QUALITY_WORDS = ((0.85, "very good quality"), (0.7, "good quality"), (0.55, "fair quality"))


def quality_words(score: float | None) -> str:
    """A template's quality score in words ("good quality"), with no unexplained number."""
    if score is None:
        return "quality not measured"
    return next((words for floor, words in QUALITY_WORDS if score >= floor), "poor quality")


def template_source(source: str | None) -> str:
    """Where a template's photo came from, in words."""
    words = {
        "upload": "uploaded photo",
        "webcam": "webcam photo",
        "api": "photo sent through the API",
        "cli": "photo from the command line",
    }
    return words.get(source or "upload", "photo")


templates.env.filters.update(
    quality_words=quality_words,
    template_source=template_source,
    dt=_time_filter("%Y-%m-%d %H:%M"),
    hm=_time_filter("%H:%M"),
    day=_time_filter("%a %d %b"),
    hours=hours,
    model_name=model_name,
)
templates.env.globals["csrf_token"] = csrf_token
