"""The language of a request and the translation functions its templates and handlers use.

The choice, first that applies: the kiosk's own language (an administrator sets it on the kiosk's
record; the kiosk page and the pages opened from it set `request.state.language`), the person's
explicit choice (the language switcher on every page: cookie `whosthat_lang`), the browser's
Accept-Language, the site default (setting `default_language`, default en).

Templates get per-request callables in their context (`gettext`/`_`, `ngettext`, `lang`): the shared
Jinja environment never holds one language's translations, because requests run concurrently.
"""

from __future__ import annotations

from fastapi import Request
from jinja2 import pass_context
from markupsafe import Markup

from whosthat import i18n

LANGUAGE_COOKIE = "whosthat_lang"
LANGUAGE_COOKIE_MAX_AGE_S = 365 * 24 * 3600


def request_language(request: Request) -> str:
    """The request's language (see the module docstring), computed once per request."""
    chosen = getattr(request.state, "language", None)
    if chosen:
        return chosen
    lang = (
        i18n.normalise(request.cookies.get(LANGUAGE_COOKIE))
        or i18n.negotiate(request.headers.get("accept-language"))
        or _site_default(request)
    )
    request.state.language = lang
    return lang


def use_language(request: Request, lang: str | None) -> None:
    """Make `lang` (when it is one of i18n.LANGUAGES) this request's language: a kiosk's own setting."""
    lang = i18n.normalise(lang)
    if lang:
        request.state.language = lang


def _site_default(request: Request) -> str:
    runtime = getattr(request.app.state, "runtime", None)
    settings = getattr(runtime, "settings", None)
    return i18n.normalise(getattr(settings, "default_language", None)) or i18n.SOURCE_LANGUAGE


def tr(request: Request, msgid: str, **params) -> str:
    """`msgid` (marked for the catalogue: keyword tr:2) in the request's language, values filled in."""
    return i18n.gettext(request_language(request), msgid, **params)


def trn(request: Request, singular: str, plural: str, n: int, **params) -> str:
    """The plural form for `n` in the request's language (keyword trn:2,3); %(num)s is `n`."""
    return i18n.ngettext(request_language(request), singular, plural, n, **params)


def localise(request: Request, text) -> str:
    """A text from the services (an error's M_ message, an N_ constant) in the request's language."""
    return i18n.translate(text, request_language(request))


def _template_gettext(lang: str):
    translations = i18n.translations(lang)

    @pass_context
    def gettext(__context, __string: str, **variables) -> str:
        rv = translations.gettext(__string)
        if __context.eval_ctx.autoescape:
            rv = Markup(rv)
        return rv % variables  # as Jinja's own newstyle gettext: a literal % is written %%

    @pass_context
    def ngettext(__context, __singular: str, __plural: str, __num: int, **variables) -> str:
        variables.setdefault("num", __num)
        rv = translations.ngettext(__singular, __plural, __num)
        if __context.eval_ctx.autoescape:
            rv = Markup(rv)
        return rv % variables

    return gettext, ngettext


def template_context(request: Request) -> dict:
    """The context processor of the Jinja templates: this request's language and its translations."""
    lang = request_language(request)
    gettext, ngettext = _template_gettext(lang)
    return {
        "lang": lang,
        "gettext": gettext,
        "ngettext": ngettext,
        "languages": i18n.LANGUAGE_NAMES,
        "localise": lambda text: i18n.translate(text, lang),
    }
