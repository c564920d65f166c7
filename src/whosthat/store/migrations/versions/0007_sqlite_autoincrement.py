"""SQLite: every table with an integer id gets AUTOINCREMENT, so that ids are never reused.

Without it SQLite hands out max(id) + 1, so deleting the newest person gave their id (and the audit
log's references to it) to the next person added. SQLite cannot add AUTOINCREMENT to a table, so each
table is rebuilt (batch mode: copy, drop, rename; indexes and foreign keys kept); db.migrate() runs
this with foreign-key enforcement off, so dropping a table does not cascade, and checks the keys after.
sqlite_sequence starts from each table's current highest id. PostgreSQL: nothing to do (sequences never
go back).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _integer_id_tables(bind) -> list[str]:
    inspector = sa.inspect(bind)
    out = []
    for name in inspector.get_table_names():
        if name == "alembic_version" or name.startswith("sqlite_"):
            continue
        pk = inspector.get_pk_constraint(name).get("constrained_columns") or []
        columns = {c["name"]: c for c in inspector.get_columns(name)}
        if pk == ["id"] and isinstance(columns["id"]["type"], sa.Integer):
            out.append(name)
    return sorted(out)


def _has_autoincrement(bind, name: str) -> bool:
    sql = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type='table' AND name=?", (name,)
    ).scalar()
    return "AUTOINCREMENT" in (sql or "").upper()


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    for name in _integer_id_tables(bind):
        if _has_autoincrement(bind, name):
            continue
        with op.batch_alter_table(name, recreate="always", table_kwargs={"sqlite_autoincrement": True}):
            pass


def downgrade() -> None:
    pass  # AUTOINCREMENT is harmless to keep
