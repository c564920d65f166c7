"""The whole database as plain rows, read in one consistent snapshot, and loaded back: what
`whosthat backup` / `whosthat restore` carry (services/backup.py encrypts it).

Values become JSON-friendly by column type: binary columns base64, datetimes ISO 8601 (UTC); the rest
as they are. Loading goes table by table in foreign-key order into an empty, migrated database, then
moves PostgreSQL's id sequences past the loaded ids (SQLite's AUTOINCREMENT follows by itself).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import Connection, DateTime, Engine, Integer, LargeBinary, func, select

from whosthat.store.models import Base, UTCDateTime


@contextmanager
def consistent_read(engine: Engine) -> Iterator[Connection]:
    """A read-only connection that sees one snapshot of every table while writers go on: an explicit
    read transaction on SQLite (WAL keeps it consistent), REPEATABLE READ READ ONLY on PostgreSQL."""
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN")
            conn.exec_driver_sql("SELECT count(*) FROM sqlite_master").scalar()  # start the snapshot now
        else:
            conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        try:
            yield conn
        finally:
            conn.rollback()


def _kind(column) -> str:
    t = column.type
    if isinstance(t, LargeBinary):
        return "bytes"
    if isinstance(t, UTCDateTime | DateTime):
        return "datetime"
    return "plain"


def schema_revision(conn: Connection) -> str | None:
    return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


def dump(conn: Connection) -> dict[str, list[dict]]:
    """Every table's rows (in primary-key order), values JSON-friendly."""
    out: dict[str, list[dict]] = {}
    for table in Base.metadata.sorted_tables:
        kinds = {c.name: _kind(c) for c in table.columns}
        rows = []
        for row in conn.execute(select(table).order_by(*table.primary_key.columns)).mappings():
            item = {}
            for name, value in row.items():
                if value is not None and kinds[name] == "bytes":
                    value = base64.b64encode(bytes(value)).decode("ascii")
                elif value is not None and kinds[name] == "datetime":
                    value = value.isoformat()
                item[name] = value
            rows.append(item)
        out[table.name] = rows
    return out


def is_empty(conn: Connection) -> bool:
    """Whether no table holds a row (counters and other seeded rows aside)."""
    seeded = {"counters"}
    for table in Base.metadata.sorted_tables:
        if table.name in seeded:
            continue
        if conn.execute(select(func.count()).select_from(table)).scalar_one():
            return False
    return True


def load(conn: Connection, tables: dict[str, list[dict]]) -> int:
    """Insert the dumped rows into this (empty, migrated) database; returns the row count. Tables the
    dump lacks stay empty; columns the dump lacks take their defaults."""
    total = 0
    for table in Base.metadata.sorted_tables:
        rows = tables.get(table.name) or []
        if table.name == "counters":
            conn.execute(table.delete())  # the migration's seed rows give way to the backup's values
        if not rows:
            continue
        kinds = {c.name: _kind(c) for c in table.columns}
        batch = []
        for item in rows:
            row = {}
            for name, value in item.items():
                if name not in kinds:
                    continue
                if value is not None and kinds[name] == "bytes":
                    value = base64.b64decode(value)
                elif value is not None and kinds[name] == "datetime":
                    value = datetime.fromisoformat(value)
                row[name] = value
            batch.append(row)
        conn.execute(table.insert(), batch)
        total += len(batch)
    if conn.dialect.name == "postgresql":
        for table in Base.metadata.sorted_tables:
            pk = list(table.primary_key.columns)
            if len(pk) == 1 and isinstance(pk[0].type, Integer) and pk[0].autoincrement in (True, "auto"):
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', '{pk[0].name}'), "
                    f"COALESCE((SELECT max({pk[0].name}) FROM {table.name}), 0) + 1, false)"
                )
    return total
