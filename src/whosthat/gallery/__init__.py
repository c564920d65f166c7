"""Face search: the in-memory index per embedder (top-k people; the 1:N decision with the threshold and
the open-set margin), synchronised with the database through its change counter, and threshold
calibration."""

from whosthat.gallery.index import Gallery, GalleryIndex, Identification, Match
from whosthat.gallery.threshold import (
    is_match,
    is_weak_match,
    match_margin,
    match_threshold,
    open_set_reason,
)

__all__ = [
    "Gallery",
    "GalleryIndex",
    "Identification",
    "Match",
    "is_match",
    "is_weak_match",
    "match_margin",
    "match_threshold",
    "open_set_reason",
]
