"""Paired kiosks over the HTML pages (no browser): the admin registers a kiosk and sees its one-time
code once; an unknown browser gets the pairing page; a wrong code is refused and counted; the right
code pairs the browser (HttpOnly device cookie) once; revoking ends it; the admin sees last contact."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from tests.page_client import app_with_admins, csrf_of, sign_in

from whosthat.services import kiosks
from whosthat.services.common import Context


@pytest.fixture()
def app(tmp_path):
    return app_with_admins(tmp_path, password_max_failures=3)


def test_register_pair_once_and_revoke(app):
    with TestClient(app) as admin:
        sign_in(admin)
        page = admin.get("/admin/kiosks")
        r = admin.post(
            "/admin/kiosks",
            data={
                "csrf_token": csrf_of(page.text),
                "name": "Front door",
                "site": "HQ",
                "timezone": "Europe/Berlin",
            },
            follow_redirects=False,
        )
        assert r.status_code == 303
        shown = admin.get("/admin/kiosks")
        code = re.search(r'id="code-value">([A-Z0-9-]+)<', shown.text).group(1)
        assert "waiting for pairing" in shown.text
        assert 'id="code-value"' not in admin.get("/admin/kiosks").text  # shown once
    with TestClient(app) as kiosk:
        page = kiosk.get("/kiosk")
        assert 'id="pair-form"' in page.text and "not a paired kiosk" in page.text
        wrong = kiosk.post("/kiosk/pair", data={"csrf_token": csrf_of(page.text), "code": "AAAA-BBBB-CC"})
        # post/redirect/get: the error beside the code field on /kiosk (the code itself not kept)
        assert [r.status_code for r in wrong.history] == [303] and wrong.url.path == "/kiosk"
        assert wrong.status_code == 200 and 'id="code-error"' in wrong.text
        assert re.search(
            r'<input id="code"[^>]*aria-invalid="true" aria-describedby="code-error"', wrong.text
        )
        assert "AAAA-BBBB-CC" not in wrong.text.replace('placeholder="', "")
        assert kiosks.DEVICE_COOKIE not in kiosk.cookies
        r = kiosk.post(
            "/kiosk/pair",
            data={"csrf_token": csrf_of(page.text), "code": code.lower()},
            follow_redirects=False,
        )
        assert r.status_code == 303 and r.headers["location"] == "/kiosk"
        cookie = r.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
        assert 'data-kiosk="Front door"' in kiosk.get("/kiosk").text
    with TestClient(app) as thief:  # the code worked once
        page = thief.get("/kiosk")
        again = thief.post("/kiosk/pair", data={"csrf_token": csrf_of(page.text), "code": code})
        assert again.history[0].status_code == 303 and 'id="code-error"' in again.text
        assert kiosks.DEVICE_COOKIE not in thief.cookies
    with TestClient(app) as admin:
        sign_in(admin)
        page = admin.get("/admin/kiosks")
        assert 'badge-ok">paired' in page.text and "from testclient" in page.text  # last contact and address
        kid = re.search(r'id="revoke-(\d+)"', page.text).group(1)
        admin.post(f"/admin/kiosks/{kid}/revoke", data={"csrf_token": csrf_of(page.text)})
        assert "revoked" in admin.get("/admin/kiosks").text
        assert "kiosk.pair" in admin.get("/admin/audit").text


def _session_cookie_contents(client) -> str:
    """The signed (not encrypted) session cookie as anyone who sees it reads it: base64 JSON."""
    import base64

    from whosthat.web.app import SESSION_COOKIE

    value = client.cookies.get(SESSION_COOKIE)
    payload = value.split(".")[0]
    return base64.b64decode(payload + "=" * (-len(payload) % 4)).decode()


def test_the_pairing_code_is_kept_on_the_server_not_in_the_cookie(app):
    from sqlalchemy import select

    from whosthat.store.models import FormDraft

    with TestClient(app) as admin:
        sign_in(admin)
        page = admin.get("/admin/kiosks")
        r = admin.post(
            "/admin/kiosks",
            data={"csrf_token": csrf_of(page.text), "name": "Side door", "site": "", "timezone": ""},
            follow_redirects=False,
        )
        assert r.status_code == 303 and r.headers["location"] == "/admin/kiosks"  # no code in the URL
        cookie = _session_cookie_contents(admin)
        assert '"kiosk_code"' in cookie  # the draft's token: the cookie names where the code is, only
        with Context.open(app.state.runtime) as ctx:  # the code itself is encrypted on the server
            [draft] = ctx.db.execute(select(FormDraft).where(FormDraft.form == "kiosk-code")).scalars()
            stored = draft.payload
        shown = admin.get("/admin/kiosks")
        code = re.search(r'id="code-value">([A-Z0-9-]+)<', shown.text).group(1)
        plain = code.replace("-", "")
        for form in (code, plain, plain.lower()):
            assert form not in cookie and form.encode() not in stored
        assert plain not in _session_cookie_contents(admin)
        with Context.open(app.state.runtime) as ctx:  # shown once: the draft is gone
            assert (
                list(ctx.db.execute(select(FormDraft).where(FormDraft.form == "kiosk-code")).scalars()) == []
            )
        assert 'id="code-value"' not in admin.get("/admin/kiosks").text
        # A new code for the same kiosk goes the same way.
        kid = re.search(r'action="/admin/kiosks/(\d+)/pairing-code"', shown.text).group(1)
        renew = admin.post(
            f"/admin/kiosks/{kid}/pairing-code",
            data={"csrf_token": csrf_of(shown.text)},
            follow_redirects=False,
        )
        assert renew.status_code == 303
        renewed = admin.get("/admin/kiosks")
        new_code = re.search(r'id="code-value">([A-Z0-9-]+)<', renewed.text).group(1)
        assert new_code != code and new_code.replace("-", "") not in _session_cookie_contents(admin)
        # and it pairs a kiosk
        with Context.open(app.state.runtime) as ctx:
            row, _ = kiosks.pair(ctx, new_code)
            assert row.name == "Side door"


def test_wrong_pairing_codes_lock_the_address_out(app):
    with TestClient(app) as kiosk:
        page = kiosk.get("/kiosk")
        token = csrf_of(page.text)
        limit = app.state.runtime.settings.password_max_failures * 4  # the per-address password bound
        sent = [
            kiosk.post(
                "/kiosk/pair", data={"csrf_token": token, "code": "WRONGCODE2"}, follow_redirects=False
            )
            for _ in range(limit + 1)
        ]
        assert {r.status_code for r in sent} == {303}  # post/redirect/get
        shown = [kiosk.get(r.headers["location"]) for r in (sent[0], sent[limit - 1], sent[limit])]
        assert [r.status_code for r in shown] == [200, 200, 429]
        assert int(shown[2].headers["Retry-After"]) > 0 and "Too many wrong pairing codes" in shown[2].text
        assert 'id="code-error"' in shown[0].text


def test_a_viewer_cannot_register_kiosks(app):
    with TestClient(app) as viewer:
        sign_in(viewer, "victor")
        page = viewer.get("/admin/kiosks")
        assert page.status_code == 200 and 'id="kiosk-form"' not in page.text
        r = viewer.post("/admin/kiosks", data={"csrf_token": csrf_of(page.text), "name": "x"})
        assert r.status_code == 403
    with Context.open(app.state.runtime) as ctx:
        assert kiosks.list_kiosks(ctx) == []
