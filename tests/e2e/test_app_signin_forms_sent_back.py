"""Post/redirect/get for the forms before sign-in (issue 15, admin polish): the sign-in and the first-run
setup, over HTTP without a browser. A refused form answers 303 to its GET page with a draft; that page
shows the error beside its field (aria-invalid + aria-describedby) in the reader's language with the
user name kept; the password is never in the draft nor in the page; the sign-in lockout counts exactly
as before and its page says the time left (429, Retry-After)."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient
from tests.page_client import PASSWORD, app_with_admins, context, csrf_of

from whosthat.config import Settings
from whosthat.services import access
from whosthat.services.common import Context
from whosthat.store.models import FormDraft
from whosthat.web.app import create_app


@pytest.fixture()
def app(tmp_path):
    return app_with_admins(tmp_path)


def _post(client, url: str, data: dict, page_url: str | None = None):
    page = client.get(page_url or url)
    return client.post(url, data={"csrf_token": csrf_of(page.text), **data}, follow_redirects=False)


def _error(html: str, field: str) -> str:
    return re.search(rf'<p class="field-error" id="{field}-error">(.*?)</p>', html).group(1)


def _draft_plaintexts(app) -> list[str]:
    """Every stored draft's values and errors, decrypted (what the server keeps)."""
    ctx = context(app)
    try:
        rows = ctx.db.query(FormDraft).all()
        cipher = app.state.runtime.cipher
        return [cipher.decrypt_draft(r.payload, r.token_hash, "values").decode() for r in rows]
    finally:
        ctx.db.close()


def test_a_wrong_password_is_sent_back_beside_the_password_with_the_user_name_kept(app):
    with TestClient(app) as client:
        r = _post(
            client, "/login", {"username": "alice", "password": "wrong password 1", "next": "/admin/audit"}
        )
        assert r.status_code == 303
        location = r.headers["location"]
        assert re.fullmatch(r"/login\?draft=[\w-]+", location), location
        shown = client.get(location)
        assert shown.status_code == 200
        html = shown.text
        assert _error(html, "password") == "Wrong user name or password."
        assert re.search(
            r'<input id="password"[^>]*aria-invalid="true" aria-describedby="password-error"', html
        )
        assert re.search(
            r'<input id="username"[^>]*aria-invalid="true" aria-describedby="password-error"', html
        )
        assert re.search(r'<input id="username"[^>]*value="alice"', html)
        assert 'name="next" value="/admin/audit"' in html
        assert "wrong password 1" not in html
        # the draft keeps the user name and the next page, never the password
        stored = _draft_plaintexts(app)
        assert stored and all("wrong password 1" not in s for s in stored)
        assert json.loads(stored[0])["values"] == {"username": "alice", "next": "/admin/audit"}
        # the form sent again (the right password) goes to the kept next page; the draft is used up
        again = client.post(
            "/login",
            data={
                "csrf_token": csrf_of(html),
                "username": "alice",
                "password": PASSWORD,
                "next": "/admin/audit",
                "draft": location.split("=", 1)[1],
            },
            follow_redirects=False,
        )
        assert again.status_code == 303 and again.headers["location"] == "/admin/audit"
    assert _draft_plaintexts(app) == []


def test_an_unknown_user_gets_the_same_page_as_a_wrong_password(app):
    pages = []
    for name in ("alice", "nobody"):
        with TestClient(app) as client:
            r = _post(client, "/login", {"username": name, "password": "wrong password 1"})
            html = client.get(r.headers["location"]).text
            pages.append(re.sub(r'(csrf-token" content="|value=")[^"]*"', "", html).replace(name, "NAME"))
    assert pages[0] == pages[1]


def test_the_sign_in_lockout_is_kept_and_its_page_says_the_time_left_in_german(app):
    limit = app.state.runtime.settings.password_max_failures
    with TestClient(app, headers={"Accept-Language": "de"}) as client:
        codes = []
        for _ in range(limit):
            r = _post(client, "/login", {"username": "alice", "password": "wrong password 1"})
            codes.append(r.status_code)
            shown = client.get(r.headers["location"])
        assert codes == [303] * limit
        assert shown.status_code == 429 and int(shown.headers["Retry-After"]) > 0
        assert "Zu viele fehlgeschlagene Anmeldungen" in shown.text
        assert re.search(r'<input id="username"[^>]*value="alice"', shown.text)
        # even the right password waits out the lockout; a reload of the page sends nothing
        locked = _post(client, "/login", {"username": "alice", "password": PASSWORD})
        assert locked.status_code == 303 and locked.headers["location"].startswith("/login?draft=")
        assert client.get(locked.headers["location"]).status_code == 429
        assert client.get("/admin/people", follow_redirects=False).status_code == 303  # not signed in
    ctx = context(app)
    try:
        failed = [e for e in access_audit(ctx) if e == "admin.login_failed"]
    finally:
        ctx.db.close()
    assert len(failed) == limit  # the locked-out attempt is not counted as another failure


def access_audit(ctx) -> list[str]:
    from whosthat.services import audit

    return [e.action for e in audit.list_entries(ctx, size=100).items]


@pytest.fixture()
def fresh(tmp_path):
    return create_app(Settings(home=tmp_path))


def _setup_token(app) -> str:
    """A setup link's token (after the server's start, which prints one of its own)."""
    with Context.open(app.state.runtime) as ctx:
        return access.ensure_setup_token(ctx)


def test_setup_errors_are_beside_their_fields_with_the_user_name_kept_and_no_password(fresh):
    app = fresh
    with TestClient(app) as client:
        token = _setup_token(app)
        url = f"/setup?token={token}"
        r = _post(
            client,
            "/setup",
            {"token": token, "username": "root", "password": "short", "password2": "short"},
            url,
        )
        assert r.status_code == 303
        location = r.headers["location"]
        assert re.fullmatch(r"/setup\?draft=[\w-]+", location), location
        html = client.get(location).text
        assert "must have at least" in _error(html, "password")
        assert re.search(
            r'<input id="password"[^>]*aria-describedby="password-error password-hint" aria-invalid="true"',
            html,
        )
        assert re.search(r'<input id="username"[^>]*value="root"', html)
        assert f'name="token" value="{token}"' in html
        assert "short" not in re.sub(r"must have at least \d+ characters", "", html.split("<main")[1])
        assert all("short" not in s for s in _draft_plaintexts(app))
        # two different passwords: beside the second one
        r = _post(
            client,
            "/setup",
            {"token": token, "username": "root", "password": PASSWORD, "password2": PASSWORD + "x"},
            url,
        )
        html = client.get(r.headers["location"]).text
        assert _error(html, "password2") == "The two passwords differ."
        assert re.search(
            r'<input id="password2"[^>]*aria-invalid="true" aria-describedby="password2-error"', html
        )
        # the link still works; the form sent right creates the administrator
        ok = _post(
            client,
            "/setup",
            {"token": token, "username": "root", "password": PASSWORD, "password2": PASSWORD},
            url,
        )
        assert ok.status_code == 303 and ok.headers["location"] == "/admin/people"


def test_setup_errors_in_italian(fresh):
    app = fresh
    with TestClient(app, headers={"Accept-Language": "it"}) as client:
        token = _setup_token(app)
        url = f"/setup?token={token}"
        r = _post(
            client,
            "/setup",
            {"token": token, "username": " ", "password": PASSWORD, "password2": PASSWORD},
            url,
        )
        html = client.get(r.headers["location"]).text
        assert re.search(
            r'<input id="username"[^>]*aria-invalid="true" aria-describedby="username-error"', html
        )
        assert _error(html, "username").startswith("Nome utente")
        assert (
            "L&#39;amministratore non è stato creato" in html or "L'amministratore non è stato creato" in html
        )


def test_a_used_setup_link_sent_again_says_not_valid(fresh):
    app = fresh
    with TestClient(app) as client:
        token = _setup_token(app)
        r = _post(
            client,
            "/setup",
            {"token": "not-the-token", "username": "root", "password": PASSWORD, "password2": PASSWORD},
            f"/setup?token={token}",
        )
        assert r.status_code == 303 and r.headers["location"] == "/setup"
        page = client.get("/setup")
        assert page.status_code == 400 and "not valid" in page.text


def test_a_wrong_pairing_code_is_said_beside_the_code_field_in_french(app):
    with TestClient(app, headers={"Accept-Language": "fr"}) as kiosk:
        r = _post(kiosk, "/kiosk/pair", {"code": "AAAA-BBBB-CC"}, "/kiosk")
        assert r.status_code == 303
        location = r.headers["location"]
        assert re.fullmatch(r"/kiosk\?draft=[\w-]+", location), location
        html = kiosk.get(location).text
        assert re.search(r'<input id="code"[^>]*aria-invalid="true" aria-describedby="code-error"', html)
        assert "appairage" in _error(html, "code")
        assert "Ce navigateur n’a pas été appairé :" in html
        assert "AAAA-BBBB-CC" not in html  # the code typed is never kept
    assert all("AAAA" not in s for s in _draft_plaintexts(app))
