"""Authentication and authorisation: scopes, sessions with CSRF, lockouts, first-run setup, headers."""

from __future__ import annotations

import pytest

from whosthat.services import access
from whosthat.services.common import Context
from whosthat.services.errors import AuthenticationError, ValidationError
from whosthat.services.limits import FailureLimiter


def _person(client, headers, code):
    return client.post(
        "/api/v1/people", json={"employee_code": code, "name": "A", "surname": "B"}, headers=headers
    )


def test_api_key_scopes_are_enforced_and_revocation_takes_effect(web):
    ctx = web.context()
    try:
        row, reader = access.create_api_key(ctx, "reader", ["people:read"])
    finally:
        ctx.db.close()
    h = {"X-API-Key": reader}
    assert web.client.get("/api/v1/people", headers=h).status_code == 200
    r = _person(web.client, h, "SCOPE-1")
    assert r.status_code == 403 and r.json()["error"] == "forbidden"
    assert web.client.get("/api/v1/apikeys", headers=h).status_code == 403
    assert web.client.delete(f"/api/v1/apikeys/{row.id}", headers=web.headers).status_code == 204
    assert web.client.get("/api/v1/people", headers=h).status_code == 401
    listed = web.client.get("/api/v1/apikeys", headers=web.headers).json()
    assert all("hash" not in k and "key" not in k for k in listed)


def test_admin_session_needs_csrf_for_changes_and_logout_ends_it(web):
    ctx = web.context()
    try:
        access.create_admin(ctx, "alice", "correct horse battery")
        access.create_admin(ctx, "victor", "viewer password 1", role="viewer")
        with pytest.raises(ValidationError):
            access.create_admin(ctx, "weak", "short")
    finally:
        ctx.db.close()
    client = web.client
    r = client.post("/api/v1/auth/login", json={"username": "alice", "password": "correct horse battery"})
    assert r.status_code == 200
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    token = r.json()["csrf_token"]
    assert client.get("/api/v1/people").status_code == 200
    no_csrf = _person(client, {}, "CSRF-1")
    assert no_csrf.status_code == 403 and no_csrf.json()["error"] == "csrf_failed"
    assert _person(client, {"X-CSRF-Token": "wrong"}, "CSRF-1").status_code == 403
    assert _person(client, {"X-CSRF-Token": token}, "CSRF-1").status_code == 201
    assert client.post("/api/v1/auth/logout").status_code == 204
    assert client.get("/api/v1/people").status_code == 401
    # A viewer reads but cannot change anything.
    r = client.post("/api/v1/auth/login", json={"username": "victor", "password": "viewer password 1"})
    token = r.json()["csrf_token"]
    assert client.get("/api/v1/people").status_code == 200
    assert _person(client, {"X-CSRF-Token": token}, "CSRF-2").status_code == 403
    client.post("/api/v1/auth/logout")
    client.cookies.clear()


def test_repeated_wrong_passwords_lock_the_user_out_for_a_while(web):
    ctx = web.context()
    try:
        access.create_admin(ctx, "bob", "bob's long password")
    finally:
        ctx.db.close()
    limit = web.runtime.settings.password_max_failures
    for _ in range(limit - 1):
        r = web.client.post("/api/v1/auth/login", json={"username": "bob", "password": "guess"})
        assert r.status_code == 401 and r.json()["error"] == "unauthenticated"
    r = web.client.post("/api/v1/auth/login", json={"username": "bob", "password": "guess"})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    r = web.client.post("/api/v1/auth/login", json={"username": "bob", "password": "bob's long password"})
    assert r.status_code == 429  # even the right password waits out the lockout
    web.client.cookies.clear()


def test_failure_limiter_locks_then_releases():
    now = [0.0]
    limiter = FailureLimiter(3, lockout_s=60, window_s=60, clock=lambda: now[0])
    assert not limiter.failure("k").locked and not limiter.failure("k").locked
    assert limiter.failure("k").locked and limiter.check("k").locked
    assert not limiter.check("other").locked
    now[0] = 61
    assert not limiter.check("k").locked and limiter.check("k").failures == 0


def test_first_run_setup_token_creates_the_first_admin_once(tmp_path):
    from tests.store.backends import make_settings
    from whosthat.services.runtime import Runtime

    runtime = Runtime.from_settings(make_settings("sqlite", tmp_path))
    try:
        with Context.open(runtime) as ctx:
            token = access.ensure_setup_token(ctx)
            assert (
                token and access.setup_token_valid(ctx, token) and not access.setup_token_valid(ctx, "nope")
            )
            with pytest.raises(ValidationError):  # a weak password leaves the token usable
                access.complete_setup(ctx, token, "root", "short")
            assert access.setup_token_valid(ctx, token)
            admin = access.complete_setup(ctx, token, "root", "a long enough password")
            assert admin.role == "admin"
            with pytest.raises(AuthenticationError):
                access.complete_setup(ctx, token, "root2", "a long enough password")
            assert access.ensure_setup_token(ctx) is None  # an admin exists: no more setup links
    finally:
        runtime.close()


def test_security_headers_and_no_inline_script(web):
    r = web.client.get("/healthz")
    csp = r.headers["content-security-policy"]
    script_src = next(p for p in csp.split(";") if p.strip().startswith("script-src"))
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    assert "frame-ancestors 'none'" in csp
    assert r.headers["x-content-type-options"] == "nosniff" and r.headers["x-frame-options"] == "DENY"
    api = web.client.get("/api/v1/people", headers=web.headers)
    assert api.headers["cache-control"] == "no-store"


def test_health_readiness_metrics_and_openapi(web):
    assert web.client.get("/healthz").json() == {"status": "ok"}
    assert web.client.get("/readyz").json()["status"] == "ok"
    metrics = web.client.get("/metrics")
    assert metrics.status_code == 200 and "whosthat_http_requests_total" in metrics.text
    spec = web.client.get("/openapi.json").json()
    for path in (
        "/api/v1/people",
        "/api/v1/identify",
        "/api/v1/people/{person_id}/templates",
        "/api/v1/attendance",
        "/api/v1/attendance/report.csv",
        "/api/v1/liveness/sessions",
    ):
        assert path in spec["paths"], path
    docs = web.client.get("/docs")
    assert docs.status_code == 200 and "cdn" not in docs.text.lower()


def test_under_https_the_session_cookie_is_secure_and_hsts_is_sent(tmp_path):
    from fastapi.testclient import TestClient

    from tests.store.backends import make_settings
    from whosthat.services.runtime import Runtime
    from whosthat.web.app import create_app

    settings = make_settings("sqlite", tmp_path, session_https_only=True)
    runtime = Runtime.from_settings(settings)
    try:
        with Context.open(runtime) as ctx:
            access.create_admin(ctx, "carol", "carol's long password")
        with TestClient(create_app(settings, runtime), base_url="https://testserver") as client:
            r = client.post(
                "/api/v1/auth/login", json={"username": "carol", "password": "carol's long password"}
            )
            assert r.status_code == 200
            cookie = r.headers["set-cookie"].lower()
            assert "secure" in cookie and "httponly" in cookie and "samesite=lax" in cookie
            assert r.headers["strict-transport-security"].startswith("max-age=")
    finally:
        runtime.close()


def test_docs_are_titled_versioned_list_each_scope_and_link_back(web):
    import re

    from whosthat.web.app import api_version

    page = web.client.get("/docs").text
    assert f"<title>whosthat HTTP API {api_version()}</title>" in page and api_version().startswith("v1")
    assert "href='/' id='back'" in page and "favicon.svg" in page
    row = re.search(
        r"<code>POST</code></td><td><code>/api/v1/people</code>.*?class='scope'>([^<]+)<", page, re.S
    )
    assert row and row.group(1) == "people:write"
    row = re.search(
        r"<code>POST</code></td><td><code>/api/v1/identify</code>.*?class='scope'>([^<]+)<", page, re.S
    )
    assert row and row.group(1) == "identify"
    assert "no API key (the kiosk page" in page
    assert web.client.get("/static/img/favicon.svg").status_code == 200


def test_the_first_run_hint_names_this_servers_executable_and_home(tmp_path):
    import sys
    from pathlib import Path

    from whosthat.config import Settings
    from whosthat.web.app import admin_create_command

    command = admin_create_command(Settings(home=tmp_path / "home"))
    env, exe, *rest = command.split(" ")
    assert env == f"WHOSTHAT_HOME={(tmp_path / 'home').resolve()}"
    assert Path(exe).resolve() == (Path(sys.executable).parent / "whosthat").resolve()
    assert rest == ["admin", "create", "NAME", "--password-stdin"]
    with_db = admin_create_command(Settings(home=tmp_path, database_url="postgresql://u:secret@h/db"))
    assert "secret" not in with_db and "WHOSTHAT_DATABASE_URL=..." in with_db


def test_template_quality_in_words():
    from whosthat.web.rendering import quality_words, template_source

    assert [quality_words(q) for q in (0.95, 0.87, 0.7, 0.6, 0.2, None)] == [
        "very good quality",
        "very good quality",
        "good quality",
        "fair quality",
        "poor quality",
        "quality not measured",
    ]
    assert template_source("webcam") == "webcam photo" and template_source(None) == "uploaded photo"


def test_a_template_card_keeps_the_translations_capitals():
    """Jinja's `capitalize` lowered everything after the first letter: German's "Webcam-Foto" read
    "Webcam-foto" on the person's page. The card heading's filter chain, in German and English."""
    from whosthat.web.rendering import templates

    heading = templates.env.from_string("{{ source|template_source|first_upper }}")
    assert heading.render(source="webcam", lang="de") == "Webcam-Foto"
    assert heading.render(source="upload", lang="de") == "Hochgeladenes Foto"
    assert heading.render(source="upload", lang="en") == "Uploaded photo"


def test_the_schedules_table_names_the_weekdays_in_the_readers_language(tmp_path):
    from fastapi.testclient import TestClient

    from tests.page_client import app_with_admins, context, sign_in
    from whosthat.services import schedules

    app = app_with_admins(tmp_path)
    with TestClient(app) as client:
        sign_in(client)
        ctx = context(app)
        office = {"start": "08:00", "end": "16:30", "break_min": 30}
        schedules.create_schedule(
            ctx, name="office", timezone="Europe/Berlin", week=[office] * 5 + [None, None]
        )
        ctx.db.close()
        page = client.get("/admin/schedules", headers={"Accept-Language": "de"}).text
    head = page.split("<thead>", 1)[1].split("</thead>", 1)[0]
    assert "Zeitzone" in head
    assert ">Mo<" in head and ">So<" in head and ">Mon<" not in head and ">Sun<" not in head
