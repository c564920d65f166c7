"""One page of a query's rows together with the total count over all pages; literal LIKE patterns."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session


def page_of(
    session: Session, stmt: Select, order_by: tuple, *, page: int, size: int
) -> tuple[list[Any], int]:
    """(the rows of page `page` (from 1) of `size` rows in `order_by` order, the total row count)."""
    total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = session.execute(stmt.order_by(*order_by).offset((page - 1) * size).limit(size)).scalars().all()
    return list(rows), int(total)


LIKE_ESCAPE = "\\"


def escape_like(text: str) -> str:
    """`text` for a LIKE pattern (with escape=LIKE_ESCAPE) that matches it literally: % and _ are not
    wildcards."""
    return (
        text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2)
        .replace("%", LIKE_ESCAPE + "%")
        .replace("_", LIKE_ESCAPE + "_")
    )
