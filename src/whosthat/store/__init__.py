"""Persistence: database models, Alembic migrations run at start-up, AES-GCM template encryption,
and the repositories (all SQL) that the services and the gallery call."""
