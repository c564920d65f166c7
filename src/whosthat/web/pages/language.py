"""The language switcher on every page: POST /language (lang, next) keeps the choice in a cookie and
goes back to the page it came from. The choice beats the browser's Accept-Language; a kiosk's own
language (set by an administrator) beats it on that kiosk (web/language.py)."""

from __future__ import annotations

from fastapi import Request

from whosthat import i18n
from whosthat.errors import BadInputError
from whosthat.i18n import M_
from whosthat.web import deps
from whosthat.web.language import LANGUAGE_COOKIE, LANGUAGE_COOKIE_MAX_AGE_S
from whosthat.web.pages.common import page_router, redirect

router = page_router()


def _local_path(value) -> str:
    """Only a local path is followed back (no open redirect); else the home page."""
    if isinstance(value, str) and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


@router.post("/language", dependencies=[deps.VerifyCsrf])
async def choose_language(request: Request):
    form = await request.form()
    lang = form.get("lang")
    chosen = i18n.normalise(lang) if isinstance(lang, str) else None
    if chosen is None or chosen != lang:
        raise BadInputError(
            M_("choose one of the languages offered (%(languages)s)", languages=", ".join(i18n.LANGUAGES))
        )
    response = redirect(_local_path(form.get("next")))
    response.set_cookie(
        LANGUAGE_COOKIE,
        chosen,
        max_age=LANGUAGE_COOKIE_MAX_AGE_S,
        httponly=True,
        samesite="lax",
        secure=request.app.state.runtime.settings.session_https_only,
    )
    return response
