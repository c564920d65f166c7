"""Credentials: password hashing (argon2id) and the password rule, random tokens and their hashes,
API key generation, and constant-time comparison."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from whosthat.i18n import M_

_hasher = PasswordHasher()  # argon2id, library defaults (RFC 9106 low-memory profile)
# Verified against unknown usernames so that timing does not reveal which usernames exist.
_DUMMY_HASH = _hasher.hash("whosthat-dummy-password")

API_KEY_PREFIX = "wt_"
MIN_PASSWORD_LENGTH = 10


# Passwords -----------------------------------------------------------------------------------------
def hash_password(password: str) -> str:
    """argon2id hash of `password` (a self-describing string with salt and parameters)."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; constant work even when `password_hash` is None (unknown user)."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def password_needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def password_problem(password: str) -> str | None:
    """A one-line reason why `password` is not acceptable, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return M_("the password must have at least %(count)s characters", count=MIN_PASSWORD_LENGTH)
    if password.strip() != password:
        return M_("the password must not start or end with whitespace")
    return None


# Tokens and API keys -------------------------------------------------------------------------------
def new_token(nbytes: int = 32) -> str:
    """URL-safe random token with `nbytes` of entropy."""
    return secrets.token_urlsafe(nbytes)


def token_hash(token: str) -> str:
    """sha256 hex of a high-entropy token (fine for random tokens; passwords use argon2)."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_api_key() -> tuple[str, str, str]:
    """(plaintext key shown once, its display prefix, its sha256 hash to store)."""
    key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    return key, key[:10], token_hash(key)


def constant_time_equals(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
