"""Languages on the pages (docs/languages.md): the kiosk's own language > the switcher's cookie >
Accept-Language > the site default; <html lang> says which; dates in the language's format; the
JSON API stays English."""

from __future__ import annotations

import html
import json
import re

from fastapi.testclient import TestClient

from tests.kiosk_pairing import pair_client
from tests.page_client import app_with_admins, context, csrf_of, sign_in
from whosthat.services import kiosks
from whosthat.services.common import Context
from whosthat.store import repositories as repo
from whosthat.web.language import LANGUAGE_COOKIE


def _lang(html: str) -> str:
    return re.search(r'<html lang="(\w+)">', html).group(1)


def test_accept_language_then_the_switcher_then_the_default(tmp_path):
    app = app_with_admins(tmp_path)
    with TestClient(app) as client:
        page = client.get("/login")
        assert _lang(page.text) == "en" and "Administrator sign in" in page.text
        german = client.get("/login", headers={"Accept-Language": "de-CH, fr;q=0.5"})
        assert _lang(german.text) == "de" and "Anmeldung für Administratoren" in german.text
        italian = client.get("/login", headers={"Accept-Language": "pt-BR, it;q=0.8, de;q=0.4"})
        assert _lang(italian.text) == "it" and "Accesso amministratori" in italian.text

        # the switcher beats the browser's header, and goes back to the page it was on
        chosen = client.post(
            "/language",
            data={"csrf_token": csrf_of(german.text), "lang": "fr", "next": "/login?next=/admin/people"},
            follow_redirects=False,
        )
        assert chosen.status_code == 303 and chosen.headers["location"] == "/login?next=/admin/people"
        assert client.cookies.get(LANGUAGE_COOKIE) == "fr"
        french = client.get("/login", headers={"Accept-Language": "de"})
        assert _lang(french.text) == "fr" and "Connexion administrateur" in french.text


def test_the_switcher_refuses_bad_input_and_foreign_addresses(tmp_path):
    app = app_with_admins(tmp_path)
    with TestClient(app) as client:
        token = csrf_of(client.get("/login").text)
        for bad in ("xx", "de-CH", "", "DE"):
            refused = client.post(
                "/language", data={"csrf_token": token, "lang": bad}, follow_redirects=False
            )
            assert refused.status_code == 400, bad
            assert LANGUAGE_COOKIE not in client.cookies
        no_csrf = client.post("/language", data={"lang": "de"}, follow_redirects=False)
        assert no_csrf.status_code == 403 and LANGUAGE_COOKIE not in client.cookies
        away = client.post(
            "/language",
            data={"csrf_token": token, "lang": "de", "next": "//evil.example/"},
            follow_redirects=False,
        )
        assert away.status_code == 303 and away.headers["location"] == "/"


def test_the_site_default_language(tmp_path):
    app = app_with_admins(tmp_path, default_language="it")
    with TestClient(app) as client:
        assert _lang(client.get("/login").text) == "it"
        assert _lang(client.get("/login", headers={"Accept-Language": "fr"}).text) == "fr"


def test_the_kiosks_own_language_beats_the_browser_and_the_api_stays_english(tmp_path):
    app = app_with_admins(tmp_path)
    runtime = app.state.runtime
    with TestClient(app) as client:
        pair_client(client, runtime, "lobby")
        page = client.get("/kiosk", headers={"Accept-Language": "de"})
        assert _lang(page.text) == "de"  # no language of its own: the browser's
        sign_in(client)
        admin = client.get("/admin/kiosks")
        row = repo.kiosks.by_name(context(app).db, "lobby")
        set_it = client.post(
            f"/admin/kiosks/{row.id}/language",
            data={"csrf_token": csrf_of(admin.text), "language": "it"},
            follow_redirects=True,
        )
        assert "Kiosk lobby now speaks Italiano." in set_it.text
        page = client.get("/kiosk", headers={"Accept-Language": "de"})
        assert _lang(page.text) == "it"
        texts = json.loads(re.search(r'id="kiosk-texts">(.*?)</script>', page.text, re.S).group(1))
        assert texts["prompts"]["blink"] == "Sbatta lentamente le palpebre"
        assert texts["words"]["welcome_in"].startswith("Buongiorno, %(name)s")
        # a bad language: the reason on the kiosks page (post/redirect/get), nothing changed
        bad = client.post(
            f"/admin/kiosks/{row.id}/language",
            data={"csrf_token": csrf_of(admin.text), "language": "klingon"},
            follow_redirects=False,
        )
        assert bad.status_code == 303
        assert "must be one of en, de, it, fr" in client.get(bad.headers["location"]).text
        assert repo.kiosks.by_name(context(app).db, "lobby").language == "it"
        # the JSON API keeps English whatever the browser asks for
        api = client.get("/api/v1/people/999", headers={"Accept-Language": "de"})
        assert api.status_code == 404 and "no person" in api.json()["detail"]


def test_error_pages_and_service_messages_in_the_readers_language(tmp_path):
    app = app_with_admins(tmp_path)
    with TestClient(app) as client:
        missing = client.get("/no/such/page", headers={"Accept": "text/html", "Accept-Language": "fr"})
        assert missing.status_code == 404 and "Il n'y a pas de page à cette adresse." in html.unescape(
            missing.text
        )
        sign_in(client)
        admin = client.get("/admin/kiosks")
        with Context.open(app.state.runtime) as ctx:
            kiosks.create_kiosk(ctx, name="door")
        twice = client.post(
            "/admin/kiosks",
            data={"csrf_token": csrf_of(admin.text), "name": "door"},
            headers={"Accept-Language": "de"},
        )
        assert twice.status_code == 200 and '<html lang="de">' in twice.text
        assert "door ist bereits der Name eines Kiosks" in html.unescape(twice.text)


def test_dates_in_the_languages_format(tmp_path):
    from datetime import UTC, datetime

    from whosthat import i18n

    at = datetime(2026, 12, 2, 18, 11, tzinfo=UTC)
    assert i18n.format_datetime(at, "de") == "02.12.26, 18:11"
    assert i18n.format_datetime(at, "en") == "02/12/2026, 18:11"
    assert i18n.format_day(at, "fr") == "mer. 2 déc."
    assert i18n.format_date(at.date(), "it") == "2 dic 2026"
