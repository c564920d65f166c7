"""Consent records, and the bulk deletions of consent withdrawal and retention."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from whosthat.store.models import AttendanceEvent, ConsentRecord, FaceTemplate, Person, ReviewItem
from whosthat.store.repositories.counters import bump_gallery_version


def add(session: Session, **fields) -> ConsentRecord:
    row = ConsentRecord(**fields)
    session.add(row)
    session.flush()
    return row


def of_person(session: Session, person_id: int) -> list[ConsentRecord]:
    """The person's consent records, newest first, as stored now (rows loaded earlier in the session
    are refreshed: a withdrawal committed meanwhile is seen)."""
    stmt = select(ConsentRecord).where(ConsentRecord.person_id == person_id)
    stmt = stmt.order_by(ConsentRecord.given_at.desc(), ConsentRecord.id.desc())
    return list(session.execute(stmt.execution_options(populate_existing=True)).scalars())


def in_force(session: Session, person_ids: list[int]) -> set[int]:
    """Which of `person_ids` have a consent record in force (given and not withdrawn)."""
    if not person_ids:
        return set()
    stmt = select(ConsentRecord.person_id).where(
        ConsentRecord.person_id.in_(person_ids), ConsentRecord.withdrawn_at.is_(None)
    )
    return set(session.execute(stmt.distinct()).scalars())


def delete_biometrics(session: Session, person_id: int) -> tuple[int, int]:
    """Delete every template (with its chip) of the person and the chips of their review items; bumps
    the gallery counter. (templates deleted, review chips deleted)."""
    templates = session.execute(delete(FaceTemplate).where(FaceTemplate.person_id == person_id)).rowcount
    chips = session.execute(
        update(ReviewItem)
        .where(ReviewItem.person_id == person_id, ReviewItem.chip.is_not(None))
        .values(chip=None)
    ).rowcount
    bump_gallery_version(session, [person_id])
    return templates, chips


def delete_events_before(session: Session, cutoff: datetime) -> int:
    """Delete attendance events before `cutoff` (their corrections and review items go with them)."""
    return session.execute(delete(AttendanceEvent).where(AttendanceEvent.at < cutoff)).rowcount


def clear_chips_of_inactive(session: Session, inactive_since: datetime) -> int:
    """Drop the template chips of people deactivated before `inactive_since` (the templates stay)."""
    stale = select(Person.id).where(Person.active.is_(False), Person.updated_at < inactive_since)
    templates = session.execute(
        update(FaceTemplate)
        .where(FaceTemplate.person_id.in_(stale), FaceTemplate.chip.is_not(None))
        .values(chip=None)
    ).rowcount
    reviews = session.execute(
        update(ReviewItem)
        .where(ReviewItem.person_id.in_(stale), ReviewItem.chip.is_not(None))
        .values(chip=None)
    ).rowcount
    return templates + reviews
