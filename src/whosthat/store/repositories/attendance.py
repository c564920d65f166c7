"""Attendance events: the last event of a day (to alternate in/out), insertion, and the events of a
time range, newest first in pages or oldest first for the day reports.

Only events in effect count anywhere: an event that a correction replaces (edited or voided, see
attendance_corrections) is kept in the table but left out of every query here."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, exists, insert, select
from sqlalchemy.orm import Session, selectinload

from whosthat.store.models import AttendanceCorrection, AttendanceEvent
from whosthat.store.repositories.paging import page_of


def in_effect():
    """The condition "no correction replaces this event" (it was neither edited nor voided)."""
    return ~exists().where(AttendanceCorrection.replaces_event_id == AttendanceEvent.id)


def last_event(
    session: Session, person_id: int, *, since: datetime, before: datetime
) -> AttendanceEvent | None:
    """The person's latest event in effect in [since, before), or None."""
    return session.execute(
        select(AttendanceEvent)
        .where(
            AttendanceEvent.person_id == person_id,
            AttendanceEvent.at >= since,
            AttendanceEvent.at < before,
            in_effect(),
        )
        .order_by(AttendanceEvent.at.desc(), AttendanceEvent.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def add(session: Session, **fields) -> AttendanceEvent:
    """Insert one event (the AttendanceEvent columns as keywords), flushed so that its id is set."""
    event = AttendanceEvent(**fields)
    session.add(event)
    session.flush()
    return event


def _events(person_id: int | None, since: datetime | None, until: datetime | None) -> Select:
    """Events (with .person loaded) of one person or everyone, at >= since and at < until when given."""
    stmt = select(AttendanceEvent).options(selectinload(AttendanceEvent.person)).where(in_effect())
    if person_id is not None:
        stmt = stmt.where(AttendanceEvent.person_id == person_id)
    if since:
        stmt = stmt.where(AttendanceEvent.at >= since)
    if until:
        stmt = stmt.where(AttendanceEvent.at < until)
    return stmt


def page_newest_first(
    session: Session,
    *,
    person_id: int | None,
    since: datetime | None,
    until: datetime | None,
    page: int,
    size: int,
) -> tuple[list[AttendanceEvent], int]:
    """(one page of events, newest first; the total count)."""
    order = (AttendanceEvent.at.desc(), AttendanceEvent.id.desc())
    return page_of(session, _events(person_id, since, until), order, page=page, size=size)


def oldest_first(
    session: Session, *, person_id: int | None, since: datetime | None, until: datetime | None
) -> list[AttendanceEvent]:
    """Every event of the range, oldest first."""
    stmt = _events(person_id, since, until).order_by(AttendanceEvent.at, AttendanceEvent.id)
    return list(session.execute(stmt).scalars())


def get(session: Session, event_id: int, *, for_update: bool = False) -> AttendanceEvent | None:
    """One event by id (in effect or not), with .person loaded; locked for update when asked."""
    stmt = (
        select(AttendanceEvent)
        .options(selectinload(AttendanceEvent.person))
        .where(AttendanceEvent.id == event_id)
    )
    if for_update:
        stmt = stmt.with_for_update()
    return session.execute(stmt).scalar_one_or_none()


def insert_many(session: Session, rows: list[dict], batch: int = 5000) -> int:
    """Insert many events (dicts of AttendanceEvent columns) in batched INSERTs (benchmarks, imports)."""
    for start in range(0, len(rows), batch):
        session.execute(insert(AttendanceEvent), rows[start : start + batch])
    return len(rows)


def timeline_rows(session: Session, *, person_id: int | None, since: datetime | None, until: datetime | None):
    """(id, person_id, kind, at, source) of every event in effect in [since, until), oldest first, as
    plain rows rather than ORM objects (a month's timesheet for everyone reads tens of thousands)."""
    stmt = select(
        AttendanceEvent.id,
        AttendanceEvent.person_id,
        AttendanceEvent.kind,
        AttendanceEvent.at,
        AttendanceEvent.source,
    ).where(in_effect())
    if person_id is not None:
        stmt = stmt.where(AttendanceEvent.person_id == person_id)
    if since:
        stmt = stmt.where(AttendanceEvent.at >= since)
    if until:
        stmt = stmt.where(AttendanceEvent.at < until)
    return list(session.execute(stmt.order_by(AttendanceEvent.at, AttendanceEvent.id)))
