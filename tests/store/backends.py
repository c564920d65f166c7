"""Database backends the store/web tests run on: SQLite always, PostgreSQL when
WHOSTHAT_TEST_POSTGRES_URL names a server (.ci/run starts one). Each use gets an empty database."""

from __future__ import annotations

import os

import pytest

POSTGRES_URL = os.environ.get("WHOSTHAT_TEST_POSTGRES_URL")
BACKENDS = ["sqlite"] + (["postgres"] if POSTGRES_URL else [])


def backend_params():
    """pytest params: sqlite always; postgres marked `postgres`, present only when the URL is set."""
    return [pytest.param(b, marks=[pytest.mark.postgres] if b == "postgres" else []) for b in BACKENDS]


def reset_postgres(url: str) -> None:
    """Drop everything in the public schema, so migrations start from an empty database."""
    from whosthat.store.db import make_engine

    engine = make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()


def make_settings(backend: str, home, **overrides):
    """Settings for a fresh WHOSTHAT_HOME on `backend` (the database is emptied first)."""
    from whosthat.config import Settings

    url = None
    if backend == "postgres":
        url = POSTGRES_URL
        reset_postgres(url)
    return Settings(home=home, database_url=url, secret_key=None, **overrides)
