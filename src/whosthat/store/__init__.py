"""Persistence: database models, Alembic migrations run at start-up, AES-GCM template encryption,
and the repository helpers that the gallery and the web services share."""
