"""The shape of every paged listing of the API: {"items", "page", "size", "total", "pages"}."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from whosthat.services.common import Page

Item = TypeVar("Item", bound=BaseModel)


class Paged(BaseModel, Generic[Item]):
    """items of page `page` (from 1) of `size`; `total` items on `pages` pages."""

    items: list[Item]
    page: int
    size: int
    total: int
    pages: int

    @classmethod
    def of(cls, result: Page, convert: Callable[[Any], Item]):
        """This model of a service Page, each item converted by `convert`."""
        return cls(
            items=[convert(x) for x in result.items],
            page=result.page,
            size=result.size,
            total=result.total,
            pages=result.pages,
        )
