"""Face search: the in-memory index per embedder (top-k, unknown above the threshold), synchronised
with the database through its change counter, and threshold calibration."""

from whosthat.gallery.index import Gallery, GalleryIndex, Match
from whosthat.gallery.threshold import is_match, match_threshold

__all__ = ["Gallery", "GalleryIndex", "Match", "is_match", "match_threshold"]
