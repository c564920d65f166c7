"""Server-side sessions: a copied session cookie stops working at logout and at a password change.

Before, the signed cookie was stateless: a copy kept working for up to 12 h after POST /logout."""

from __future__ import annotations

from fastapi.testclient import TestClient

from whosthat.services import access

PASSWORD = "sessions test password"


def _admin(web, name):
    ctx = web.context()
    try:
        if access.repo.admins.by_username(ctx.db, name) is None:
            access.create_admin(ctx, name, PASSWORD)
    finally:
        ctx.db.close()


def _copy(web, client) -> TestClient:
    """A second browser holding a copy of the first one's cookies."""
    other = TestClient(web.client.app)
    for name, value in client.cookies.items():
        other.cookies.set(name, value)
    return other


def test_a_copied_cookie_dies_with_logout(web):
    _admin(web, "sess1")
    client = TestClient(web.client.app)
    r = client.post("/api/v1/auth/login", json={"username": "sess1", "password": PASSWORD})
    token = r.json()["csrf_token"]
    thief = _copy(web, client)
    assert thief.get("/api/v1/people").status_code == 200
    assert client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": token}).status_code == 204
    assert thief.get("/api/v1/people").status_code == 401
    assert thief.get("/admin/people", follow_redirects=False).status_code in (302, 303)


def test_the_page_logout_ends_the_server_session_too(web):
    _admin(web, "sess2")
    client = TestClient(web.client.app)
    token = client.post("/api/v1/auth/login", json={"username": "sess2", "password": PASSWORD}).json()[
        "csrf_token"
    ]
    thief = _copy(web, client)
    assert thief.get("/admin/people").status_code == 200
    client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert thief.get("/admin/people", follow_redirects=False).status_code in (302, 303)


def test_a_password_change_ends_every_session_of_that_admin(web):
    _admin(web, "sess3")
    _admin(web, "sess4")
    a = TestClient(web.client.app)
    b = TestClient(web.client.app)
    other = TestClient(web.client.app)
    for c, name in ((a, "sess3"), (b, "sess3"), (other, "sess4")):
        assert c.post("/api/v1/auth/login", json={"username": name, "password": PASSWORD}).status_code == 200
    ctx = web.context()
    try:
        access.change_password(ctx, "sess3", "a brand new password")
    finally:
        ctx.db.close()
    assert a.get("/api/v1/people").status_code == 401
    assert b.get("/api/v1/people").status_code == 401
    assert other.get("/api/v1/people").status_code == 200
    assert (
        a.post(
            "/api/v1/auth/login", json={"username": "sess3", "password": "a brand new password"}
        ).status_code
        == 200
    )
    assert a.get("/api/v1/people").status_code == 200
