"""The match threshold, the open-set margin and the match rules, in one place.

Every decision "is this the same person?" (1:N identify, 1:1 verify, the kiosk login, the liveness
challenge's one-face check, `whosthat verify`) takes its threshold from `match_threshold` and compares
with `is_match`. Distances are Euclidean between the embedder's unit vectors; smaller is closer.

1:N adds one rule (`open_set_reason`, applied by `Gallery.identify` for the API's identify, the kiosk
login and so attendance): the best person must be within the threshold AND the second-best *person*
must be at least `match_margin` farther away; otherwise nobody is recognised, with the reason
"ambiguous". The margin is the embedder card's `margin` (measured on the tune parts of LFW, NUAA and
CelebA: docs/benchmarks.md#open-set-margin), or WHOSTHAT_MATCH_MARGIN.
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


def match_margin(embedder: HasThreshold, settings: Settings | None = None) -> float:
    """How far (a distance) the second-best person must be behind the best one for a 1:N match.

    WHOSTHAT_MATCH_MARGIN overrides it when set; otherwise the embedder's `margin` attribute or its
    shipped card's "margin". An embedder that declares none gets 0.0: only an exact tie between two
    people is ambiguous then (research exports; set WHOSTHAT_MATCH_MARGIN for them).
    """
    settings = settings or get_settings()
    if settings.match_margin is not None:
        return float(settings.match_margin)
    margin = getattr(embedder, "margin", None)
    if margin is None:
        from whosthat.vision.embedders import read_card

        margin = read_card(getattr(embedder, "name", "")).get("margin")
    return float(margin) if margin is not None else 0.0


def open_set_reason(best: float | None, second: float | None, threshold: float, margin: float) -> str | None:
    """The 1:N rule: None when the best person (distance `best`) is recognised, else why not:
    "not_recognised" (nobody, or the best beyond the threshold) or "ambiguous" (within the threshold but
    the second-best person, at `second`, is less than `margin` farther: the face fits two people, so it
    is given to neither). `second` is None when only one person is enrolled."""
    if best is None or not is_match(best, threshold):
        return "not_recognised"
    if second is not None and float(second) - float(best) < float(margin):
        return "ambiguous"
    return None


# A recognised face is flagged for review ("weak match") when its distance is in the last 10% below
# the threshold, or when the second-best person was less than twice the required margin behind (the
# margin is the 1st percentile of correct matches' gaps; twice it is past their 5th percentile on
# every tune part of the shipped cards: docs/benchmarks.md#open-set-margin).
WEAK_DISTANCE_FRACTION = 0.9
WEAK_MARGIN_FACTOR = 2.0


def is_weak_match(
    distance: float | None, margin: float | None, threshold: float, required_margin: float
) -> bool:
    """A match that held, but only just: worth an administrator's look (it never changes a decision).
    `distance`/`margin` as stored with an attendance event (None: not a face match, or one person)."""
    if distance is None:
        return False
    if float(distance) >= WEAK_DISTANCE_FRACTION * float(threshold):
        return True
    return margin is not None and float(margin) < WEAK_MARGIN_FACTOR * float(required_margin)


def is_match(distance: float, threshold: float) -> bool:
    """Same person when the distance is at most the threshold (inclusive, everywhere)."""
    return float(distance) <= float(threshold)
