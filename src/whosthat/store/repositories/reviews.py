"""The review queue of kiosk events (weak matches, liveness warnings)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from whosthat.store.models import ReviewItem
from whosthat.store.repositories.paging import page_of


def add(session: Session, **fields) -> ReviewItem:
    row = ReviewItem(**fields)
    session.add(row)
    session.flush()
    return row


def get(session: Session, item_id: int, *, for_update: bool = False) -> ReviewItem | None:
    stmt = (
        select(ReviewItem)
        .options(selectinload(ReviewItem.event), selectinload(ReviewItem.person))
        .where(ReviewItem.id == item_id)
    )
    if for_update:
        stmt = stmt.with_for_update()
    return session.execute(stmt).scalar_one_or_none()


def page(session: Session, *, status: str | None, page: int, size: int) -> tuple[list[ReviewItem], int]:
    stmt = select(ReviewItem).options(selectinload(ReviewItem.event), selectinload(ReviewItem.person))
    if status is not None:
        stmt = stmt.where(ReviewItem.status == status)
    return page_of(session, stmt, (ReviewItem.created_at.desc(), ReviewItem.id.desc()), page=page, size=size)
