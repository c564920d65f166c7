"""The gallery change counter: one row that moves whenever face search must see a change."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from whosthat.store.models import Counter

GALLERY_COUNTER = "gallery"


def gallery_version(session: Session) -> int:
    """Current value of the gallery change counter (one indexed primary-key read)."""
    value = session.execute(select(Counter.value).where(Counter.name == GALLERY_COUNTER)).scalar_one_or_none()
    return int(value or 0)


def bump_gallery_version(session: Session) -> None:
    """Atomically increment the gallery counter (row-level in the database, safe across replicas)."""
    result = session.execute(
        update(Counter).where(Counter.name == GALLERY_COUNTER).values(value=Counter.value + 1)
    )
    if result.rowcount == 0:  # a database created before the counter row existed
        session.add(Counter(name=GALLERY_COUNTER, value=1))
    session.flush()
