"""Alembic environment: migrations run in-process from `whosthat.store.db.migrate()`.

The caller passes an open connection in `config.attributes["connection"]`; running the `alembic`
command line instead needs `-x url=...` or WHOSTHAT_DATABASE_URL.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from whosthat.store.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    from whosthat.config import get_settings

    url = context.get_x_argument(as_dictionary=True).get("url") or get_settings().resolved_database_url()
    engine = create_engine(url)
    with engine.begin() as conn:
        _run(conn)
