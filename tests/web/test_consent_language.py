"""The consent text in the reader's language (issue 15, item 4): one text version is one meaning in
English, German, Italian and French; the consent box shows it in the page's language, the record says
which language it was shown in (migration 0016; older records: "not recorded"), and a bad language
is refused with nothing stored."""

from __future__ import annotations

import html
import re

from fastapi.testclient import TestClient

from tests.page_client import app_with_admins, context, csrf_of, sign_in
from tests.store.backends import make_settings
from tests.web.test_messages_language import english_on
from whosthat import i18n
from whosthat.services import consent, people
from whosthat.store import repositories as repo
from whosthat.store.db import alembic_config, make_engine


def _visible(page: str) -> str:
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S | re.I)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def test_every_consent_version_has_its_text_in_every_language():
    for version, texts in consent.CONSENT_TEXTS.items():
        assert set(texts) == set(i18n.LANGUAGES), version
        assert len(set(texts.values())) == len(i18n.LANGUAGES), f"{version}: a text left untranslated"
        assert all(len(t) > 200 for t in texts.values()), version
    assert consent.text_of(consent.CURRENT_VERSION, "de").startswith("Ich bin damit einverstanden")
    assert consent.text_of(consent.CURRENT_VERSION, "fr-CH").startswith("J'accepte")
    assert consent.text_of(consent.CURRENT_VERSION, None) == consent.CONSENT_TEXTS["2026-12"]["en"]


def test_the_box_shows_the_text_in_the_pages_language_and_the_record_keeps_it(tmp_path):
    app = app_with_admins(tmp_path)
    ctx = context(app)
    pid = people.create_person(ctx, employee_code="C-1", name="Greta", surname="Tor").id
    old = people.create_person(ctx, employee_code="C-2", name="Ada", surname="Old").id
    repo.consent.add(ctx.db, person_id=old, text_version=consent.CURRENT_VERSION, taken_by="admin:x")
    ctx.commit()
    ctx.db.close()
    with TestClient(app) as client:
        sign_in(client)
        german = {"Accept-Language": "de"}
        page = client.get(f"/admin/people/{pid}", headers=german).text
        shown = re.search(r'<p class="small muted" id="consent-text" lang="de">(.*?)</p>', page, re.S)
        assert shown and html.unescape(shown.group(1)) == consent.text_of(consent.CURRENT_VERSION, "de")
        assert 'name="consent_language" value="de"' in page
        # no English left on the German page: no known service message, not the English consent text
        assert english_on(page) == [] and consent.CONSENT_TEXTS["2026-12"]["en"][:60] not in html.unescape(
            page
        )
        done = client.post(
            f"/admin/people/{pid}/consent",
            data={"csrf_token": csrf_of(page), "consent_language": "de"},
            headers=german,
            follow_redirects=False,
        )
        assert done.status_code == 303
        page = client.get(done.headers["location"], headers=german).text
        assert "Einwilligung erfasst (Textfassung 2026-12)." in _visible(page)
        assert "Text gezeigt auf: Deutsch." in _visible(page)
        # a record from before the language was kept
        assert "Sprache, in der der Text gezeigt wurde: nicht erfasst." in _visible(
            client.get(f"/admin/people/{old}", headers=german).text
        )
        # the add-person form in French: the record says French
        page = client.get("/admin/people/new", headers={"Accept-Language": "fr"}).text
        assert "J'accepte que mon visage" in html.unescape(page)
        created = client.post(
            "/admin/people/new",
            data={
                "csrf_token": csrf_of(page),
                "employee_code": "C-3",
                "name": "Jeanne",
                "surname": "Borne",
                "consent": consent.CURRENT_VERSION,
                "consent_language": "fr",
            },
            headers={"Accept-Language": "fr"},
            follow_redirects=False,
        )
        assert created.status_code == 303, created.text[:300]
        # withdrawn in Italian: the counts in words
        page = client.get(f"/admin/people/{pid}", headers={"Accept-Language": "it"}).text
        withdrawn = client.post(
            f"/admin/people/{pid}/consent/withdraw",
            data={"csrf_token": csrf_of(page)},
            headers={"Accept-Language": "it"},
            follow_redirects=False,
        )
        page = client.get(withdrawn.headers["location"], headers={"Accept-Language": "it"}).text
        assert (
            "Consenso revocato: 0 modelli del volto e le loro immagini eliminati, oltre a 0 immagini da "
            "verificare. Le presenze restano." in _visible(page)
        )
    ctx = context(app)
    jeanne = repo.people.by_code(ctx.db, "C-3").id
    assert [r.language for r in consent.history(ctx, jeanne)] == ["fr"]
    assert [r.language for r in consent.history(ctx, pid)] == ["de"]
    assert [r.language for r in consent.history(ctx, old)] == [None]
    ctx.db.close()


def test_the_api_records_the_language_and_refuses_an_unknown_one(tmp_path):
    app = app_with_admins(tmp_path)
    ctx = context(app)
    pid = people.create_person(ctx, employee_code="C-9", name="Ida", surname="Api").id
    ctx.db.close()
    with TestClient(app) as client:
        sign_in(client)
        h = {"X-CSRF-Token": csrf_of(client.get("/admin/people").text)}
        texts = client.get("/api/v1/consent/texts").json()
        assert (
            set(texts[0]["texts"]) == {"en", "de", "it", "fr"} and texts[0]["text"] == texts[0]["texts"]["en"]
        )
        bad = client.post(f"/api/v1/people/{pid}/consent", json={"language": "xx"}, headers=h)
        assert bad.status_code == 422 and "language" in bad.json()["detail"]
        assert client.get(f"/api/v1/people/{pid}/consent").json() == []
        ok = client.post(f"/api/v1/people/{pid}/consent", json={"language": "it"}, headers=h)
        assert ok.status_code == 201 and ok.json()["language"] == "it"
        plain = client.post(f"/api/v1/people/{pid}/consent/withdraw", headers=h)
        assert plain.status_code == 200
        again = client.post(f"/api/v1/people/{pid}/consent", json={}, headers=h)
        assert again.json()["language"] is None


def test_0016_adds_the_language_empty_for_old_records_and_downgrades(tmp_path):
    """SQLite (a batch copy of the table): the old record is kept, its language NULL; down again."""
    from alembic import command

    engine = make_engine(make_settings("sqlite", tmp_path).resolved_database_url())
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0014")
        conn.exec_driver_sql(
            "INSERT INTO people (id, employee_code, name, surname, active, created_at, updated_at) "
            "VALUES (1, 'A', 'Ada', 'L', TRUE, '2026-12-01 08:00:00+00:00', '2026-12-01 08:00:00+00:00')"
        )
        conn.exec_driver_sql(
            "INSERT INTO consent_records (person_id, text_version, given_at, taken_by) "
            "VALUES (1, '2026-12', '2026-12-01 08:00:00+00:00', 'admin:a')"
        )
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0016")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT text_version, language FROM consent_records").one() == (
            "2026-12",
            None,
        )
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0014")
    with engine.connect() as conn:
        columns = [r[1] for r in conn.exec_driver_sql("PRAGMA table_info(consent_records)")]
        assert (
            "language" not in columns
            and conn.exec_driver_sql("SELECT count(*) FROM consent_records").scalar() == 1
        )
    engine.dispose()
