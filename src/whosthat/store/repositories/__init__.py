"""All SQL of the application, one module per group of tables; the services and the gallery call these
functions and never build statements themselves.

    from whosthat.store import repositories as repo
    people, total = repo.people.search(db, "ada", page=1, size=20)

Rules every function follows:
- The caller owns the transaction: these functions add, query, update, delete and flush, never commit.
- Any change that affects face search (templates added or removed, a person (de)activated or deleted)
  moves the gallery change counter (`counters.bump_gallery_version`), which is how every process notices
  it must reload. Single-row functions bump it themselves; the bulk ones say that their caller bumps once.
- The same statements run on SQLite and PostgreSQL (no dialect-specific SQL).
"""

from whosthat.store.repositories import (
    admins,
    api_keys,
    attendance,
    audit,
    consent,
    corrections,
    counters,
    drafts,
    kiosks,
    limits,
    liveness,
    people,
    reviews,
    schedules,
    sessions,
    snapshot,
    templates,
    tokens,
)

__all__ = [
    "admins",
    "api_keys",
    "attendance",
    "audit",
    "consent",
    "corrections",
    "counters",
    "drafts",
    "kiosks",
    "limits",
    "liveness",
    "people",
    "reviews",
    "schedules",
    "sessions",
    "snapshot",
    "templates",
    "tokens",
]
