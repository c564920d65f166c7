"""The catalogues: every string marked in the source (extracted now, with babel.cfg's methods and
`make i18n`'s keywords) has a real translation in German, Italian and French (not empty, not fuzzy,
the same %(name)s placeholders), and the catalogues load. How to add a string: docs/languages.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from whosthat import i18n

ROOT = Path(__file__).resolve().parents[1]
TRANSLATED = [lang for lang in i18n.LANGUAGES if lang != i18n.SOURCE_LANGUAGE]
KEYWORDS = {**DEFAULT_KEYWORDS, "M_": None, "tr": (2,), "trn": (2, 3)}
PLACEHOLDER = re.compile(r"%(?:\((\w+)\))?[sdifr]")


def _extracted() -> dict[str | tuple[str, ...], list[str]]:
    """msgid (a tuple for plural forms) -> where it is used, from the source as it is now."""
    with (ROOT / "babel.cfg").open() as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    found: dict = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        key = message if isinstance(message, str) else tuple(message)
        if key if isinstance(key, str) else key[0]:
            found.setdefault(key, []).append(f"{filename}:{lineno}")
    return found


EXTRACTED = _extracted()


def _catalogue(lang: str):
    with i18n.catalogue_path(lang).open("rb") as fh:
        return read_po(fh, locale=lang)


def _placeholders(text: str) -> list[str]:
    return sorted(m.group(0) for m in PLACEHOLDER.finditer(text.replace("%%", "")))


def test_the_source_has_marked_strings():
    assert len(EXTRACTED) > 40  # the extraction itself works (a broken babel.cfg finds nothing)


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_string_is_translated(lang):
    catalogue = _catalogue(lang)
    problems = []
    for msgid, where in sorted(EXTRACTED.items(), key=lambda kv: str(kv[0])):
        key = msgid if isinstance(msgid, str) else msgid[0]
        entry = catalogue.get(key)
        at = where[0]
        if entry is None:
            problems.append(f"missing: {key!r} ({at})")
            continue
        if entry.fuzzy:
            problems.append(f"fuzzy: {key!r} ({at})")
            continue
        ids = list(msgid) if isinstance(msgid, tuple) else [msgid]
        strings = list(entry.string) if isinstance(entry.string, tuple | list) else [entry.string]
        if not all(s.strip() for s in strings):
            problems.append(f"empty: {key!r} ({at})")
            continue
        for s in strings:
            # every plural form keeps the singular's or the plural's placeholders
            if _placeholders(s) not in [_placeholders(i) for i in ids] and not (
                len(ids) > 1 and set(_placeholders(s)) <= set(_placeholders(ids[-1]))
            ):
                problems.append(f"placeholders differ: {key!r} -> {s!r} ({at})")
    assert not problems, (
        f"{lang}: {len(problems)} catalogue problems (run `make i18n`, then translate):\n"
        + "\n".join(problems)
    )


@pytest.mark.parametrize("lang", TRANSLATED)
def test_the_catalogue_loads_and_translates(lang):
    i18n.translations.cache_clear()
    translations = i18n.translations(lang)
    assert translations.gettext("Sign out") != "Sign out"
    assert i18n.translate(i18n.M_("Signed in as %(name)s", name="Ada"), lang).count("Ada") == 1


def test_the_catalogue_test_fails_on_a_missing_string(tmp_path, monkeypatch):
    """The check above is real: a catalogue without one extracted string is reported."""
    catalogue = _catalogue("de")
    some = next(iter(EXTRACTED))
    del catalogue[some if isinstance(some, str) else some[0]]
    from babel.messages.pofile import write_po

    (tmp_path / "de" / "LC_MESSAGES").mkdir(parents=True)
    with (tmp_path / "de" / "LC_MESSAGES" / "messages.po").open("wb") as fh:
        write_po(fh, catalogue)
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    with pytest.raises(AssertionError, match="missing"):
        test_every_string_is_translated("de")


def test_negotiation_and_formats():
    assert i18n.negotiate("fr-CH, fr;q=0.9, en;q=0.8") == "fr"
    assert i18n.negotiate("xx, de;q=0.2, it;q=0.5") == "it"
    assert i18n.negotiate("de;q=0, *") is None
    assert i18n.negotiate("") is None
    assert i18n.normalise("de-CH") == "de" and i18n.normalise("pt") is None
    assert i18n.format_number(1234.5, "de") == "1.234,5"
    assert i18n.format_number(1234.5, "fr") == "1\u202f234,5"
    assert i18n.format_number(1234.5, "en") == "1,234.5"
    assert i18n.format_duration(300, "de") == "5 Minuten"


# Text in a template that is not wrapped in _() (or {% trans %}): every text node and every
# placeholder / aria-label / title / alt value with a word in it, Jinja expressions taken out.
# Allowed: the brand, and names of things that read the same in every language.
TEMPLATE_WORDS_ALLOWED = {"who's", "that", "who's that?", "· whosthat", "whosthat · whosthat"}
ATTRIBUTES = re.compile(r'^([\w-]+="[^"]*"\s*)+$')  # a macro's attribute text, e.g. aria-invalid="true"


def _untranslated_literals(path: Path) -> list[str]:
    from html.parser import HTMLParser

    source = re.sub(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", " ", path.read_text(), flags=re.S)
    found: list[str] = []

    class Literals(HTMLParser):
        skip = False

        def handle_starttag(self, tag, attrs):
            self.skip = tag in ("script", "style", "code")
            for name, value in attrs:
                if (
                    name in ("placeholder", "aria-label", "title", "alt")
                    and value
                    and re.search(r"[A-Za-z]{2,}", value)
                ):
                    found.append(f"{path.name}:{self.getpos()[0]}: {name}={value!r}")

        def handle_endtag(self, tag):
            self.skip = False

        def handle_data(self, data):
            text = " ".join(data.split())
            if (
                not self.skip
                and re.search(r"[A-Za-z]{2,}", text)
                and text not in TEMPLATE_WORDS_ALLOWED
                and not ATTRIBUTES.match(text)
            ):
                found.append(f"{path.name}:{self.getpos()[0]}: {text!r}")

    Literals().feed(source)
    return found


def test_no_template_shows_untranslated_text():
    templates = sorted((ROOT / "src" / "whosthat" / "web" / "templates").rglob("*.html"))
    assert templates
    found = [line for path in templates for line in _untranslated_literals(path)]
    assert not found, "wrap these in {{ _(...) }} (docs/languages.md):\n" + "\n".join(found)


# A field's or a person's name is filled in where the grammar of Italian and French would make the
# adjective agree with it ("La data è obbligatoria", "La date est obligatoire"): those messages name the
# field apart ("Campo obbligatorio: %(field)s", "%(field)s : le champ ...") so they are right for all.
AGREEING = {
    "it": re.compile(r"^%\((?:field|name)\)s (?:è|non è|non può|deve)\b"),
    "fr": re.compile(r"^%\((?:field|name)\)s (?:est|n'est|ne doit|doit)\b"),
}


@pytest.mark.parametrize("lang", sorted(AGREEING))
def test_no_adjective_agrees_with_a_filled_in_name(lang):
    found = [
        f"{m.id!r}: {m.string!r}"
        for m in _catalogue(lang)
        if m.id and isinstance(m.string, str) and AGREEING[lang].search(m.string)
    ]
    assert not found, "\n".join(found)


def test_french_says_borne_for_a_kiosk():
    found = [m.string for m in _catalogue("fr") if m.id and "kiosque" in str(m.string).lower()]
    assert not found, found
    german = [
        m.string for m in _catalogue("de") if m.id and re.search(r"\bTerminal|Station\b", str(m.string))
    ]
    assert not german, german
