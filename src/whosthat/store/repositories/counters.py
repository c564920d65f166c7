"""The gallery change counter (one row that moves whenever face search must see a change) and its
change log (which people changed at each value), from which a replica catches up without a full reload."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from whosthat.store.models import Counter, GalleryChange

GALLERY_COUNTER = "gallery"
CHANGE_LOG_KEEP = 100_000  # versions of change log kept; a replica further behind reloads in full
CHANGE_LOG_MAX_PEOPLE = 5_000  # more changed people than this in one catch-up: reload in full


def gallery_version(session: Session) -> int:
    """Current value of the gallery change counter (one indexed primary-key read)."""
    value = session.execute(select(Counter.value).where(Counter.name == GALLERY_COUNTER)).scalar_one_or_none()
    return int(value or 0)


def bump_gallery_version(session: Session, person_ids: Iterable[int] | None = None) -> int:
    """Atomically increment the gallery counter (row-level in the database, safe across replicas) and
    log which people changed (None: possibly anyone). Returns the new value.

    The counter row stays locked until the transaction ends, so versions are committed in order and a
    replica that reads version V sees every change log row up to V."""
    result = session.execute(
        update(Counter).where(Counter.name == GALLERY_COUNTER).values(value=Counter.value + 1)
    )
    if result.rowcount == 0:  # a database created before the counter row existed
        session.add(Counter(name=GALLERY_COUNTER, value=1))
        session.flush()
    version = gallery_version(session)
    people = sorted({int(p) for p in person_ids}) if person_ids is not None else [None]
    if people:
        session.execute(insert(GalleryChange), [{"version": version, "person_id": p} for p in people])
    if version % 1000 == 0:
        session.execute(delete(GalleryChange).where(GalleryChange.version <= version - CHANGE_LOG_KEEP))
    session.flush()
    return version


def changed_people(session: Session, since: int, until: int) -> set[int] | None:
    """The people whose face search changed in versions (since, until], or None when the log cannot
    tell (a change of anyone, versions missing from the log, or too many people): reload in full."""
    if until <= since:
        return set()
    if until - since > CHANGE_LOG_KEEP:
        return None
    rows = session.execute(
        select(GalleryChange.version, GalleryChange.person_id).where(
            GalleryChange.version > since, GalleryChange.version <= until
        )
    ).all()
    versions = {int(v) for v, _ in rows}
    if len(versions) != until - since:
        return None
    people: set[int] = set()
    for _, pid in rows:
        if pid is None:
            return None
        people.add(int(pid))
    return None if len(people) > CHANGE_LOG_MAX_PEOPLE else people


def change_log_size(session: Session) -> int:
    return int(session.execute(select(func.count()).select_from(GalleryChange)).scalar_one())
