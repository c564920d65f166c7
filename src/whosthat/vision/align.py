"""Face alignment.

Two ways to turn a detected face into a fixed-size input:
- `dlib_chip`: the dlib ResNet embedder's own 150x150 chip (`dlib.get_face_chip` from 5-point
  landmarks, similarity transform, padding 0.25). This is what serving uses.
- `FaceAlignTransform(shape, kind)`: the seed's research transforms. ROTATION expands the detector's
  box by 1/3, fits it into a black `shape x shape` square (aspect ratio kept) and rotates about the
  face centre so the eye line is horizontal; SIMPLE does the crop and fit only.
"""

from __future__ import annotations

import enum

import cv2
import numpy as np

from whosthat.vision.landmarks import eye_centers

CHIP_SIZE = 150
CHIP_PADDING = 0.25


class AlignKind(enum.StrEnum):
    ROTATION = "rotation"
    SIMPLE = "simple"


def dlib_chip(rgb: np.ndarray, shape, size: int = CHIP_SIZE, padding: float = CHIP_PADDING) -> np.ndarray:
    """The dlib embedder's aligned chip (uint8[size, size, 3]) from a dlib full_object_detection."""
    import dlib

    return np.asarray(dlib.get_face_chip(rgb, shape, size=size, padding=padding), dtype=np.uint8)


def eye_angle_deg(landmarks5: np.ndarray) -> float:
    """Angle of the eye line from the image-left eye to the image-right eye, degrees (0 = horizontal)."""
    image_left, image_right = eye_centers(landmarks5)
    dx, dy = image_right - image_left
    return float(np.degrees(np.arctan2(dy, dx)))


class FaceAlignTransform:
    """Callable: `FaceAlignTransform(160, AlignKind.ROTATION)(rgb, box, landmarks5) -> uint8[160, 160, 3]`.

    box: (left, top, right, bottom) in pixels. landmarks5: dlib 5-point landmarks (float[5, 2]) or
    None; ROTATION needs them (without them it falls back to SIMPLE).
    """

    def __init__(self, shape: int, kind: AlignKind | str = AlignKind.ROTATION):
        self.shape = int(shape)
        self.kind = AlignKind(kind)

    def __repr__(self) -> str:
        return f"FaceAlignTransform(shape={self.shape}, kind={self.kind.value})"

    def __call__(self, rgb: np.ndarray, box, landmarks5: np.ndarray | None = None) -> np.ndarray:
        left, top, right, bottom = (float(v) for v in box)
        w, h = right - left, bottom - top
        # Expand the box by 1/3 (1/6 on each side): forehead, chin and ears carry identity too.
        left, right = left - w / 6, right + w / 6
        top, bottom = top - h / 6, bottom + h / 6
        w, h = right - left, bottom - top
        cx, cy = (left + right) / 2, (top + bottom) / 2
        scale = self.shape / max(w, h)  # fit the longer side; the other is padded with black
        angle = 0.0
        if self.kind is AlignKind.ROTATION and landmarks5 is not None:
            angle = eye_angle_deg(landmarks5)
            # Rotate about the eyes' midpoint so the eye line becomes horizontal in the output.
            eye_a, eye_b = eye_centers(landmarks5)
            mx, my = (eye_a + eye_b) / 2
            rot = cv2.getRotationMatrix2D((float(mx), float(my)), angle, 1.0)
            cx, cy = rot @ np.array([cx, cy, 1.0])  # the box centre moves with the rotation
            matrix = np.vstack([rot, [0, 0, 1]])
        else:
            matrix = np.eye(3)
        # Then translate the (rotated) box centre to the output centre and scale.
        to_out = np.array(
            [[scale, 0, self.shape / 2 - scale * cx], [0, scale, self.shape / 2 - scale * cy], [0, 0, 1]]
        )
        full = (to_out @ matrix)[:2]
        out = cv2.warpAffine(
            rgb,
            full,
            (self.shape, self.shape),
            flags=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=(0, 0, 0),
        )
        if self.kind is AlignKind.SIMPLE or landmarks5 is None:
            return out
        # Black outside the (rotated) expanded box, as in the seed: only the face region is kept.
        mask = np.zeros((self.shape, self.shape), np.uint8)
        half_w, half_h = scale * w / 2, scale * h / 2
        c = self.shape / 2
        cv2.rectangle(
            mask,
            (int(round(c - half_w)), int(round(c - half_h))),
            (int(round(c + half_w)) - 1, int(round(c + half_h)) - 1),
            255,
            -1,
        )
        out[mask == 0] = 0
        return out


def jitter_chips(chip: np.ndarray, count: int, seed: int = 0) -> np.ndarray:
    """`count` randomly perturbed copies of a 150x150 dlib chip, as dlib's `jitter_image` makes them
    (`compute_face_descriptor(..., num_jitters)`): the chip shrunk by 3 px a side, scaled by 1/0.97-1,
    shifted by up to 2% of its size, rotated by up to 3 degrees, mirrored half of the time. Seeded, so
    the same chip always gives the same copies. -> uint8[count, H, W, 3]"""
    rng = np.random.default_rng(seed)
    h, w = chip.shape[:2]
    side = h - 6.0
    centre = np.array([(w - 1) / 2, (h - 1) / 2])
    out = np.empty((count, h, w, 3), np.uint8)
    for i in range(count):
        shift = rng.uniform(-0.02, 0.02, size=2) * side
        box = side / rng.uniform(0.97, 0.99999)
        angle = np.radians(rng.uniform(-3.0, 3.0))
        scale = box / w
        rot = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        # output pixel p -> input pixel: centre + shift + rot @ (p - centre)
        matrix = np.hstack([rot, (centre + shift - rot @ centre)[:, None]])
        copy = cv2.warpAffine(
            chip,
            matrix,
            (w, h),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_CONSTANT,
        )
        out[i] = copy[:, ::-1] if rng.random() > 0.5 else copy
    return out
