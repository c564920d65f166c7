"""The review queue: kiosk events whose face match held only just (gallery.threshold.is_weak_match) or
whose liveness check passed with a warning (the print-attack detector flagged it in "warn" mode) wait
for an administrator to confirm or void them. The attempt's face chip is kept with the item,
encrypted and bound to the person like template chips, and deleted at the decision (either way).
A voided event is voided through services/corrections.py (with the reviewer's note as the reason)."""

from __future__ import annotations

import numpy as np

from whosthat.gallery.threshold import is_weak_match
from whosthat.i18n import M_
from whosthat.services import audit, corrections
from whosthat.services.common import SYSTEM, Actor, Context, Page, check_paging, clean_text, valid_id
from whosthat.services.errors import ConflictError, NotFoundError, ValidationError
from whosthat.store import repositories as repo
from whosthat.store.models import AttendanceEvent, ReviewItem, utcnow

STATUSES = ("pending", "confirmed", "voided")


def reasons_for(ctx: Context, event: AttendanceEvent, liveness: dict | None) -> list[str]:
    """Why a kiosk event needs a look: "weak_match", "liveness_warning", "pin_login" (no face confirmed
    who it was: services/pin_login.py); empty: it does not."""
    if event.source == "pin":
        return ["pin_login"]
    threshold, margin = ctx.runtime.operating_point()
    out = []
    if is_weak_match(event.match_distance, event.match_margin, threshold, margin):
        out.append("weak_match")
    if liveness and liveness.get("pad_flag"):
        out.append("liveness_warning")
    return out


def flag_if_needed(
    ctx: Context, event: AttendanceEvent, chip: np.ndarray | None, liveness: dict | None
) -> ReviewItem | None:
    """Queue the kiosk event when it needs a look, with the attempt's chip encrypted; else nothing."""
    reasons = reasons_for(ctx, event, liveness)
    if not reasons:
        return None
    blob = ctx.runtime.cipher.encrypt_chip(chip, event.person_id) if chip is not None else None
    row = repo.reviews.add(
        ctx.db, event_id=event.id, person_id=event.person_id, reasons=reasons, chip=blob, status="pending"
    )
    audit.record(
        ctx,
        Actor.for_kiosk(event.kiosk or "kiosk"),
        "review.queued",
        f"person:{event.person_id}",
        {"event": event.id, "reasons": reasons},
    )
    ctx.commit()
    return row


def list_items(
    ctx: Context, *, status: str | None = "pending", page: int = 1, size: int = 50, actor: Actor = SYSTEM
) -> Page:
    actor.require("attendance:read")
    if status is not None and status not in STATUSES:
        raise ValidationError(M_("status must be 'pending', 'confirmed' or 'voided'"))
    page, size = check_paging(page, size)
    rows, total = repo.reviews.page(ctx.db, status=status, page=page, size=size)
    return Page(rows, page, size, total)


def chip(ctx: Context, item_id: int, *, actor: Actor = SYSTEM) -> np.ndarray | None:
    """The pending item's decrypted chip (None once decided or when none was kept)."""
    actor.require("attendance:read")
    row = repo.reviews.get(ctx.db, item_id) if valid_id(item_id) else None
    if row is None:
        raise NotFoundError(M_("no review item with id %(id)s", id=item_id))
    if row.chip is None:
        return None
    return ctx.runtime.cipher.decrypt_chip(row.chip, row.person_id)


def decide(
    ctx: Context, item_id: int, *, confirm: bool, note: str | None = None, actor: Actor = SYSTEM
) -> ReviewItem:
    """Confirm the event, or void it (a note is required: it is the correction's reason); the chip is
    deleted either way. ConflictError when the item was decided already."""
    actor.require("attendance:write")
    row = repo.reviews.get(ctx.db, item_id, for_update=True) if valid_id(item_id) else None
    if row is None:
        raise NotFoundError(M_("no review item with id %(id)s", id=item_id))
    if row.status != "pending":
        if row.status == "confirmed":
            raise ConflictError(M_("review item %(id)s was already confirmed", id=row.id))
        raise ConflictError(M_("review item %(id)s was already voided", id=row.id))
    note = clean_text(note, M_("the note"), 500, required=not confirm) or None
    if not confirm:
        corrections.apply_correction(
            ctx, "void", actor=actor, reason=f"review: {note}", event_id=row.event_id
        )
    row.status = "confirmed" if confirm else "voided"
    row.chip = None  # kept only until the decision
    row.decided_at, row.decided_by, row.note = utcnow(), actor.label, note
    audit.record(
        ctx, actor, f"review.{row.status}", f"person:{row.person_id}", {"event": row.event_id, "note": note}
    )
    ctx.commit()
    return row
