"""Schedules, work groups and their members, schedule assignments, public holidays, locked periods."""

from __future__ import annotations

from datetime import date

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from whosthat.store.models import (
    Holiday,
    PeriodLock,
    Person,
    Schedule,
    ScheduleAssignment,
    WorkGroup,
    WorkGroupMember,
)


def add(session: Session, row):
    """Insert any of this module's rows, flushed so that its id is set."""
    session.add(row)
    session.flush()
    return row


def get(session: Session, model, row_id: int):
    return session.get(model, row_id)


def remove(session: Session, row) -> None:
    session.delete(row)
    session.flush()


def schedules(session: Session) -> list[Schedule]:
    return list(session.execute(select(Schedule).order_by(Schedule.name)).scalars())


def schedule_by_name(session: Session, name: str) -> Schedule | None:
    return session.execute(select(Schedule).where(Schedule.name == name)).scalar_one_or_none()


def groups(session: Session) -> list[WorkGroup]:
    return list(session.execute(select(WorkGroup).order_by(WorkGroup.name)).scalars())


def group_by_name(session: Session, name: str) -> WorkGroup | None:
    return session.execute(select(WorkGroup).where(WorkGroup.name == name)).scalar_one_or_none()


def members(session: Session) -> list[tuple[int, int]]:
    """Every (group_id, person_id)."""
    return [tuple(r) for r in session.execute(select(WorkGroupMember.group_id, WorkGroupMember.person_id))]


def is_member(session: Session, group_id: int, person_id: int) -> bool:
    return session.get(WorkGroupMember, (group_id, person_id)) is not None


def remove_member(session: Session, group_id: int, person_id: int) -> int:
    result = session.execute(
        delete(WorkGroupMember).where(
            WorkGroupMember.group_id == group_id, WorkGroupMember.person_id == person_id
        )
    )
    return result.rowcount


def assignments(session: Session) -> list[ScheduleAssignment]:
    """Every assignment, oldest valid_from first."""
    stmt = select(ScheduleAssignment).order_by(ScheduleAssignment.valid_from, ScheduleAssignment.id)
    return list(session.execute(stmt).scalars())


def holidays(session: Session, date_from: date | None = None, date_to: date | None = None) -> list[Holiday]:
    stmt = select(Holiday).order_by(Holiday.day)
    if date_from:
        stmt = stmt.where(Holiday.day >= date_from)
    if date_to:
        stmt = stmt.where(Holiday.day <= date_to)
    return list(session.execute(stmt).scalars())


def holiday_on(session: Session, day: date) -> Holiday | None:
    return session.execute(select(Holiday).where(Holiday.day == day)).scalar_one_or_none()


def locks(session: Session, *, active_only: bool = False) -> list[PeriodLock]:
    """Locked periods, newest first (active_only: not unlocked)."""
    stmt = select(PeriodLock).order_by(PeriodLock.locked_at.desc(), PeriodLock.id.desc())
    if active_only:
        stmt = stmt.where(PeriodLock.unlocked_at.is_(None))
    return list(session.execute(stmt).scalars())


def active_locks_overlapping(session: Session, date_from: date, date_to: date) -> list[PeriodLock]:
    stmt = select(PeriodLock).where(
        PeriodLock.unlocked_at.is_(None), PeriodLock.date_from <= date_to, PeriodLock.date_to >= date_from
    )
    return list(session.execute(stmt).scalars())


def lock_for_update(session: Session, lock_id: int) -> PeriodLock | None:
    return session.execute(
        select(PeriodLock).where(PeriodLock.id == lock_id).with_for_update()
    ).scalar_one_or_none()


def active_people(session: Session) -> list[Person]:
    """Every active person (a timesheet for everyone lists them even on days without attendance)."""
    return list(session.execute(select(Person).where(Person.active.is_(True)).order_by(Person.id)).scalars())
