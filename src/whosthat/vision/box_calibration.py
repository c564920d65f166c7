"""`whosthat calibrate-boxes`: fit the mapping from MediaPipe's face box onto the box dlib's landmarks expect.

dlib's 5-point landmark model was trained on boxes of dlib's HOG detector; MediaPipe's boxes sit
elsewhere on the face and have another size. On LFW images that no pairs.txt pair uses (so the fit
never sees an evaluation image), both detectors run; where each finds exactly one face, the HOG box is
written relative to the MediaPipe box: centre shift (dx, dy) and size ratios (scale_w, scale_h), all in
units of the MediaPipe box's size (the square root of its area). The median of each ratio is the
mapping `vision.detect.calibrated_box` applies; it is written to `vision.detect.CALIBRATION_FILE`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from whosthat.datasets import lfw
from whosthat.errors import BadInputError

# Fewer images with one face for both detectors than this, and the medians are not trusted.
MIN_IMAGES = 50


def calibrate_boxes(data: Path, images: int = 600, seed: int = 0, command: str = "") -> dict:
    """Fit the mapping on `images` LFW images (drawn with `seed` from those no pairs.txt pair uses) of
    the LFW folder `data`, write it to CALIBRATION_FILE and return it: {"dx", "dy", "scale_w", "scale_h",
    "fitted_on", "command", "statistic"}. Raises BadInputError when fewer than MIN_IMAGES images have
    one face for both detectors."""
    from tqdm import tqdm

    from whosthat.vision.detect import CALIBRATION_FILE, HogDetector, MediaPipeDetector
    from whosthat.vision.image import decode_image

    lfw_dir = lfw.lfw_root(data)
    root = lfw_dir / lfw.IMAGES_DIR
    used = {root / x for p in lfw.read_pairs(lfw_dir, "pairs.txt") for x in (p.path_a, p.path_b)}
    pool = sorted(set(root.glob("*/*.jpg")) - used)
    rng = np.random.default_rng(seed)
    chosen = [pool[i] for i in rng.choice(len(pool), size=min(images, len(pool)), replace=False)]
    mp_det, hog = MediaPipeDetector(), HogDetector(upsample=1)
    mp_det._calibration = None  # fit on raw boxes
    pairs = []
    for path in tqdm(chosen, desc="detecting", file=sys.stderr):
        rgb = decode_image(path)
        a, b = mp_det.detect(rgb), hog.detect(rgb)
        if len(a) == 1 and len(b) == 1:
            pairs.append((a[0].box, b[0].box))
    if len(pairs) < MIN_IMAGES:
        raise BadInputError(f"only {len(pairs)} images had one face for both detectors; need {MIN_IMAGES}")
    calib = fit_box_map([s for s, _ in pairs], [t for _, t in pairs]) | {
        "fitted_on": f"{len(pairs)} LFW deep-funneled images not used by pairs.txt (seed {seed})",
        "command": command,
        "statistic": "median of per-image ratios, relative to the MediaPipe box size",
    }
    CALIBRATION_FILE.write_text(json.dumps(calib, indent=2) + "\n")
    return calib


def box_ratios(source, target) -> list[float]:
    """`target` (left, top, right, bottom) relative to `source`: centre shift (dx, dy) and sizes
    (scale_w, scale_h), in units of the source box's size (the square root of its area)."""
    (l0, t0, r0, b0), (l1, t1, r1, b1) = source, target
    s = float(np.sqrt(max(r0 - l0, 1e-6) * max(b0 - t0, 1e-6)))
    return [((l1 + r1) - (l0 + r0)) / 2 / s, ((t1 + b1) - (t0 + b0)) / 2 / s, (r1 - l1) / s, (b1 - t1) / s]


def fit_box_map(sources: list, targets: list) -> dict:
    """The mapping `vision.detect.calibrated_box` applies, fitted on pairs of boxes of the same faces:
    {"dx", "dy", "scale_w", "scale_h"}, the median of each of `box_ratios` over the pairs."""
    r = np.median(np.array([box_ratios(s, t) for s, t in zip(sources, targets, strict=True)]), axis=0)
    return {"dx": float(r[0]), "dy": float(r[1]), "scale_w": float(r[2]), "scale_h": float(r[3])}
