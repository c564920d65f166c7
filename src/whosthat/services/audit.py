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
    date_from=None,
    date_to=None,
    actor: Actor = SYSTEM,
) -> Page:
    """Audit rows, newest first; filter by exact action, by actor label prefix (e.g. "admin:") and by
    local days date_from..date_to (inclusive; ValidationError when reversed). The reading `actor`
    needs audit:read."""
    from whosthat.services.attendance import day_range  # attendance records audit rows itself

    actor.require("audit:read")
    page, size = check_paging(page, size)
    since, until = day_range(ctx, date_from, date_to)
    rows, total = repo.audit.page_newest_first(
        ctx.db,
        action=(action or "").strip()[:64] or None,
        actor_prefix=(actor_label or "").strip()[:80] or None,
        page=page,
        size=size,
        since=since,
        until=until,
    )
    return Page(rows, page, size, total)
