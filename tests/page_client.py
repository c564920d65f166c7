"""Signing in to the HTML pages with a FastAPI TestClient (no browser), shared by the page tests."""

from __future__ import annotations

import re

from whosthat.config import Settings
from whosthat.services import access
from whosthat.services.common import Context
from whosthat.web.app import create_app

PASSWORD = "correct horse battery staple"


def app_with_admins(tmp_path, **settings):
    """The app on a fresh home with two administrators: alice (admin) and victor (viewer)."""
    application = create_app(Settings(home=tmp_path, **settings))
    with Context.open(application.state.runtime) as ctx:
        access.create_admin(ctx, "alice", PASSWORD)
        access.create_admin(ctx, "victor", PASSWORD, role="viewer")
    return application


def context(app) -> Context:
    """A service context on the app's own runtime (the caller commits and closes it)."""
    return Context(app.state.runtime, app.state.runtime.database.session())


def csrf_of(html: str) -> str:
    """The page's CSRF token (its <meta name="csrf-token">)."""
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def sign_in(client, username: str = "alice", password: str = PASSWORD):
    """Sign in through the login form; returns the form's response (a 303 on success)."""
    page = client.get("/login")
    return client.post(
        "/login",
        data={"csrf_token": csrf_of(page.text), "username": username, "password": password},
        follow_redirects=False,
    )
