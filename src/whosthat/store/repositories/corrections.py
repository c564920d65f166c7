"""Attendance corrections (add / edit / void markers) and employees' correction requests."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, aliased, selectinload

from whosthat.store.models import AttendanceCorrection, AttendanceEvent, CorrectionRequest
from whosthat.store.repositories.paging import page_of


def add(session: Session, **fields) -> AttendanceCorrection:
    """Insert one correction (the AttendanceCorrection columns as keywords), flushed."""
    row = AttendanceCorrection(**fields)
    session.add(row)
    session.flush()
    return row


def replacing(session: Session, event_id: int) -> AttendanceCorrection | None:
    """The correction that replaces (edits or voids) the event, or None while it is in effect."""
    return session.execute(
        select(AttendanceCorrection).where(AttendanceCorrection.replaces_event_id == event_id)
    ).scalar_one_or_none()


def in_range(
    session: Session, *, person_id: int | None, since: datetime | None, until: datetime | None
) -> list[AttendanceCorrection]:
    """Corrections whose new or replaced event lies in [since, until), oldest first, with both events
    loaded."""
    new, old = aliased(AttendanceEvent), aliased(AttendanceEvent)
    stmt = (
        select(AttendanceCorrection)
        .outerjoin(new, AttendanceCorrection.event_id == new.id)
        .outerjoin(old, AttendanceCorrection.replaces_event_id == old.id)
        .options(
            selectinload(AttendanceCorrection.person),
            selectinload(AttendanceCorrection.event),
            selectinload(AttendanceCorrection.replaces),
        )
        .order_by(AttendanceCorrection.at, AttendanceCorrection.id)
    )
    if person_id is not None:
        stmt = stmt.where(AttendanceCorrection.person_id == person_id)

    def within(ev):
        conds = [ev.id.is_not(None)]
        if since is not None:
            conds.append(ev.at >= since)
        if until is not None:
            conds.append(ev.at < until)
        return and_(*conds)

    return list(session.execute(stmt.where(or_(within(new), within(old)))).scalars())


def add_request(session: Session, **fields) -> CorrectionRequest:
    """Insert one correction request, flushed."""
    row = CorrectionRequest(**fields)
    session.add(row)
    session.flush()
    return row


def get_request(session: Session, request_id: int, *, for_update: bool = False) -> CorrectionRequest | None:
    stmt = (
        select(CorrectionRequest)
        .options(selectinload(CorrectionRequest.person), selectinload(CorrectionRequest.event))
        .where(CorrectionRequest.id == request_id)
    )
    if for_update:
        stmt = stmt.with_for_update()
    return session.execute(stmt).scalar_one_or_none()


def page_requests(
    session: Session, *, status: str | None, person_id: int | None, page: int, size: int
) -> tuple[list[CorrectionRequest], int]:
    """(one page of requests, newest first; the total count)."""
    stmt = select(CorrectionRequest).options(
        selectinload(CorrectionRequest.person), selectinload(CorrectionRequest.event)
    )
    if status is not None:
        stmt = stmt.where(CorrectionRequest.status == status)
    if person_id is not None:
        stmt = stmt.where(CorrectionRequest.person_id == person_id)
    order = (CorrectionRequest.created_at.desc(), CorrectionRequest.id.desc())
    return page_of(session, stmt, order, page=page, size=size)
