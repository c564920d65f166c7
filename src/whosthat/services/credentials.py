"""Password hashing (argon2id), API key generation and hashing, random tokens, and rate limiting with
temporary lockout.

Rate limiters are in-process (one per replica); behind a load balancer the effective limit is per
replica, which still bounds guessing. Keys are free-form strings, e.g. "face:<kiosk>|<address>" or
"password:<username>|<address>".
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

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
        return f"the password must have at least {MIN_PASSWORD_LENGTH} characters"
    if password.strip() != password:
        return "the password must not start or end with whitespace"
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


# Rate limiting -------------------------------------------------------------------------------------
@dataclass
class LimitState:
    locked: bool
    retry_after_s: int
    failures: int


class FailureLimiter:
    """Counts failures per key in a sliding window; `max_failures` within `window_s` locks the key
    for `lockout_s`. A success clears the key's failures."""

    def __init__(
        self, max_failures: int, lockout_s: float, window_s: float | None = None, clock=time.monotonic
    ):
        self.max_failures = max_failures
        self.lockout_s = lockout_s
        self.window_s = window_s if window_s is not None else max(lockout_s, 60.0)
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._locked_until: dict[str, float] = {}
        self._lock = threading.Lock()

    def check(self, key: str) -> LimitState:
        """Whether `key` is locked out now, and for how long."""
        now = self._clock()
        with self._lock:
            until = self._locked_until.get(key)
            if until is not None and until > now:
                return LimitState(True, max(1, int(until - now + 0.999)), len(self._failures.get(key, ())))
            if until is not None:
                self._locked_until.pop(key, None)
                self._failures.pop(key, None)
            return LimitState(False, 0, len(self._failures.get(key, ())))

    def failure(self, key: str) -> LimitState:
        """Record a failure; returns the state after it (locked when this one reached the limit)."""
        now = self._clock()
        with self._lock:
            q = self._failures.setdefault(key, deque())
            q.append(now)
            while q and q[0] < now - self.window_s:
                q.popleft()
            if len(q) >= self.max_failures:
                self._locked_until[key] = now + self.lockout_s
                return LimitState(True, int(self.lockout_s), len(q))
            return LimitState(False, 0, len(q))

    def success(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)

    def prune(self) -> None:
        now = self._clock()
        with self._lock:
            for key in [k for k, t in self._locked_until.items() if t <= now]:
                self._locked_until.pop(key, None)
            for key in [k for k, q in self._failures.items() if not q or q[-1] < now - self.window_s]:
                self._failures.pop(key, None)


class RateLimiter:
    """At most `limit` events per key in a sliding `window_s` (e.g. liveness sessions per address)."""

    def __init__(self, limit: int, window_s: float, clock=time.monotonic):
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> LimitState:
        """Count one event; locked (with retry-after) when it exceeds the limit (the event is not counted)."""
        now = self._clock()
        with self._lock:
            q = self._events.setdefault(key, deque())
            while q and q[0] <= now - self.window_s:
                q.popleft()
            if len(q) >= self.limit:
                return LimitState(True, max(1, int(q[0] + self.window_s - now + 0.999)), len(q))
            q.append(now)
            if len(self._events) > 50_000:  # bound memory under address churn
                for k in [k for k, v in self._events.items() if not v or v[-1] <= now - self.window_s]:
                    self._events.pop(k, None)
            return LimitState(False, 0, len(q))
