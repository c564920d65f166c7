"""What a camera frame must be for the liveness challenge: RGB uint8, 32 px to 1280x720 pixels.

The kiosk sends 640x480 JPEG frames; 1280x720 (a 720p webcam's frame) is the largest accepted. The web
route checks the decoded size against MAX_FRAME_PIXELS before a frame reaches the session (so it can
say "frame too large"); the session checks every frame it is given with `usable_frame`.
"""

from __future__ import annotations

import numpy as np

MAX_FRAME_PIXELS = 1280 * 720  # width x height
MIN_FRAME_SIDE_PX = 32  # too small for a face mesh to find anything


def usable_frame(rgb) -> bool:
    """True for an RGB uint8 array [H, W, 3] of at most MAX_FRAME_PIXELS, at least MIN_FRAME_SIDE_PX a side."""
    return (
        isinstance(rgb, np.ndarray)
        and rgb.ndim == 3
        and rgb.shape[2] == 3
        and rgb.dtype == np.uint8
        and rgb.shape[0] * rgb.shape[1] <= MAX_FRAME_PIXELS
        and min(rgb.shape[:2]) >= MIN_FRAME_SIDE_PX
    )
