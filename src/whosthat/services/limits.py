"""Failure lockouts and rate limits, counted per key in a sliding window.

The limiters are in-process (one per replica); behind a load balancer the effective limit is per
replica, which still bounds guessing. Keys are free-form strings; the services that use them build
their keys in one place each (kiosk_login.lockout_keys, access.password_lockout_keys).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass


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
