"""Paired kiosks: an administrator registers a kiosk (name, site, time zone) and gets a one-time
pairing code; the kiosk's browser enters it once and receives a device credential (a random token in
an HttpOnly cookie; only its SHA-256 is stored). Face logins and liveness sessions are accepted only
from a browser holding the credential of an unrevoked kiosk (web/api/liveness.py, web/pages/kiosk.py).

Rules (each lives here only):
- A pairing code is PAIRING_CODE_LENGTH characters of an alphabet without look-alikes, valid for
  PAIRING_TTL, usable once; a new code (re-pairing) or a revocation ends the previous browser's credential.
- Wrong codes count toward a lockout per address (the per-address password limiter: its limit and
  lockout time, under its own key).
- Last contact (time and address) is written at most once per CONTACT_EVERY.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from whosthat import i18n
from whosthat.i18n import M_, N_
from whosthat.services import audit
from whosthat.services.common import SYSTEM, Actor, Context, clean_text, valid_id
from whosthat.services.credentials import new_token, token_hash
from whosthat.services.errors import (
    AuthenticationError,
    ConflictError,
    LockedOutError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from whosthat.services.kiosk_login import KIOSK_NAME_RULE, kiosk_name
from whosthat.services.schedules import zone_of
from whosthat.store import repositories as repo
from whosthat.store.models import Kiosk, utcnow

PAIRING_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read off one screen, typed on another
PAIRING_CODE_LENGTH = 10  # 50 bits; valid for minutes, and wrong guesses lock the address out
PAIRING_TTL = timedelta(minutes=15)
CONTACT_EVERY = timedelta(seconds=60)
DEVICE_COOKIE = "whosthat_kiosk"
DEVICE_COOKIE_MAX_AGE_S = 400 * 24 * 3600  # browsers cap cookies at 400 days; revocation is the real end


class KioskNotPairedError(PermissionDeniedError):
    """The browser holds no credential of a paired, unrevoked kiosk."""

    code = "kiosk_not_paired"


NOT_PAIRED = N_(
    "this browser is not a paired kiosk: an administrator creates the kiosk under Kiosks and gives you a "
    "pairing code to enter on /kiosk"
)


def _new_code() -> str:
    return "".join(secrets.choice(PAIRING_ALPHABET) for _ in range(PAIRING_CODE_LENGTH))


def normalise_code(code: str) -> str:
    """What the person typed, without spaces or dashes, upper case."""
    return "".join(c for c in (code or "").upper() if c.isalnum())[: PAIRING_CODE_LENGTH * 2]


def _get(ctx: Context, kiosk_id: int) -> Kiosk:
    row = repo.kiosks.get(ctx.db, kiosk_id, for_update=True) if valid_id(kiosk_id) else None
    if row is None:
        raise NotFoundError(M_("no kiosk with id %(id)s", id=kiosk_id))
    return row


def _issue_code(row: Kiosk) -> str:
    code = _new_code()
    row.pairing_code_hash = token_hash(code)
    row.pairing_expires_at = utcnow() + PAIRING_TTL
    return code


def kiosk_language(language: str | None) -> str | None:
    """A kiosk's language setting: one of i18n.LANGUAGES, or None (empty) for the browser's choice."""
    value = (language or "").strip()
    if not value:
        return None
    if value not in i18n.LANGUAGES:
        raise ValidationError(
            M_(
                "the kiosk's language must be one of %(languages)s, or empty",
                languages=", ".join(i18n.LANGUAGES),
            ),
            field="language",
        )
    return value


def create_kiosk(
    ctx: Context,
    *,
    name: str,
    site: str = "",
    timezone: str | None = None,
    language: str | None = None,
    actor: Actor = SYSTEM,
) -> tuple[Kiosk, str]:
    """A new kiosk and its one-time pairing code (shown once; only its hash is kept)."""
    actor.require("admin")
    clean = kiosk_name(name)
    if clean is None:
        raise ValidationError(KIOSK_NAME_RULE, field="name")
    site = clean_text(site, M_("the site"), 120, required=False, field="site")
    timezone = (timezone or "").strip() or str(ctx.tz)
    try:
        zone_of(timezone)
    except ValidationError as exc:
        exc.field = "timezone"
        raise
    language = kiosk_language(language)
    if taken := repo.kiosks.by_name(ctx.db, clean):
        raise ConflictError(
            M_("%(field)s %(name)s is already the name of a kiosk", field="kiosk name", name=clean),
            field="name",
            refers=("kiosk", taken.id, taken.name),
        )
    row = repo.kiosks.add(
        ctx.db, name=clean, site=site, timezone=timezone, language=language, created_by=actor.label
    )
    code = _issue_code(row)
    audit.record(
        ctx,
        actor,
        "kiosk.create",
        f"kiosk:{row.id}",
        {"name": clean, "site": site, "timezone": timezone, "language": language},
    )
    ctx.commit()
    return row, code


def new_pairing_code(ctx: Context, kiosk_id: int, *, actor: Actor = SYSTEM) -> tuple[Kiosk, str]:
    """A fresh pairing code; the browser paired before loses its credential now."""
    actor.require("admin")
    row = _get(ctx, kiosk_id)
    code = _issue_code(row)
    row.device_token_hash, row.paired_at, row.revoked_at = None, None, None
    audit.record(ctx, actor, "kiosk.repair", f"kiosk:{row.id}", {"name": row.name})
    ctx.commit()
    return row, code


def set_language(ctx: Context, kiosk_id: int, language: str | None, *, actor: Actor = SYSTEM) -> Kiosk:
    """The kiosk's own language (None: the browser's choice, then the site default)."""
    actor.require("admin")
    language = kiosk_language(language)
    row = _get(ctx, kiosk_id)
    row.language = language
    audit.record(ctx, actor, "kiosk.language", f"kiosk:{row.id}", {"name": row.name, "language": language})
    ctx.commit()
    return row


def revoke(ctx: Context, kiosk_id: int, *, actor: Actor = SYSTEM) -> Kiosk:
    """End the kiosk's credential and any open pairing code; it needs a new code to work again."""
    actor.require("admin")
    row = _get(ctx, kiosk_id)
    row.device_token_hash = row.pairing_code_hash = row.pairing_expires_at = None
    row.revoked_at = utcnow()
    audit.record(ctx, actor, "kiosk.revoke", f"kiosk:{row.id}", {"name": row.name})
    ctx.commit()
    return row


def by_name(ctx: Context, name: str) -> Kiosk | None:
    return repo.kiosks.by_name(ctx.db, name)


def list_kiosks(ctx: Context) -> list[Kiosk]:
    return repo.kiosks.all_kiosks(ctx.db)


def pair(ctx: Context, code: str) -> tuple[Kiosk, str]:
    """Exchange a valid pairing code for the kiosk's device credential (returned once, to be set as the
    cookie). AuthenticationError for a wrong or expired code; LockedOutError after too many."""
    limiter = ctx.runtime.password_address_limiter
    key = f"kiosk-pair:{ctx.address or '-'}"
    state = limiter.check(key)
    if state.locked:
        raise LockedOutError(
            M_("too many wrong pairing codes: try again in %(seconds)s s", seconds=state.retry_after_s),
            state.retry_after_s,
        )
    clean = normalise_code(code)
    row = (
        repo.kiosks.by_pairing_code(ctx.db, token_hash(clean)) if len(clean) == PAIRING_CODE_LENGTH else None
    )
    if row is None or row.pairing_expires_at is None or row.pairing_expires_at < utcnow():
        ctx.db.rollback()
        limiter.failure(key)
        audit.record(ctx, Actor.for_kiosk("unpaired"), "kiosk.pair_failed", None, {})
        ctx.commit()
        raise AuthenticationError(
            M_("that pairing code is wrong or has expired: ask an administrator for a new one")
        )
    limiter.success(key)
    token = new_token()
    now = utcnow()
    row.device_token_hash = token_hash(token)
    row.pairing_code_hash = row.pairing_expires_at = None
    row.paired_at, row.revoked_at, row.last_seen_at, row.last_address = now, None, now, ctx.address
    audit.record(ctx, Actor.for_kiosk(row.name), "kiosk.pair", f"kiosk:{row.id}", {"name": row.name})
    ctx.commit()
    return row, token


def kiosk_for_device(ctx: Context, token: str | None) -> Kiosk | None:
    """The paired, unrevoked kiosk whose credential this is (its last contact noted), else None."""
    if not token or len(token) > 200:
        return None
    row = repo.kiosks.by_device(ctx.db, token_hash(token))
    if row is None or row.revoked_at is not None:
        return None
    now = utcnow()
    if row.last_seen_at is None or now - row.last_seen_at >= CONTACT_EVERY or row.last_address != ctx.address:
        row.last_seen_at, row.last_address = now, ctx.address
        ctx.commit()
    return row
