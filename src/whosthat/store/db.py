"""Engine, sessions and start-up migrations.

`open_database(settings)` is the one entry point: it builds the engine for
`settings.resolved_database_url()` (a SQLite file under WHOSTHAT_HOME by default, PostgreSQL when
WHOSTHAT_DATABASE_URL says so), upgrades the schema to the newest Alembic revision in-process, and
returns a `Database` with a session factory.

On SQLite, what is deleted is gone from every file: `secure_delete` overwrites freed pages with
zeros, `Database.checkpoint()` (after deleting a person, and at shutdown) copies the WAL into the
database and truncates it, and the database, its WAL and shared-memory files are created 0600 (SQLite
gives the WAL and -shm files the database file's mode).
"""

from __future__ import annotations

import os
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

    def checkpoint(self) -> None:
        """SQLite: move everything in the WAL into the database file and truncate the WAL to 0 bytes
        (deleted rows then exist nowhere: secure_delete zeroed them in the database). A no-op on
        PostgreSQL. Readers still holding old snapshots can make it partial; it never blocks long."""
        if self.engine.dialect.name != "sqlite":
            return
        with self.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")  # ON DELETE CASCADE really deletes templates
    cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA secure_delete=ON")  # freed pages are overwritten: deleted people leave no trace
    cursor.close()


DATA_FILE_MODE = 0o600
SQLITE_FILE_SUFFIXES = ("", "-wal", "-shm", "-journal")


def private_sqlite_files(path: Path) -> None:
    """Create the database file 0600 if it is missing, and make it and its companions 0600."""
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, DATA_FILE_MODE))
    for suffix in SQLITE_FILE_SUFFIXES:
        companion = path.with_name(path.name + suffix)
        if companion.exists() and companion.stat().st_mode & 0o777 != DATA_FILE_MODE:
            companion.chmod(DATA_FILE_MODE)


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
            path = Path(url.removeprefix("sqlite:///"))
            path.parent.mkdir(parents=True, exist_ok=True)
            private_sqlite_files(path)
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
    """Upgrade the schema to the newest revision (idempotent; safe with several replicas on PostgreSQL).

    SQLite: foreign keys are not enforced while migrating (a table rebuild drops the old table, which
    would otherwise cascade into the tables that refer to it) and are checked afterwards."""
    from alembic import command

    with _migrate_lock, engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")  # outside any transaction
            connection.commit()
        try:
            with connection.begin():
                if connection.dialect.name == "postgresql":
                    # Serialise concurrent start-ups of several replicas on one database.
                    connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7210001)")
                command.upgrade(alembic_config(connection), "head")
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                connection.commit()
                if broken:
                    raise RuntimeError(f"migration left rows with broken foreign keys: {broken[:5]}")
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


def open_database(settings) -> Database:
    """Engine + migrations + session factory for these settings."""
    engine = make_engine(settings.resolved_database_url())
    migrate(engine)
    return Database(engine=engine, sessionmaker=sessionmaker(engine, expire_on_commit=False))
