"""The match threshold and the match rule, in one place.

Every decision "is this the same person?" (1:N identify, 1:1 verify, the kiosk login, the liveness
challenge's one-face check, `whosthat verify`) takes its threshold from `match_threshold` and compares
with `is_match`. Distances are Euclidean between the embedder's unit vectors; smaller is closer.
"""

from __future__ import annotations

from typing import Protocol

from whosthat.config import Settings, get_settings


class HasThreshold(Protocol):
    name: str
    threshold: float | None


def match_threshold(embedder: HasThreshold, settings: Settings | None = None) -> float:
    """The distance at which "same person" ends for `embedder`.

    WHOSTHAT_MATCH_THRESHOLD overrides it when set; otherwise the embedder's own calibrated threshold
    (from its model card). An embedder without one cannot be used to match: ValueError says so.
    """
    settings = settings or get_settings()
    if settings.match_threshold is not None:
        return float(settings.match_threshold)
    threshold = getattr(embedder, "threshold", None)
    if threshold is None:
        name = getattr(embedder, "name", "this embedder")
        raise ValueError(f"{name} declares no match threshold; set WHOSTHAT_MATCH_THRESHOLD")
    return float(threshold)


def is_match(distance: float, threshold: float) -> bool:
    """Same person when the distance is at most the threshold (inclusive, everywhere)."""
    return float(distance) <= float(threshold)
