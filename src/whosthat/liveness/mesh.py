"""Per-frame face geometry for liveness: MediaPipe face mesh -> eye openness, head pose, eye patches.

`FaceMeshTracker` wraps one MediaPipe FaceMesh in video mode (`static_image_mode=False`, iris
refinement on). It keeps tracking state between frames, so each challenge session owns its own
tracker; a lock makes it safe if a route calls it from several threads.

Conventions (image coordinates, pixels, x to the right, y down; frames are the camera's raw,
unmirrored image):
- "left eye" is the eye on the image's left, which is the subject's right eye.
- `yaw_deg` > 0 when the subject turns to *their* left (the nose moves toward the image's right);
  `pitch_deg` > 0 when the subject looks up.

Head pose is measured from ratios of landmark positions along the eye line (nose tip between the two
face sides, nose between the eye line and the chin). Those ratios do not change when a flat photo
is moved, rotated in the image plane or scaled, so waving a printed photo cannot fake a head turn;
only a real 3-D head, whose nose moves relative to its face outline, changes them.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field

import numpy as np

# MediaPipe face-mesh indices (478 points with iris refinement).
# Eye-aspect-ratio points in the order p1 (corner), p2, p3 (upper lid), p4 (corner), p5, p6 (lower lid).
EAR_IMAGE_LEFT = (33, 160, 158, 133, 153, 144)  # subject's right eye
EAR_IMAGE_RIGHT = (362, 385, 387, 263, 373, 380)  # subject's left eye
NOSE_TIP = 1
FACE_SIDE_IMAGE_LEFT = 234
FACE_SIDE_IMAGE_RIGHT = 454
CHIN = 152
FOREHEAD = 10

DOMINANCE_RATIO = 0.6

# Eye patches like CEW's: 24x24 gray, the eye centred, the patch side this many eye widths.
EYE_PATCH_SIZE = 24
EYE_PATCH_SCALE = 1.45

# Neutral (frontal) position of the nose between eye line and chin; about 0.42 on the mesh's
# canonical face. Pitch is reported for guidance only, not used to decide a step.
_NEUTRAL_NOSE_DROP = 0.42


@dataclass
class FrameAnalysis:
    """What the mesh says about the dominant face in one frame."""

    landmarks: np.ndarray  # float32[478, 3], x/y in pixels, z in MediaPipe units (x-scaled)
    box: tuple[float, float, float, float]  # (left, top, right, bottom) of the landmarks, pixels
    n_faces: int
    ear_left: float  # eye aspect ratio, image-left eye
    ear_right: float
    yaw_deg: float
    pitch_deg: float
    roll_deg: float
    eye_patches: np.ndarray = field(repr=False)  # uint8[2, 24, 24] gray: image-left eye, image-right eye
    inter_ocular_px: float = 0.0

    @property
    def ear(self) -> float:
        return 0.5 * (self.ear_left + self.ear_right)

    @property
    def face_width(self) -> float:
        return self.box[2] - self.box[0]


def eye_aspect_ratio(points: np.ndarray, idx: tuple[int, ...]) -> float:
    """(|p2-p6| + |p3-p5|) / (2 |p1-p4|) on 2-D landmark pixels; about 0.25-0.35 open, < 0.15 closed."""
    p = points[list(idx), :2]
    vertical = np.linalg.norm(p[1] - p[5]) + np.linalg.norm(p[2] - p[4])
    horizontal = 2.0 * np.linalg.norm(p[0] - p[3])
    return float(vertical / horizontal) if horizontal > 1e-6 else 0.0


def head_pose(points: np.ndarray) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in approximate degrees from 2-D landmark ratios (see the module docstring)."""
    p = points[:, :2].astype(np.float64)
    eye_l = p[list(EAR_IMAGE_LEFT)].mean(axis=0)
    eye_r = p[list(EAR_IMAGE_RIGHT)].mean(axis=0)
    u = eye_r - eye_l
    norm = np.linalg.norm(u)
    if norm < 1e-6:
        return 0.0, 0.0, 0.0
    u /= norm
    v = np.array([-u[1], u[0]])  # points down the face
    roll = math.degrees(math.atan2(u[1], u[0]))
    nose = p[NOSE_TIP]
    a = float((nose - p[FACE_SIDE_IMAGE_LEFT]) @ u)
    b = float((p[FACE_SIDE_IMAGE_RIGHT] - nose) @ u)
    ratio = (a - b) / (a + b) if (a + b) > 1e-6 else 0.0
    # The nose tip stands about 1.3 half-face-widths in front of the side landmarks (234/454, near
    # the ears), so the projected asymmetry is ratio ~ 1.3 tan(yaw).
    yaw = math.degrees(math.atan(ratio / 1.3))
    eyes_mid = 0.5 * (eye_l + eye_r)
    drop = float((nose - eyes_mid) @ v)
    chin = float((p[CHIN] - eyes_mid) @ v)
    if chin > 1e-6:
        rel = drop / chin - _NEUTRAL_NOSE_DROP
        pitch = -math.degrees(math.asin(max(-1.0, min(1.0, rel / 0.5))))
    else:
        pitch = 0.0
    return yaw, pitch, roll


def eye_patch(
    gray: np.ndarray,
    points: np.ndarray,
    idx: tuple[int, ...],
    size: int = EYE_PATCH_SIZE,
    scale: float = EYE_PATCH_SCALE,
) -> np.ndarray:
    """A `size` x `size` gray patch centred on the eye, the eye line horizontal, side = scale x eye width."""
    import cv2

    p = points[list(idx), :2].astype(np.float64)
    c0, c1 = p[0], p[3]
    if c0[0] > c1[0]:
        c0, c1 = c1, c0
    centre = p.mean(axis=0)
    width = float(np.linalg.norm(c1 - c0))
    side = max(width * scale, 4.0)
    angle = math.degrees(math.atan2(c1[1] - c0[1], c1[0] - c0[0]))
    zoom = size / side
    m = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), angle, zoom)
    m[0, 2] += size / 2.0 - centre[0]
    m[1, 2] += size / 2.0 - centre[1]
    return cv2.warpAffine(
        gray,
        m,
        (size, size),
        flags=cv2.INTER_AREA if zoom < 1 else cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )


def analyse_landmarks(
    rgb: np.ndarray, points: np.ndarray, n_faces: int = 1, gray: np.ndarray | None = None
) -> FrameAnalysis:
    """Everything liveness needs from one face's mesh landmarks (pixels) on its frame."""
    import cv2

    if gray is None:
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    xy = points[:, :2]
    box = (float(xy[:, 0].min()), float(xy[:, 1].min()), float(xy[:, 0].max()), float(xy[:, 1].max()))
    yaw, pitch, roll = head_pose(points)
    patches = np.stack([eye_patch(gray, points, EAR_IMAGE_LEFT), eye_patch(gray, points, EAR_IMAGE_RIGHT)])
    iod = float(
        np.linalg.norm(points[list(EAR_IMAGE_LEFT), :2].mean(0) - points[list(EAR_IMAGE_RIGHT), :2].mean(0))
    )
    return FrameAnalysis(
        landmarks=points.astype(np.float32),
        box=box,
        n_faces=n_faces,
        ear_left=eye_aspect_ratio(points, EAR_IMAGE_LEFT),
        ear_right=eye_aspect_ratio(points, EAR_IMAGE_RIGHT),
        yaw_deg=yaw,
        pitch_deg=pitch,
        roll_deg=roll,
        eye_patches=patches,
        inter_ocular_px=iod,
    )


class FaceMeshTracker:
    """One MediaPipe face mesh in video mode. `analyse(rgb)` -> FrameAnalysis of the largest face, or None."""

    def __init__(self, *, static_image_mode: bool = False, max_num_faces: int = 2):
        import mediapipe as mp

        self._mesh = mp.solutions.face_mesh.FaceMesh(
            static_image_mode=static_image_mode,
            refine_landmarks=True,
            max_num_faces=max_num_faces,
            min_detection_confidence=0.5,
            min_tracking_confidence=0.5,
        )
        self._lock = threading.Lock()

    def landmarks(self, rgb: np.ndarray) -> list[np.ndarray]:
        """All faces' landmarks as float32[478, 3] (pixels), largest face first."""
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError("expected an RGB uint8 image of shape (H, W, 3)")
        h, w = rgb.shape[:2]
        with self._lock:
            result = self._mesh.process(np.ascontiguousarray(rgb))
        faces = []
        for face in result.multi_face_landmarks or []:
            pts = np.array([(p.x * w, p.y * h, p.z * w) for p in face.landmark], dtype=np.float32)
            faces.append(pts)
        faces.sort(key=lambda f: -float(np.ptp(f[:, 0]) * np.ptp(f[:, 1])))
        return faces

    def analyse(self, rgb: np.ndarray) -> FrameAnalysis | None:
        faces = self.landmarks(rgb)
        if not faces:
            return None
        # Like the recognition pipeline's dominance rule: a face less than 0.6 x as wide as the largest is
        # someone far behind, not a second person at the kiosk.
        widths = [float(np.ptp(f[:, 0])) for f in faces]
        n_close = sum(1 for w in widths if w >= DOMINANCE_RATIO * widths[0])
        return analyse_landmarks(rgb, faces[0], n_faces=n_close)

    def close(self) -> None:
        with self._lock:
            self._mesh.close()

    def __enter__(self) -> FaceMeshTracker:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
