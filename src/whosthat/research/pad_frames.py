"""The faces of NUAA frames as each print-attack detector sees them, and the face-mesh box maps fitted on them.

For every frame: the face mesh's landmark box (what the challenge has on every frame; static-image mode,
the largest face), the box of the RetinaFace detector MiniFASNet was trained with (when its files are
given; `vision.retinaface`), and the box of the MediaPipe detector the NUAA CNN was trained with
(`vision.detect`, mapped onto dlib's convention as `whosthat train pad` used it). Boxes are (left, top,
right, bottom) pixels or None where that detector found no face. They are cached under
`$WHOSTHAT_HOME/cache/` by file path, size and modification time, so `eval pad`, `calibrate-boxes --mesh`
and the MiniFASNet export do not run three detectors on the same frames three times.

`fit_mesh_box_maps` fits, on the frames of the given (training-side) subjects, the map from the mesh box
onto each detector's convention (`vision.box_calibration.fit_box_map`); `liveness.pad` applies it.
Nothing here imports torch.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from whosthat.datasets.nuaa import NuaaFrame
from whosthat.errors import BadInputError

Box = tuple[float, float, float, float]
# Bump when what is computed per frame changes (the cache keeps old entries under their own version).
CACHE_VERSION = "1"
CONVENTIONS = ("retinaface-caffe", "mediapipe")


@dataclass(frozen=True)
class FrameFaces:
    """One frame's face boxes: the face mesh's and each detector's (None where it found no face)."""

    frame: NuaaFrame
    mesh: Box | None
    retinaface: Box | None
    mediapipe: Box | None

    def box(self, convention: str) -> Box | None:
        return {"retinaface-caffe": self.retinaface, "mediapipe": self.mediapipe, "mesh": self.mesh}[
            convention
        ]


def _cache_file() -> Path:
    from whosthat.config import get_settings

    return get_settings().cache_dir / "nuaa_face_boxes.json"


def _key(path: Path, with_retinaface: bool) -> str:
    stat = path.stat()
    return f"{CACHE_VERSION}|{int(with_retinaface)}|{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"


def face_boxes(
    frames: list[NuaaFrame], retinaface_dir: Path | None = None, progress: bool = True
) -> list[FrameFaces]:
    """The boxes of every frame in `frames` (same order); RetinaFace's only with `retinaface_dir`."""
    from whosthat.liveness.mesh import FaceMeshTracker
    from whosthat.vision.detect import get_detector
    from whosthat.vision.image import decode_image
    from whosthat.vision.retinaface import RetinaFaceReference

    cache_path = _cache_file()
    try:
        cache = json.loads(cache_path.read_text())
    except (OSError, ValueError):
        cache = {}
    with_ref = retinaface_dir is not None
    reference = RetinaFaceReference(retinaface_dir) if with_ref else None
    detector = None
    tracker = None
    out, computed = [], 0
    try:
        for i, frame in enumerate(frames):
            key = _key(frame.path, with_ref)
            # Boxes computed with the reference detector serve a run without it too.
            row = cache.get(key) or (None if with_ref else cache.get(_key(frame.path, True)))
            if row is None:
                if tracker is None:
                    tracker = FaceMeshTracker(static_image_mode=True)
                    detector = get_detector("mediapipe")
                rgb = decode_image(frame.path)
                analysis = tracker.analyse(rgb)
                found = detector.detect(rgb)
                ref_box = reference.box(rgb) if reference is not None else None
                row = {
                    "mesh": list(analysis.box) if analysis is not None else None,
                    "retinaface": list(ref_box) if ref_box is not None else None,
                    "mediapipe": list(found[0].box) if found else None,
                }
                cache[key] = row
                computed += 1
                if progress and computed % 200 == 0:
                    print(f"face boxes: {i + 1}/{len(frames)}", file=sys.stderr, flush=True)
            out.append(
                FrameFaces(
                    frame,
                    *(
                        tuple(row[k]) if row[k] is not None else None
                        for k in ("mesh", "retinaface", "mediapipe")
                    ),
                )
            )
    finally:
        if tracker is not None:
            tracker.close()
    if computed:
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(cache))
        tmp.replace(cache_path)
    return out


def fit_mesh_box_maps(faces: list[FrameFaces], subjects: list[str], command: str = "") -> dict:
    """{"maps": {convention: {"dx", "dy", "scale_w", "scale_h", "frames"}}, "fitted_on", "command", ...}:
    the face-mesh box -> detector box map of each convention, fitted on the frames of `subjects` where the
    mesh and that detector both found the face. BadInputError when a convention has under 50 such frames."""
    from whosthat.vision.box_calibration import MIN_IMAGES, fit_box_map

    chosen = [f for f in faces if f.frame.subject in set(subjects) and f.mesh is not None]
    maps = {}
    for convention in CONVENTIONS:
        pairs = [(f.mesh, f.box(convention)) for f in chosen if f.box(convention) is not None]
        if len(pairs) < MIN_IMAGES:
            raise BadInputError(
                f"only {len(pairs)} frames of subjects {', '.join(subjects)} have a face for both the mesh "
                f"and the {convention} detector; need {MIN_IMAGES}"
            )
        maps[convention] = fit_box_map([m for m, _ in pairs], [t for _, t in pairs]) | {"frames": len(pairs)}
    return {
        "maps": maps,
        "source": "MediaPipe face mesh (refine_landmarks) landmark box, static-image mode",
        "fitted_on": f"NUAA frames (live and printed) of subjects {', '.join(sorted(subjects))}",
        "command": command,
        "statistic": "median of per-frame ratios, relative to the mesh box size (vision.box_calibration)",
    }


def calibrate_mesh_boxes(data: Path, retinaface_dir: Path, command: str = "") -> dict:
    """Fit the face-mesh box maps on the NUAA CNN's training subjects of `data` (the shipped model's split)
    and write them to `liveness.pad.MESH_BOX_MAPS`; return what was written."""
    from whosthat.datasets import nuaa
    from whosthat.liveness.pad import DEFAULT_PAD_MODEL, MESH_BOX_MAPS
    from whosthat.research.pad_evaluation import nuaa_model_split

    frames = nuaa.read_nuaa(data)
    split, _sessions = nuaa_model_split(DEFAULT_PAD_MODEL, [f.subject for f in frames])
    maps = fit_mesh_box_maps(face_boxes(frames, retinaface_dir), split["train"], command)
    MESH_BOX_MAPS.write_text(json.dumps(maps, indent=2) + "\n")
    return maps
