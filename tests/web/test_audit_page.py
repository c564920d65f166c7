"""The audit log as an administrator reads it: targets by their name at the time ("person #2" without
one), a deleted person by the code only, details and actions in words in the reader's language (a failed
face login's reason as the message the person read), filters as choices, kept across pages; the API
gets the same filters and the label."""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from tests.page_client import app_with_admins, context, sign_in
from tests.web.test_messages_language import visible_text
from whosthat.services import audit, corrections, kiosk_login, people
from whosthat.services.common import SYSTEM
from whosthat.web.language import LANGUAGE_COOKIE


def _page(client, lang: str, **params):
    client.cookies.set(LANGUAGE_COOKIE, lang)
    return client.get("/admin/audit", params=params)


def test_the_audit_page_says_targets_details_and_actions_in_words(tmp_path):
    app = app_with_admins(tmp_path)
    ctx = context(app)
    ada = people.create_person(ctx, employee_code="E042", name="Ada", surname="Lovelace")
    gone = people.create_person(ctx, employee_code="E077", name="Zebulon", surname="Gone")
    people.delete_person(ctx, gone.id)
    kiosk_login.record_failure(ctx, "lobby", "no_blink", {"steps": ["blink", "turn_left"], "pad_score": 0.91})
    audit.record(ctx, SYSTEM, "test.odd", "person:9", {"<b>odd</b>": "<script>x</script>"})
    corrections.add_event(ctx, ada.id, kind="in", at=datetime.now(UTC) - timedelta(hours=1), reason="late")
    ctx.commit()
    ctx.db.close()
    with TestClient(app) as client:
        sign_in(client)
        de = _page(client, "de")
        text = visible_text(de.text)
        assert f'<span title="person:{ada.id}">Ada Lovelace (E042)</span>' in de.text
        assert "E077 (gelöscht)" in text and "Zebulon" not in de.text  # the deleted person: the code only
        assert "Person Nr. 9" in text  # no label: the kind and number in words
        # the face login's reason: what the person read, in German, its code beside it
        assert "Grund: Wir haben kein Blinzeln gesehen." in text and "<code>no_blink</code>" in de.text
        assert "Schritte: blink, turn_left" in text and "Wert für ein echtes Gesicht: 0,91" in text
        assert 'Gesichtsanmeldung abgelehnt <code class="small">face_login.failed</code>' in de.text
        assert "Grund: late ; Kommen oder Gehen: Kommen ; Zeit: " in text  # the kind in words
        # an unknown key and value are shown as stored, escaped
        assert (
            "&lt;b&gt;odd&lt;/b&gt;: &lt;script&gt;x&lt;/script&gt;" in de.text and "<script>x" not in de.text
        )
        fr = _page(client, "fr")
        assert "E077 (supprimé)" in visible_text(fr.text)
        assert "motif: Nous n'avons pas vu de clignement." in visible_text(fr.text)
        assert "connexion par le visage refusée" in visible_text(fr.text)


def test_the_audit_filters_are_choices_and_paging_keeps_them(tmp_path):
    app = app_with_admins(tmp_path)
    ctx = context(app)
    for n in range(55):
        people.create_person(ctx, employee_code=f"P{n:02d}", name="Test", surname=f"Person {n}")
    ctx.db.close()
    with TestClient(app) as client:
        sign_in(client)
        page = _page(client, "it")
        # the actions present, in words, their code beside them; the actors present
        assert '<option value="person.create">persona aggiunta (person.create)</option>' in page.text
        assert '<option value="admin:alice">admin:alice</option>' in page.text
        assert '<option value="kiosk:">tutti i chioschi</option>' in page.text
        only = _page(client, "it", action="person.create")
        assert only.status_code == 200 and '<option value="person.create" selected>' in only.text
        assert "admin.login</code>" not in only.text
        older = html.unescape(only.text)
        assert 'href="?page=2&action=person.create" rel="next"' in older
        second = _page(client, "it", action="person.create", page=2)
        assert "pagina 2 di 2" in visible_text(second.text) and 'rel="prev"' in second.text
        by_target = _page(client, "en", target="Person 54")
        assert "Test Person 54 (P54)" in by_target.text and "Test Person 53" not in by_target.text
        bad = _page(client, "fr", date_to="demain", action="person.create")
        assert bad.status_code == 400
        assert 'id="f-to-error" role="alert">' in bad.text and "n&#39;est pas une date" in bad.text
        assert '<option value="person.create" selected>' in bad.text  # the other filters stay as chosen


def test_the_audit_api_filters_and_returns_the_label(web):
    ctx = web.context()
    ada = people.create_person(ctx, employee_code="API-42", name="Ada", surname="Api")
    ctx.db.close()
    get = web.client.get
    rows = get("/api/v1/audit", params={"target": "ada api"}, headers=web.headers).json()["items"]
    assert [(r["target"], r["target_label"]) for r in rows] == [(f"person:{ada.id}", "Ada Api (API-42)")]
    system = get("/api/v1/audit", params={"actor": "system", "action": "person.create"}, headers=web.headers)
    assert f"person:{ada.id}" in {r["target"] for r in system.json()["items"]}
    today = datetime.now(UTC).date()
    later = get("/api/v1/audit", params={"from": str(today + timedelta(days=2))}, headers=web.headers)
    assert later.status_code == 200 and later.json()["items"] == []
    assert get("/api/v1/audit", params={"from": "March"}, headers=web.headers).status_code == 422
    reversed_ = get(
        "/api/v1/audit",
        params={"from": str(today), "to": str(today - timedelta(days=1))},
        headers=web.headers,
    )
    assert reversed_.status_code == 422 and "'from' is after 'to'" in reversed_.text


def test_stored_codes_in_the_details_are_words_and_dates_in_the_readers_format(tmp_path):
    """The seeded audit page in German read "Quelle: kiosk", "Gründe: weak match", "Antrag: add" and
    "von: 2026-10-01": codes and ISO dates inside the details."""
    app = app_with_admins(tmp_path)
    ctx = context(app)
    audit.record(ctx, SYSTEM, "attendance.in", "person:1", {"kiosk": "lobby", "source": "kiosk"})
    audit.record(ctx, SYSTEM, "review.queued", "person:1", {"event": 9, "reasons": ["weak_match"]})
    audit.record(ctx, SYSTEM, "attendance.request", "person:1", {"request": 1, "action": "add"})
    audit.record(ctx, SYSTEM, "period.lock", "period:1", {"from": "2026-10-01", "to": "2026-10-31"})
    ctx.commit()
    ctx.db.close()
    with TestClient(app) as client:
        sign_in(client)
        text = visible_text(_page(client, "de").text)
        for words in ("Gesichtsanmeldung", "knappe Übereinstimmung", "01.10.2026", "31.10.2026"):
            assert words in text, words
        for code in ("kiosk;", "weak match", "weak_match", "2026-10-01", ": add"):
            assert code not in text, code
        text = visible_text(_page(client, "en").text)
        assert "face login" in text and "weak match" in text and "1 Oct 2026" in text
