"""Kiosk sequences built at test time from real NUAA frames (never written to the repository): a live person
blinking, and three print attacks that the blink / head-turn challenge alone does not stop.

NUAA (Tan, Li, Liu, Jiang, ECCV 2010) has, per subject and session, webcam frames of the live person
(ClientRaw) and of a printed photo of them held in front of the camera (ImposterRaw). How each sequence is
made, honestly:

- live: the listed live frames of one subject and session in picture order, each held `LIVE_HOLD_S`
  (the lists keep every second frame of a webcam recording). Nothing is edited: the blink is the
  subject's own, in the frame the mesh finds with the lowest eye aspect ratio.
- print held still: one real print frame, repeated.
- print tilted to fake a head turn: the same print frame under an animated perspective warp, the photo's
  plane turning up to TILT_DEG about a vertical axis through the face, seen by a pinhole camera close to
  it (focal length TILT_FOCAL_PX): what turning a held print in front of the camera looks like. The face
  mesh reads a yaw of about 30 degrees from it, enough for a head-turn step.
- print slideshow faking a blink: the print frame, then for 0.3 s a real closed-eye frame of the same
  person, then the print again. NUAA has no print of a closed-eyed face, so the closed-eye picture is
  that person's real closed-eye webcam frame (the live blink above), moved onto the print's face by the
  similarity transform that lines up their face-mesh landmarks (eye corners, nose tip, chin): the only
  edit, a rotation, scale and shift of a whole real frame.

The subject is 0009, one of the NUAA CNN's held-out test subjects: live session 01 frames to enrol, live
session 02 frames for the kiosk, a session 01 print for the attacks.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

SUBJECT = "0009"
ENROL_SESSION = "01"
KIOSK_SESSION = "02"
PRINT_SESSION = "01"  # its print frames face the camera (session 02's move the print about)
LIVE_PICTURES = (283, 414)  # picture numbers of the live stretch played (it holds two of their blinks)
LIVE_HOLD_S = 0.2
TILT_DEG = 60.0
TILT_FOCAL_PX = 300.0
ALIGN_LANDMARKS = (33, 133, 362, 263, 1, 152)  # eye corners, nose tip, chin (MediaPipe face mesh)


def frames_of(nuaa: Path, attack: int, session: str, subject: str = SUBJECT):
    """The listed NUAA frames of `subject` in `session` (live 0 or print 1), in picture order."""
    from whosthat.datasets import nuaa as reader

    frames = reader.read_nuaa(nuaa, {subject})
    return sorted((f for f in frames if f.attack == attack and f.session == session), key=lambda f: f.picture)


def enrolment_photos(nuaa: Path, count: int = 2) -> list[Path]:
    """`count` live frames of the subject from the enrolment session, spread over it."""
    live = frames_of(nuaa, 0, ENROL_SESSION)
    step = max(1, len(live) // count)
    return [f.path for f in live[::step][:count]]


def live_frames(nuaa: Path) -> list[np.ndarray]:
    """The live stretch played to the kiosk, RGB frames in picture order."""
    from whosthat.vision.image import decode_image

    lo, hi = LIVE_PICTURES
    return [decode_image(f.path) for f in frames_of(nuaa, 0, KIOSK_SESSION) if lo <= f.picture <= hi]


def closed_eye_frame(frames: list[np.ndarray]) -> np.ndarray:
    """The frame of `frames` whose eyes the face mesh finds most closed; it must really be a blink (eye
    aspect ratio under 0.6 x the median of the stretch)."""
    from whosthat.liveness.mesh import FaceMeshTracker

    with FaceMeshTracker(static_image_mode=True) as tracker:
        ears = [tracker.analyse(f).ear for f in frames]
    k = int(np.argmin(ears))
    assert ears[k] < 0.6 * float(np.median(ears)), "no closed-eye frame in the live stretch"
    return frames[k]


def print_frame(nuaa: Path) -> np.ndarray:
    """The first print frame of the subject's PRINT_SESSION (the photo held facing the camera)."""
    from whosthat.vision.image import decode_image

    return decode_image(frames_of(nuaa, 1, PRINT_SESSION)[0].path)


def hold(frame: np.ndarray, seconds: float, fps: int = 10) -> list[np.ndarray]:
    return [frame] * max(1, round(seconds * fps))


def live_video(nuaa: Path, fps: int = 10) -> list[np.ndarray]:
    return [x for frame in live_frames(nuaa) for x in hold(frame, LIVE_HOLD_S, fps)]


def turned_print(photo: np.ndarray, degrees: float) -> np.ndarray:
    """The print frame with the photo's plane turned by `degrees` about the vertical line through the face."""
    import cv2

    from whosthat.liveness.mesh import FaceMeshTracker

    with FaceMeshTracker(static_image_mode=True) as tracker:
        box = tracker.analyse(photo).box
    h, w = photo.shape[:2]
    cx, cy, f = (box[0] + box[2]) / 2, h / 2, TILT_FOCAL_PX
    a = math.radians(degrees)
    corners = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    moved = []
    for x, y in corners:
        depth = f / (f + (x - cx) * math.sin(a))  # the turned plane's near side looks bigger
        moved.append([cx + (x - cx) * math.cos(a) * depth, cy + (y - cy) * depth])
    m = cv2.getPerspectiveTransform(corners, np.float32(moved))
    return cv2.warpPerspective(photo, m, (w, h), borderValue=(60, 60, 60))


def tilted_print_video(photo: np.ndarray, fps: int = 10) -> list[np.ndarray]:
    """1.5 s facing the camera, 1 s turning to TILT_DEG (the face's own left: a turn_left), 0.6 s held,
    1 s turning back, 0.9 s facing the camera: 5 s, looping."""
    out = []
    for i in range(5 * fps):
        t = i / fps
        if t < 1.5:
            deg = 0.0
        elif t < 2.5:
            deg = TILT_DEG * (t - 1.5)
        elif t < 3.1:
            deg = TILT_DEG
        elif t < 4.1:
            deg = TILT_DEG * (4.1 - t)
        else:
            deg = 0.0
        out.append(turned_print(photo, deg))
    return out


def aligned_onto(frame: np.ndarray, target: np.ndarray) -> np.ndarray:
    """`frame` moved (rotation, scale, shift) so its face lies on `target`'s face (face-mesh landmarks)."""
    import cv2

    from whosthat.liveness.mesh import FaceMeshTracker

    with FaceMeshTracker(static_image_mode=True) as tracker:
        src = tracker.landmarks(frame)[0][list(ALIGN_LANDMARKS), :2]
        dst = tracker.landmarks(target)[0][list(ALIGN_LANDMARKS), :2]
    m, _ = cv2.estimateAffinePartial2D(src, dst)
    h, w = target.shape[:2]
    return cv2.warpAffine(frame, m, (w, h), borderMode=cv2.BORDER_REPLICATE)


def print_blink_video(photo: np.ndarray, closed: np.ndarray, fps: int = 10) -> list[np.ndarray]:
    """The print 2 s, the aligned closed-eye frame 0.3 s, the print 2 s."""
    return hold(photo, 2.0, fps) + hold(aligned_onto(closed, photo), 0.3, fps) + hold(photo, 2.0, fps)


def looping(frames: list[np.ndarray], fps: int = 10):
    """frame_at(t) playing `frames` at `fps`, looping (as Chromium's fake webcam plays a .y4m file)."""

    def frame_at(t: float) -> np.ndarray:
        return frames[int(round(t * fps)) % len(frames)]

    return frame_at
