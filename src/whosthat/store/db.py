"""Engine, sessions and start-up migrations.

`open_database(settings)` is the one entry point: it builds the engine for
`settings.resolved_database_url()` (a SQLite file under WHOSTHAT_HOME by default, PostgreSQL when
WHOSTHAT_DATABASE_URL says so), upgrades the schema to the newest Alembic revision in-process, and
returns a `Database` with a session factory.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_migrate_lock = threading.Lock()


@dataclass
class Database:
    engine: Engine
    sessionmaker: sessionmaker[Session]

    def session(self) -> Session:
        return self.sessionmaker()

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")  # ON DELETE CASCADE really deletes templates
    cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith("postgresql://"):  # psycopg 3 is the driver we ship
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def alembic_config(connection=None):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def migrate(engine: Engine) -> None:
    """Upgrade the schema to the newest revision (idempotent; safe with several replicas on PostgreSQL)."""
    from alembic import command

    with _migrate_lock, engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Serialise concurrent start-ups of several replicas on one database.
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7210001)")
        command.upgrade(alembic_config(connection), "head")


def open_database(settings) -> Database:
    """Engine + migrations + session factory for these settings."""
    engine = make_engine(settings.resolved_database_url())
    migrate(engine)
    return Database(engine=engine, sessionmaker=sessionmaker(engine, expire_on_commit=False))
