"""People: search with paging, lookups, the employee-code uniqueness check, and deletion with all
their data."""

from __future__ import annotations

from sqlalchemy import delete, func, insert, or_, select
from sqlalchemy import update as sql_update
from sqlalchemy.orm import Session

from whosthat.store.models import AttendanceEvent, FaceTemplate, LoginTicket, Person, WebSession
from whosthat.store.repositories.counters import bump_gallery_version
from whosthat.store.repositories.paging import LIKE_ESCAPE, escape_like, page_of


def search(
    session: Session, q: str | None = None, *, page: int = 1, size: int = 20, active: bool | None = None
) -> tuple[list[Person], int]:
    """People whose code, name or surname contains `q` (case-insensitive), ordered by surname, name.

    Returns (the page's people, the total count over all pages). `page` starts at 1.
    """
    stmt = select(Person)
    if q:
        pattern = f"%{escape_like(q.strip().lower())}%"  # literal: q=% matches a "%", not everyone
        stmt = stmt.where(
            or_(
                func.lower(Person.employee_code).like(pattern, escape=LIKE_ESCAPE),
                func.lower(Person.name).like(pattern, escape=LIKE_ESCAPE),
                func.lower(Person.surname).like(pattern, escape=LIKE_ESCAPE),
                func.lower(Person.name + " " + Person.surname).like(pattern, escape=LIKE_ESCAPE),
            )
        )
    if active is not None:
        stmt = stmt.where(Person.active == active)
    order = (func.lower(Person.surname), func.lower(Person.name), Person.id)
    return page_of(session, stmt, order, page=page, size=size)


def get(session: Session, person_id: int) -> Person | None:
    return session.get(Person, person_id)


def lock(session: Session, person_id: int) -> Person | None:
    """The person, write-locked until the transaction ends; None when there is no such person.

    An UPDATE that changes nothing is the lock on both databases: PostgreSQL row-locks the person, and
    SQLite (where SELECT ... FOR UPDATE does nothing) takes its database write lock, so a second caller
    waits here (busy_timeout) until the first commits. Read-then-write decisions per person (the next
    clock event) made after this call are therefore serialised.
    """
    session.execute(
        sql_update(Person)
        .where(Person.id == person_id)
        .values(updated_at=Person.updated_at)
        .execution_options(synchronize_session=False)
    )
    return session.execute(
        select(Person).where(Person.id == person_id).execution_options(populate_existing=True)
    ).scalar_one_or_none()


def by_code(session: Session, employee_code: str) -> Person | None:
    """The person with this employee code, or None."""
    return session.scalars(select(Person).where(Person.employee_code == employee_code)).first()


def set_pin_hash(session: Session, person: Person, pin_hash: str | None) -> None:
    person.pin_hash = pin_hash
    session.flush()


def code_taken(session: Session, employee_code: str, *, other_than: int | None = None) -> bool:
    """Whether another person (any but `other_than`) already has this employee code."""
    stmt = select(Person.id).where(Person.employee_code == employee_code)
    if other_than is not None:
        stmt = stmt.where(Person.id != other_than)
    return session.execute(stmt).first() is not None


def with_code(session: Session, employee_code: str, *, other_than: int | None = None) -> Person | None:
    """The person (any but `other_than`) who has this employee code, or None."""
    stmt = select(Person).where(Person.employee_code == employee_code)
    if other_than is not None:
        stmt = stmt.where(Person.id != other_than)
    return session.execute(stmt).scalars().first()


def add(session: Session, *, employee_code: str, name: str, surname: str, active: bool) -> Person:
    """Insert a person (flushed: the id is set). IntegrityError when the code is taken meanwhile."""
    person = Person(employee_code=employee_code, name=name, surname=surname, active=active)
    session.add(person)
    session.flush()
    return person


def add_many(session: Session, people: list[tuple[str, str, str]]) -> list[int]:
    """Insert active people (employee code, name, surname) in one statement each batch; their ids."""
    ids: list[int] = []
    for start in range(0, len(people), 1000):
        rows = [
            {"employee_code": c, "name": n, "surname": s, "active": True}
            for c, n, s in people[start : start + 1000]
        ]
        ids += [int(i) for i in session.scalars(insert(Person).returning(Person.id), rows)]
    return ids


def update(session: Session, person: Person, changes: dict) -> None:
    """Set the changed attributes; (de)activating a person changes face search, so it bumps the counter."""
    for key, value in changes.items():
        setattr(person, key, value)
    if "active" in changes:
        bump_gallery_version(session, [person.id])


def delete_with_data(session: Session, person: Person) -> None:
    """Delete the person with their templates, chips, attendance and login tickets; bumps the counter."""
    pid = person.id
    # Explicit deletes first: correct even where the database ignores ON DELETE CASCADE.
    session.execute(delete(FaceTemplate).where(FaceTemplate.person_id == pid))
    session.execute(delete(AttendanceEvent).where(AttendanceEvent.person_id == pid))
    session.execute(delete(LoginTicket).where(LoginTicket.person_id == pid))
    session.execute(delete(WebSession).where(WebSession.kind == "employee", WebSession.subject_id == pid))
    session.execute(delete(Person).where(Person.id == pid))
    session.expunge(person)
    bump_gallery_version(session, [pid])
