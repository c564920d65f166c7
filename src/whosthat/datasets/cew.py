"""The CEW eye patches: which file is an open or closed left or right eye, and which files belong together.

Layout (`$WHOSTHAT_DATA/cew_eyes`): four folders `openLeftEyes`, `openRightEyes`, `closedLeftEyes`,
`closedRightEyes` of 24x24 gray JPEGs. Open patches are cut from LFW faces and named
`<LFW name>_<NNNN>_<L|R>.jpg`; closed ones from the Closed Eyes In The Wild faces, named
`closed_eye_<NNNN>.<ext>_face_<k>_<L|R>.jpg`. Stripping the trailing `_L`/`_R` gives the face both eyes
were cut from; every photo of one LFW person, and every face cut from one CEW photo, must stay in one
split (`group_of`).

The one CEW reader: `whosthat train eyes`, `whosthat eval eyes` and the research data module use it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from whosthat.errors import BadInputError

# Folder name -> (closed 0/1, side L/R), in the order files are listed.
FOLDERS = {
    "openLeftEyes": (0, "L"),
    "openRightEyes": (0, "R"),
    "closedLeftEyes": (1, "L"),
    "closedRightEyes": (1, "R"),
}
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp"}


@dataclass(frozen=True)
class EyePatch:
    """One eye image: its file, closed (1) or open (0), side L/R, and the face key pairing both eyes of one
    face (`"<closed>:<file stem without _L/_R>"`)."""

    path: Path
    closed: int
    side: str
    face: str


def read_cew(root: str | Path) -> list[EyePatch]:
    """Every eye image of a CEW-layout folder, folder by folder in `FOLDERS` order, file names sorted.

    A folder may lack some of the four sub-folders (any CEW-layout folder can be evaluated); it must
    hold at least one image. Raises BadInputError when `root` is not a folder or holds none.
    """
    root = Path(root)
    if not root.is_dir():
        raise BadInputError(f"not a folder: {root}")
    items = []
    for name, (closed, side) in FOLDERS.items():
        sub = root / name
        if not sub.is_dir():
            continue
        for f in sorted(sub.iterdir()):
            if f.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            stem = f.stem
            face = stem[:-2] if stem.endswith(("_L", "_R")) else stem
            items.append(EyePatch(f, closed, side, f"{closed}:{face}"))
    if not items:
        raise BadInputError(f"{root} has no CEW-layout images ({', '.join(FOLDERS)})")
    return items


def read_patches(items: list[EyePatch], size: int | None = None) -> tuple[list[EyePatch], list[np.ndarray]]:
    """(the readable items, their gray uint8 images) in the order of `items`; files that do not decode are
    left out. With `size`, images of another size are resized to size x size (area interpolation)."""
    import cv2

    kept, images = [], []
    for item in items:
        img = cv2.imread(str(item.path), cv2.IMREAD_GRAYSCALE)
        if img is None:
            continue
        if size is not None and img.shape != (size, size):
            img = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)
        kept.append(item)
        images.append(img)
    return kept, images


def person_of_face(face_key: str) -> str:
    """The identity behind a face key: the LFW name for open eyes (one person, several photos), else the face."""
    label, face = face_key.split(":", 1)
    if label == "0":
        parts = face.rsplit("_", 1)
        if len(parts) == 2 and parts[1].isdigit():
            return "0:" + parts[0]
    return face_key


def group_of(face_key: str) -> str:
    """The faces that must share a split: one person (open eyes, LFW name) or one CEW photo (closed eyes)."""
    person = person_of_face(face_key)
    if person.startswith("1:") and "_face_" in person:
        return person.split("_face_")[0]
    return person


def split_groups(groups: list[str], seed: int, fractions=(0.7, 0.15, 0.15)) -> np.ndarray:
    """Split index per sample, int64[N] in the order of `groups`: 0 train, 1 validation, 2 test.

    Whole groups only (`group_of` of each patch's face): the sorted groups are shuffled with `seed` and
    cut 70/15/15 (rounded). This is the face split of `whosthat train eyes`; `eval eyes --split` and the
    research data module draw the same one.
    """
    unique = sorted(set(groups))
    rng = random.Random(seed)
    rng.shuffle(unique)
    n = len(unique)
    n_train = int(round(fractions[0] * n))
    n_val = int(round(fractions[1] * n))
    where = {g: (0 if i < n_train else 1 if i < n_train + n_val else 2) for i, g in enumerate(unique)}
    return np.array([where[g] for g in groups], np.int64)
