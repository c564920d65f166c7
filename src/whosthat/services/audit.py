"""The audit log: who did what to which target, from which address. Never images, embeddings or chips."""

from __future__ import annotations

from whosthat.services.common import SYSTEM, Actor, Context, Page, check_paging
from whosthat.store import repositories as repo


def record(
    ctx: Context, actor: Actor, action: str, target: str | None = None, detail: dict | None = None
) -> None:
    """Add an audit row to the current transaction (the calling service commits)."""
    repo.audit.add(
        ctx.db,
        actor=actor.label,
        action=action,
        target=(target or None) and target[:120],
        address=ctx.address,
        detail=detail,
    )


def list_entries(
    ctx: Context,
    *,
    page: int = 1,
    size: int = 50,
    action: str | None = None,
    actor_label: str | None = None,
    actor: Actor = SYSTEM,
) -> Page:
    """Audit rows, newest first; filter by exact action or by actor label prefix (e.g. "admin:").
    The reading `actor` needs audit:read."""
    actor.require("audit:read")
    page, size = check_paging(page, size)
    rows, total = repo.audit.page_newest_first(
        ctx.db, action=action, actor_prefix=actor_label, page=page, size=size
    )
    return Page(rows, page, size, total)
