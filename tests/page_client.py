"""Signing in to the HTML pages with a FastAPI TestClient (no browser), shared by the page tests."""

from __future__ import annotations

import re

from whosthat.services.common import Context

PASSWORD = "correct horse battery staple"


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
