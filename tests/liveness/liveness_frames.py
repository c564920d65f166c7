"""Frame sequences built from real photos, and a driver that feeds them to a ChallengeSession on a clock."""

from __future__ import annotations

import math

import numpy as np

from whosthat.liveness.bench import face_frame


def default_match_threshold() -> float:
    """The match threshold the server would give a challenge (gallery.threshold, default embedder)."""
    from whosthat.gallery.threshold import match_threshold
    from whosthat.vision.pipeline import get_pipeline

    return match_threshold(get_pipeline().embedder)


def astronaut_frame(face_px: int = 220) -> np.ndarray:
    """scikit-image's public-domain astronaut portrait on a 640x480 canvas, face about `face_px` wide."""
    return face_frame(None, face_px=face_px)


def on_canvas(rgb: np.ndarray, face_scale: float = 1.9, width: int = 640, height: int = 480) -> np.ndarray:
    """A 250x250 LFW photo (face about 110 px wide) scaled by `face_scale` and centred on a 640x480 frame."""
    import cv2

    img = cv2.resize(rgb, None, fx=face_scale, fy=face_scale, interpolation=cv2.INTER_LINEAR)
    canvas = np.full((height, width, 3), 90, np.uint8)
    h, w = min(img.shape[0], height), min(img.shape[1], width)
    y0, x0 = (height - h) // 2, (width - w) // 2
    iy, ix = (img.shape[0] - h) // 2, (img.shape[1] - w) // 2
    canvas[y0 : y0 + h, x0 : x0 + w] = img[iy : iy + h, ix : ix + w]
    return canvas


def moved(frame: np.ndarray, t: float) -> np.ndarray:
    """The frame as a hand-held photo: slowly translated (+-40 px), rotated in-plane (+-20 deg), scaled (+-10%)."""
    import cv2

    h, w = frame.shape[:2]
    angle = 20 * math.sin(2 * math.pi * t / 2.5)
    scale = 1 + 0.1 * math.sin(2 * math.pi * t / 3.1)
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
    m[0, 2] += 40 * math.sin(2 * math.pi * t / 2.0)
    m[1, 2] += 20 * math.cos(2 * math.pi * t / 2.7)
    return cv2.warpAffine(frame, m, (w, h), borderMode=cv2.BORDER_CONSTANT, borderValue=(90, 90, 90))


def drive(session, frame_at, fps: float = 10.0, max_s: float | None = None) -> list[dict]:
    """Feed frame_at(t) every 1/fps seconds of session time until the session is done; return all messages."""
    t0 = session.created_at
    limit = max_s if max_s is not None else session.timeout_s + 1.0
    messages: list[dict] = []
    i = 0
    while not session.done:
        t = i / fps
        if t > limit:
            break
        messages += session.process_frame(frame_at(t), now=t0 + t)
        i += 1
    return messages
