"""Consent through the API and the admin form: recorded with its text version and who took it;
withdrawal deletes the templates and says how many; bad input changes nothing."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.store.backends import make_settings
from whosthat.services import access, consent
from whosthat.services.common import Context
from whosthat.services.runtime import Runtime
from whosthat.web.app import create_app


def test_consent_api_and_the_new_person_form(tmp_path):
    settings = make_settings("sqlite", tmp_path)
    runtime = Runtime.from_settings(settings)
    try:
        with TestClient(create_app(settings, runtime)) as client:
            with Context.open(runtime) as ctx:
                _, key = access.create_api_key(ctx, "t", ["admin"])
                access.create_admin(ctx, "alice", "correct horse battery staple")
            h = {"X-API-Key": key}
            texts = client.get("/api/v1/consent/texts", headers=h).json()
            assert texts[0]["version"] == consent.CURRENT_VERSION and "withdraw" in texts[0]["text"]
            pid = client.post(
                "/api/v1/people", json={"employee_code": "CA-1", "name": "Ada", "surname": "L"}, headers=h
            ).json()["id"]
            assert (
                client.post(
                    f"/api/v1/people/{pid}/consent", json={"text_version": "nope"}, headers=h
                ).status_code
                == 422
            )
            r = client.post(f"/api/v1/people/{pid}/consent", json={}, headers=h)
            assert r.status_code == 201 and r.json()["taken_by"].startswith("apikey:")
            w = client.post(f"/api/v1/people/{pid}/consent/withdraw", headers=h)
            assert (
                w.status_code == 200
                and w.json()["templates_deleted"] == 0
                and w.json()["consent"]["withdrawn_at"]
            )
            assert client.post(f"/api/v1/people/{pid}/consent/withdraw", headers=h).status_code == 409
            # The admin form: ticking the consent box records it with the text version
            page = client.get("/login")
            token = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
            client.post(
                "/login",
                data={"csrf_token": token, "username": "alice", "password": "correct horse battery staple"},
            )
            form = client.get("/admin/people/new")
            assert 'id="consent-text"' in form.text
            token = re.search(r'name="csrf-token" content="([^"]+)"', form.text).group(1)
            r = client.post(
                "/admin/people/new",
                data={
                    "csrf_token": token,
                    "employee_code": "CA-2",
                    "name": "Bob",
                    "surname": "B",
                    "consent": consent.CURRENT_VERSION,
                },
                follow_redirects=False,
            )
            assert r.status_code == 303, r.text
            page = client.get(r.headers["location"])
            assert "consent given" in page.text and consent.CURRENT_VERSION in page.text
    finally:
        runtime.close()
