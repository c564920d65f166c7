"""Who may do what: administrators and their password sign-in (with its lockout) and password changes,
server-side browser sessions, the first-run setup token, and API keys with their scopes (the scopes
themselves and `Actor` are in common.py)."""

from __future__ import annotations

from datetime import timedelta

from whosthat.errors import BadInputError
from whosthat.i18n import M_
from whosthat.services import audit
from whosthat.services.common import ROLES, SCOPES, SYSTEM, Actor, Context, clean_text, valid_id
from whosthat.services.credentials import (
    API_KEY_PREFIX,
    hash_password,
    new_api_key,
    new_token,
    password_needs_rehash,
    password_problem,
    token_hash,
    verify_password,
)
from whosthat.services.errors import (
    AuthenticationError,
    ConflictError,
    InvalidSetupTokenError,
    LockedOutError,
    NotFoundError,
    ValidationError,
)
from whosthat.services.limits import FailureLimiter
from whosthat.services.metrics import LOCKOUTS
from whosthat.store import repositories as repo
from whosthat.store.models import Admin, ApiKey, utcnow

USERNAME_MAX_LENGTH = 64
KEY_NAME_MAX_LENGTH = 64
SETUP_TOKEN_TTL_S = 24 * 3600
API_KEY_TOUCH_S = 60  # last_used_at is written at most once a minute per key


# Administrators ----------------------------------------------------------------------------------
def admin_exists(ctx: Context) -> bool:
    return repo.admins.any_exists(ctx.db)


def create_admin(
    ctx: Context, username: str, password: str, *, role: str = "admin", actor: Actor = SYSTEM
) -> Admin:
    """Create an administrator (argon2id hash). ValidationError for weak passwords, ConflictError if taken."""
    actor.require("admin")
    username = clean_text(username, "username", USERNAME_MAX_LENGTH, field="username")
    if role not in ROLES:
        raise ValidationError(M_("role must be one of %(roles)s", roles=", ".join(ROLES)), field="role")
    problem = password_problem(password or "")
    if problem:
        raise ValidationError(problem, field="password")
    if (taken := repo.admins.by_username(ctx.db, username)) is not None:
        raise ConflictError(
            M_(
                "%(field)s %(username)s is already used by an administrator (role %(role)s)",
                field=M_("user name"),
                username=username,
                role=taken.role,
            ),
            field="username",
            refers=("admin", taken.id, taken.username),
        )
    admin = repo.admins.add(ctx.db, username=username, password_hash=hash_password(password), role=role)
    audit.record(ctx, actor, "admin.create", f"admin:{username}", {"role": role})
    ctx.commit()
    return admin


def admin_session_actor(ctx: Context, admin_id: int) -> Actor | None:
    """The administrator of a session cookie as an Actor, or None when that admin no longer exists."""
    admin = repo.admins.get(ctx.db, admin_id) if valid_id(admin_id) else None
    return Actor.for_admin(admin) if admin is not None else None


# Password sign-in --------------------------------------------------------------------------------
def password_lockout_keys(ctx: Context, username: str) -> list[tuple[FailureLimiter, str]]:
    """(limiter, key) pairs that failed sign-ins count under: the (user name, address) pair, and the
    address alone with a wider limit (against trying one password on many user names)."""
    address = ctx.address or "-"
    return [
        (ctx.runtime.password_limiter, f"{username.lower()}|{address}"),
        (ctx.runtime.password_address_limiter, address),
    ]


def _too_many_sign_ins(retry_after_s: int) -> LockedOutError:
    return LockedOutError(
        M_("too many failed logins: try again in %(seconds)s s", seconds=retry_after_s), retry_after_s
    )


def authenticate_admin(ctx: Context, username: str, password: str) -> Admin:
    """Check a password sign-in. AuthenticationError on a mismatch (same message for an unknown user),
    LockedOutError (even for the right password) after too many failures per user name and address,
    or per address."""
    username = (username or "").strip()[:USERNAME_MAX_LENGTH]
    keys = password_lockout_keys(ctx, username)
    for limiter, key in keys:
        state = limiter.check(key)
        if state.locked:
            raise _too_many_sign_ins(state.retry_after_s)
    admin = repo.admins.by_username(ctx.db, username)
    if not verify_password(admin.password_hash if admin else None, password or ""):
        states = [limiter.failure(key) for limiter, key in keys]
        for state in states:
            if state.locked:
                ctx.runtime.metrics.inc(*LOCKOUTS, kind="password")
        audit.record(ctx, Actor("admin", None, username or "?"), "admin.login_failed", f"admin:{username}")
        ctx.commit()
        locked = next((s for s in states if s.locked), None)
        if locked:
            raise _too_many_sign_ins(locked.retry_after_s)
        raise AuthenticationError(M_("wrong username or password"))
    limiter, key = keys[0]
    limiter.success(key)
    if password_needs_rehash(admin.password_hash):
        admin.password_hash = hash_password(password)
    admin.last_login_at = utcnow()
    audit.record(ctx, Actor.for_admin(admin), "admin.login", f"admin:{admin.username}")
    ctx.commit()
    return admin


def record_logout(ctx: Context, actor: Actor) -> None:
    """Audit the end of an admin or employee session."""
    audit.record(ctx, actor, "admin.logout" if actor.kind == "admin" else "employee.logout")
    ctx.commit()


def change_password(ctx: Context, username: str, new_password: str, *, actor: Actor = SYSTEM) -> Admin:
    """Set an administrator's password (ValidationError when weak, NotFoundError for an unknown name)
    and end every browser session of theirs: a copied session cookie stops working at once."""
    admin = repo.admins.by_username(ctx.db, (username or "").strip()[:USERNAME_MAX_LENGTH])
    if admin is None:
        raise NotFoundError(M_("no administrator %(name)s", name=repr(username)))
    problem = password_problem(new_password or "")
    if problem:
        raise ValidationError(problem)
    admin.password_hash = hash_password(new_password)
    ended = repo.sessions.remove_all_of(ctx.db, kind="admin", subject_id=admin.id)
    audit.record(ctx, actor, "admin.password_changed", f"admin:{admin.username}", {"sessions_ended": ended})
    ctx.commit()
    return admin


# Browser sessions ----------------------------------------------------------------------------------
SESSION_KINDS = ("admin", "employee")


def start_session(ctx: Context, kind: str, subject_id: int, max_age_s: int) -> str:
    """A new server-side session for an admin or an employee; returns its token (only its hash is
    stored), which the signed session cookie carries."""
    if kind not in SESSION_KINDS:
        raise ValueError(f"unknown session kind {kind!r}")
    token = new_token(32)
    now = utcnow()
    repo.sessions.add(
        ctx.db,
        token_hash(token),
        kind=kind,
        subject_id=subject_id,
        now=now,
        expires_at=now + timedelta(seconds=max_age_s),
    )
    ctx.commit()
    return token


def session_subject(ctx: Context, token: object, kind: str) -> int | None:
    """The admin's or person's id of a live session token; None when it was ended, expired or never was."""
    if not isinstance(token, str) or not token or len(token) > 128:
        return None
    return repo.sessions.subject(ctx.db, token_hash(token), kind=kind, now=utcnow())


def end_session(ctx: Context, token: object) -> None:
    """End one session (logout); nothing happens for an unknown token."""
    if isinstance(token, str) and token and len(token) <= 128:
        repo.sessions.remove(ctx.db, token_hash(token))
        ctx.commit()


# First-run setup ---------------------------------------------------------------------------------
def ensure_setup_token(ctx: Context) -> str | None:
    """When no administrator exists: a new one-time setup token (older ones are revoked), else None.

    The caller prints the setup link `/setup?token=<token>`; complete_setup() consumes it.
    """
    if admin_exists(ctx):
        return None
    token = new_token()
    expires_at = utcnow() + timedelta(seconds=SETUP_TOKEN_TTL_S)
    repo.tokens.replace_setup_token(ctx.db, token_hash(token), expires_at=expires_at)
    ctx.commit()
    return token


def setup_token_valid(ctx: Context, token: str) -> bool:
    """True while `token` is an unused, unexpired setup token and no administrator exists yet."""
    if not token or not isinstance(token, str) or len(token) > 200 or admin_exists(ctx):
        return False
    row = repo.tokens.get_setup_token(ctx.db, token_hash(token))
    return row is not None and row.used_at is None and row.expires_at > utcnow()


def complete_setup(
    ctx: Context, token: str, username: str, password: str, *, password_again: str | None = None
) -> Admin:
    """Create the first administrator with a valid setup token (which is then used up).

    password_again: the form's second password field, which must equal `password` when given. After
    a rejected user name or password the token stays usable.
    """
    if not setup_token_valid(ctx, token):
        raise InvalidSetupTokenError(
            M_(
                "this setup link is invalid or used: restart the server for a new one, "
                "or run `whosthat admin create`"
            )
        )
    if password_again is not None and password_again != password:
        raise ValidationError(M_("the two passwords differ"), field="password2")
    if not repo.tokens.use_setup_token(ctx.db, token_hash(token), now=utcnow()):
        ctx.db.rollback()
        raise AuthenticationError(M_("this setup link was just used"))
    try:
        return create_admin(
            ctx,
            username,
            password,
            role="admin",
            actor=Actor("system", None, "setup", "admin", frozenset(SCOPES)),
        )
    except BadInputError:
        ctx.db.rollback()  # the token stays usable after a rejected password
        raise


# API keys ----------------------------------------------------------------------------------------
def create_api_key(
    ctx: Context, name: str, scopes: list[str] | str, *, actor: Actor = SYSTEM
) -> tuple[ApiKey, str]:
    """(row, plaintext key). The plaintext is shown once; only its sha256 is stored.

    scopes: a list, or one string separated by commas or spaces; each must be one of SCOPES.
    """
    actor.require("admin")
    name = clean_text(name, "name", KEY_NAME_MAX_LENGTH, field="name")
    if isinstance(scopes, str):
        scopes = scopes.replace(",", " ").split()
    scopes = sorted(set(scopes or []))
    if not scopes:
        raise ValidationError(
            M_("give at least one scope: %(scopes)s", scopes=", ".join(SCOPES)), field="scopes"
        )
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        raise ValidationError(
            M_(
                "unknown scope(s) %(unknown)s; known: %(scopes)s",
                unknown=", ".join(unknown),
                scopes=", ".join(SCOPES),
            ),
            field="scopes",
        )
    key, prefix, digest = new_api_key()
    row = repo.api_keys.add(
        ctx.db, name=name, prefix=prefix, key_hash=digest, scopes=" ".join(scopes), created_by=actor.label
    )
    audit.record(ctx, actor, "apikey.create", f"apikey:{row.id}", {"name": name, "scopes": scopes})
    ctx.commit()
    return row, key


def list_api_keys(ctx: Context, include_revoked: bool = True) -> list[ApiKey]:
    """Every API key (hashes are never shown), oldest first."""
    return repo.api_keys.all_in_order(ctx.db, include_revoked=include_revoked)


def revoke_api_key(ctx: Context, key_id: int, *, actor: Actor = SYSTEM) -> ApiKey:
    """Revoke a key (it stops working at once); revoking a revoked key changes nothing."""
    actor.require("admin")
    row = repo.api_keys.get(ctx.db, key_id) if valid_id(key_id) else None
    if row is None:
        raise NotFoundError(M_("no API key with id %(id)s", id=key_id))
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record(ctx, actor, "apikey.revoke", f"apikey:{row.id}", {"name": row.name})
        ctx.commit()
    return row


def api_key_actor(ctx: Context, presented: str) -> Actor:
    """The Actor of a presented plaintext API key; AuthenticationError (and a counted auth failure)
    when it is malformed, unknown or revoked."""
    row = None
    if (
        presented
        and isinstance(presented, str)
        and len(presented) <= 200
        and presented.startswith(API_KEY_PREFIX)
    ):
        row = repo.api_keys.by_hash(ctx.db, token_hash(presented))
    if row is None or row.revoked_at is not None:
        ctx.runtime.metrics.inc("whosthat_auth_failures_total", "rejected credentials", kind="api_key")
        raise AuthenticationError(M_("invalid or revoked API key"))
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at > timedelta(seconds=API_KEY_TOUCH_S):
        row.last_used_at = now
        ctx.commit()
    return Actor.for_api_key(row)
