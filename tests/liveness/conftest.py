"""Liveness fixtures: the web app, for the tests that check what the kiosk page and route get from liveness."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    """A TestClient of the whole app on a fresh WHOSTHAT_HOME (SQLite)."""
    from fastapi.testclient import TestClient

    from tests.kiosk_pairing import pair_client
    from whosthat.config import Settings
    from whosthat.web.app import create_app

    app = create_app(Settings(home=tmp_path_factory.mktemp("liveness-app"), secret_key=None))
    with TestClient(app) as c:
        pair_client(c, app.state.runtime, "lobby")  # the kiosk routes serve paired kiosks only
        yield c
    app.state.runtime.close()
