"""Per-frame liveness cost at 640x480: face mesh (video mode) + EAR + head pose + eye patches + eye-state
model, and the print-attack detector on the frames the challenge scores.

The frame is a real face (scikit-image's public-domain astronaut portrait, or `--image`) on a 640x480
canvas, shifted by a few pixels each frame so the tracker works as on a live stream. The stream is taken
to run at the kiosk's 10 frames a second, and the print-attack detector (the configured one) scores a frame
whenever the challenge would (`ChallengeConfig.pad_every_s`), on that frame's face-mesh box: so the
median is a frame without it, the mean and p90 carry its share, and `stages_median_ms["pad"]` is its own
cost on the frames it ran on. Embedding runs only on key frames (about once every 1.5 s) and is not part
of these numbers.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np


def face_frame(
    rgb: np.ndarray | None = None, width: int = 640, height: int = 480, face_px: int = 220
) -> np.ndarray:
    """A width x height frame with the face photo scaled so the face is about `face_px` wide."""
    import cv2

    if rgb is None:
        from skimage import data

        rgb = data.astronaut()[20:260, 110:300]  # the head and shoulders of the portrait
        scale = face_px / 110.0  # the astronaut's face is about 110 px wide in this crop
    else:
        scale = min(width / rgb.shape[1], height / rgb.shape[0]) * 0.9
    img = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    img = img[:height, :width]
    canvas = np.full((height, width, 3), 90, np.uint8)
    y0 = (height - img.shape[0]) // 2
    x0 = (width - img.shape[1]) // 2
    canvas[y0 : y0 + img.shape[0], x0 : x0 + img.shape[1]] = img
    return canvas


def bench_liveness(frames: int = 200, image: Path | None = None, pad: bool = True) -> dict:
    import cv2

    from whosthat.liveness.blink import ear_closed_prob, fuse_closed_prob
    from whosthat.liveness.challenge import ChallengeConfig
    from whosthat.liveness.eyes import get_eye_classifier
    from whosthat.liveness.mesh import FaceMeshTracker, analyse_landmarks
    from whosthat.liveness.pad_fusion import FusedPadScore
    from whosthat.vision.image import decode_image

    base = face_frame(decode_image(image) if image else None)
    eyes = get_eye_classifier()
    cfg = ChallengeConfig()
    fused = FusedPadScore("warn" if pad else "off", min_samples=cfg.pad_min_samples, every_s=cfg.pad_every_s)
    tracker = FaceMeshTracker()
    totals, mesh_t, rest_t, eye_t, pad_t, cpu, pad_cpu = [], [], [], [], [], [], []
    rng = np.random.default_rng(0)
    missed = 0
    for i in range(frames + 10):
        dx, dy = rng.integers(-3, 4, size=2)
        frame = np.roll(base, (int(dy), int(dx)), axis=(0, 1))
        t0 = time.perf_counter()
        c0 = time.process_time()  # CPU seconds of all threads: less sensitive to other jobs on the machine
        faces = tracker.landmarks(frame)
        t1 = time.perf_counter()
        if not faces:
            missed += 1
            continue
        analysis = analyse_landmarks(
            frame, faces[0], n_faces=len(faces), gray=cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        )
        t2 = time.perf_counter()
        p_model = float(eyes.closed_prob(analysis.eye_patches).mean())
        fuse_closed_prob(ear_closed_prob(analysis.ear, 0.3), p_model)
        t3 = time.perf_counter()
        c3 = time.process_time()
        scored = fused.due(i * cfg.frame_interval_ms / 1000.0)
        if scored:
            fused.add(frame, analysis.box, i * cfg.frame_interval_ms / 1000.0)
        t4 = time.perf_counter()
        c4 = time.process_time()
        if i >= 10:  # warm-up frames excluded
            totals.append(t4 - t0)
            cpu.append(c4 - c0)
            mesh_t.append(t1 - t0)
            rest_t.append(t2 - t1)
            eye_t.append(t3 - t2)
            if scored:
                pad_t.append(t4 - t3)
                pad_cpu.append(c4 - c3)
    tracker.close()
    ms = np.array(totals) * 1000
    return {
        "frames": len(totals),
        "width": base.shape[1],
        "height": base.shape[0],
        "missed": missed,
        "median_ms": float(np.median(ms)),
        "p90_ms": float(np.percentile(ms, 90)),
        "mean_ms": float(ms.mean()),
        "cpu_median_ms": float(np.median(cpu) * 1000),
        # CPU time is what other jobs on a busy machine inflate least; the mean carries the detector's share.
        "cpu_mean_ms": float(np.mean(cpu) * 1000),
        "pad_cpu_median_ms": float(np.median(pad_cpu) * 1000) if pad_cpu else None,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "cpu_count": os.cpu_count(),
        "stages_median_ms": {
            "mesh": float(np.median(mesh_t) * 1000),
            "pose_ear_patches": float(np.median(rest_t) * 1000),
            "eye_state": float(np.median(eye_t) * 1000),
            "pad": float(np.median(pad_t) * 1000) if pad_t else None,
        },
        "eye_model": str(eyes.path),
        "pad_model": str(fused.detector.path) if fused.detector is not None else None,
        "pad_frames": len(pad_t),
        "pad_every_s": cfg.pad_every_s if pad else None,
    }
