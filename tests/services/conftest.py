"""Service fixtures: a fresh runtime per test (SQLite; PostgreSQL too when configured) and a Context
factory for a given caller address."""

from __future__ import annotations

import pytest

from tests.store.backends import backend_params, make_settings
from whosthat.services.common import Context
from whosthat.services.runtime import Runtime


@pytest.fixture(params=backend_params())
def runtime(request, tmp_path):
    runtime = Runtime.from_settings(make_settings(request.param, tmp_path))
    yield runtime
    runtime.close()


@pytest.fixture
def context(runtime):
    """context(address) -> a Context whose session closes at the end of the test."""
    opened = []

    def make(address: str = "192.0.2.1") -> Context:
        ctx = Context(runtime, runtime.database.session(), address)
        opened.append(ctx)
        return ctx

    yield make
    for ctx in opened:
        ctx.db.close()
