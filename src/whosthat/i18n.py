"""Languages: the gettext catalogues (English is the source; German, Italian and French are translated in
src/whosthat/locale/<lang>/LC_MESSAGES/messages.po), the choice of a language from a header, and dates,
times, numbers and durations in a language's format (Babel's CLDR data). docs/languages.md says how to
add a string or a language.

The .po files are the only form kept: each is compiled to a catalogue in memory the first time it is
needed (babel.messages.mofile), so there is no .mo file to build, forget or let go stale. Fuzzy and
empty translations are left out (the English text shows), and tests/test_i18n.py fails on them.

Text built in code is marked for extraction in one of two ways: `N_("...")` for a constant (the
translation happens where it is shown, with `translate(text, lang)`), and `M_("... %(name)s", name=x)`
for a message with values (an error's message): it is the English text, and still knows its msgid and
values, so a page can show it in the reader's language while the JSON API and the logs keep English.
"""

from __future__ import annotations

import gettext as _gettext
import io
import re
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import lru_cache
from pathlib import Path

from babel import Locale
from babel import dates as babel_dates
from babel import numbers as babel_numbers
from babel.messages import mofile, pofile

LOCALE_DIR = Path(__file__).with_name("locale")
DOMAIN = "messages"
SOURCE_LANGUAGE = "en"
LANGUAGES = ("en", "de", "it", "fr")
# Each language's name in that language, for the language switcher.
LANGUAGE_NAMES = {"en": "English", "de": "Deutsch", "it": "Italiano", "fr": "Français"}
# The CLDR locale whose formats each language uses. English is British English: the 24-hour clock and
# day-month order the app has always shown (and that a European workplace reads).
FORMAT_LOCALES = {"en": "en_GB", "de": "de_DE", "it": "it_IT", "fr": "fr_FR"}


def N_(text: str) -> str:
    """Marks a constant for the catalogue; it is translated where it is shown (`translate`)."""
    return text


class Message(str):
    """A message with values, marked for the catalogue: its value is the English text (for the API, the
    logs and the command line); `msgid` and `params` let a page show it in another language."""

    msgid: str
    params: dict

    def __new__(cls, msgid: str, **params):
        self = super().__new__(cls, msgid % params if params else msgid)
        self.msgid = msgid
        self.params = params
        return self


M_ = Message


class Joined(str):
    """Marked messages joined into one text ("face too small ...; image too blurry ..."): its value is
    the English parts joined by `sep`; `translate` joins the parts in the reader's language."""

    parts: tuple
    sep: str

    def __new__(cls, parts, sep: str = "; "):
        parts = tuple(parts)
        self = super().__new__(cls, sep.join(str(p) for p in parts))
        self.parts = parts
        self.sep = sep
        return self


def normalise(lang: str | None) -> str | None:
    """One of LANGUAGES for a tag such as "de", "de-CH" or "fr_FR"; None for anything else."""
    if not isinstance(lang, str):
        return None
    primary = lang.strip().replace("_", "-").split("-")[0].lower()
    return primary if primary in LANGUAGES else None


_ACCEPT_ITEM = re.compile(r"^\s*([A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*|\*)\s*(?:;\s*q\s*=\s*([0-9.]+))?\s*$")


def negotiate(accept_language: str | None) -> str | None:
    """The best of LANGUAGES for an Accept-Language header (RFC 9110 quality values), or None."""
    if not accept_language:
        return None
    choices = []
    for position, item in enumerate(accept_language.split(",")[:32]):
        match = _ACCEPT_ITEM.match(item)
        if not match:
            continue
        try:
            quality = float(match.group(2)) if match.group(2) is not None else 1.0
        except ValueError:
            continue
        lang = normalise(match.group(1))
        if lang and quality > 0:
            choices.append((-quality, position, lang))
    return min(choices)[2] if choices else None


def catalogue_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@lru_cache(maxsize=len(LANGUAGES))
def translations(lang: str) -> _gettext.NullTranslations:
    """The catalogue of `lang`, compiled in memory from its .po file (English: the source, untranslated)."""
    lang = normalise(lang) or SOURCE_LANGUAGE
    path = catalogue_path(lang)
    if lang == SOURCE_LANGUAGE or not path.is_file():
        return _gettext.NullTranslations()
    with path.open("rb") as fh:
        catalog = pofile.read_po(fh, locale=lang, domain=DOMAIN)
    buffer = io.BytesIO()
    mofile.write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return _gettext.GNUTranslations(buffer)


def _shown(value, lang: str):
    """A value as a message shows it in `lang`: a day (a date, not a datetime) in the language's date
    format (2 Dec 2026, 02.12.2026, 2 dic 2026, 2 déc. 2026); the English text of a Message, the API's
    and the log's, keeps ISO 8601 (str(date))."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return format_date(value, lang)
    return value


def gettext(lang: str, msgid: str, **params) -> str:
    """`msgid` in `lang`, with `params` filled in (`%(name)s` placeholders; a date in `lang`'s format)."""
    text = translations(lang).gettext(msgid)
    return text % {k: _shown(v, lang) for k, v in params.items()} if params else text


def ngettext(lang: str, singular: str, plural: str, n: int, **params) -> str:
    text = translations(lang).ngettext(singular, plural, n)
    params.setdefault("num", n)
    return text % {k: _shown(v, lang) for k, v in params.items()}


def translate(text: str | None, lang: str) -> str:
    """A marked text in `lang`: a Message with its values, an N_ constant by its English text. Text that
    is not in the catalogue (a name, a value) comes back as it is."""
    if not text:
        return text or ""
    if isinstance(text, Joined):
        return text.sep.join(translate(p, lang) for p in text.parts)
    if isinstance(text, Message):
        translated = translations(lang).gettext(text.msgid)
        # values that are marked messages themselves ("in", a nested line) are translated too
        params = {
            k: translate(v, lang) if isinstance(v, Message | Joined) else _shown(v, lang)
            for k, v in text.params.items()
        }
        try:
            return translated % params if params else translated
        except (KeyError, TypeError, ValueError):  # a broken translation shows the English text
            return str(text)
    return translations(lang).gettext(str(text))


# Formats ------------------------------------------------------------------------------------------
def format_locale(lang: str | None) -> Locale:
    return Locale.parse(FORMAT_LOCALES.get(normalise(lang) or SOURCE_LANGUAGE, "en_GB"))


def _local(value: datetime, tz: tzinfo | None) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(tz or UTC)


def format_time(value: datetime, lang: str, tz: tzinfo | None = None) -> str:
    """A time of day, e.g. 19:11 (en, de, it, fr)."""
    return babel_dates.format_time(_local(value, tz), "short", locale=format_locale(lang))


def format_datetime(value: datetime, lang: str, tz: tzinfo | None = None) -> str:
    """A date and time, e.g. 02.12.2026, 19:11 (de), 02/12/2026 19:11 (fr)."""
    local = _local(value, tz)
    locale = format_locale(lang)
    return babel_dates.format_datetime(local, "short", locale=locale).replace("\u202f", " ")


def format_day(value: datetime | date, lang: str, tz: tzinfo | None = None) -> str:
    """A day in words, short: Wed 2 Dec (en), Mi., 2. Dez. (de), mer 2 dic (it), mer. 2 déc. (fr)."""
    if isinstance(value, datetime):
        value = _local(value, tz).date()
    locale = format_locale(lang)
    skeleton = babel_dates.format_skeleton("MMMEd", value, locale=locale)
    return skeleton


def format_date(value: datetime | date, lang: str, tz: tzinfo | None = None, form: str = "medium") -> str:
    """A date: 2 Dec 2026 (en, medium), 02.12.2026 (de, medium)."""
    if isinstance(value, datetime):
        value = _local(value, tz).date()
    return babel_dates.format_date(value, form, locale=format_locale(lang))


def format_number(value: float | int, lang: str, digits: int | None = None) -> str:
    """A number with the language's separators: 1,234.5 (en), 1.234,5 (de, it), 1 234,5 (fr)."""
    locale = format_locale(lang)
    if digits is None:
        return babel_numbers.format_decimal(value, locale=locale)
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return babel_numbers.format_decimal(value, format=pattern, locale=locale)


def format_hours(seconds: float | None, lang: str) -> str:
    """Worked time as H:MM (7:45): the timesheet form every one of these languages reads the same."""
    minutes = int(round((seconds or 0) / 60))
    return f"{babel_numbers.format_decimal(minutes // 60, locale=format_locale(lang))}:{minutes % 60:02d}"


def format_duration(seconds: float, lang: str) -> str:
    """A duration in words: 5 minutes (en), 5 Minuten (de), 5 minuti (it), 5 minutes (fr)."""
    return babel_dates.format_timedelta(
        timedelta(seconds=seconds), threshold=1.5, locale=format_locale(lang), format="long"
    )
