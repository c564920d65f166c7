"""Liveness fixtures: the web app, for the tests that check what the kiosk page and route get from liveness."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    """A TestClient of the whole app on a fresh WHOSTHAT_HOME (SQLite)."""
    from fastapi.testclient import TestClient

    from whosthat.config import Settings
    from whosthat.web.app import create_app

    app = create_app(Settings(home=tmp_path_factory.mktemp("liveness-app"), secret_key=None))
    with TestClient(app) as c:
        yield c
    app.state.runtime.close()
