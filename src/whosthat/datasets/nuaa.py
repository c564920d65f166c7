"""The NUAA Photograph Imposter Database: which webcam frame is live and which shows a printed photo, and whose.

Layout (`$WHOSTHAT_DATA/nuaa`): `ClientRaw/<subject>/*.jpg` (live frames, label 0) and
`ImposterRaw/<subject>/*.jpg` (frames of printed photos, label 1), 640x480 RGB, with the official list
files `client_*raw.txt` / `imposter_*raw.txt` (one `<subject>\\<file>` per line). File names are
`<subject>_<glasses>_<position>_<session>_<picture>.jpg`. Consecutive frames of one subject are nearly
identical, so every split is by subject (`split_subjects`).

The one NUAA reader: `whosthat train pad`, `whosthat eval pad` and the research data module use it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from whosthat.errors import BadInputError

# Folder -> (attack 0/1, prefix of its list files).
FOLDERS = {"ClientRaw": (0, "client_"), "ImposterRaw": (1, "imposter_")}


@dataclass(frozen=True)
class NuaaFrame:
    """One webcam frame and the fields of its file name (`picture` is -1 when the name does not say)."""

    path: Path
    attack: int
    subject: str
    glasses: str
    position: str
    session: str
    picture: int


def parse_name(path: Path, attack: int) -> NuaaFrame:
    """The frame at `path` with the fields of its name `subject_glasses_position_session_picture.jpg`;
    a name of another shape gives its first `_` field as the subject and empty fields otherwise."""
    parts = Path(path).stem.split("_")
    if len(parts) != 5:
        return NuaaFrame(Path(path), attack, parts[0], "", "", "", -1)
    picture = int(parts[4]) if parts[4].isdigit() else -1
    return NuaaFrame(Path(path), attack, parts[0], parts[1], parts[2], parts[3], picture)


def read_nuaa(root: str | Path, subjects: set[str] | None = None) -> list[NuaaFrame]:
    """Every frame of a NUAA-layout folder: the live frames, then the attack frames.

    Within each folder the order is that of its list files (sorted by name, lines in file order, only
    files that exist), or the sorted paths of every jpg below it when there is no list file. A folder
    may lack ClientRaw/ or ImposterRaw/, not both. `subjects` keeps only those subjects' frames.
    Raises BadInputError when no frame is found.
    """
    root = Path(root)
    out = []
    for folder, (attack, prefix) in FOLDERS.items():
        images = root / folder
        if not images.is_dir():
            continue
        lists = sorted(root.glob(f"{prefix}*raw.txt"))
        if lists:
            names = [
                line.strip().replace("\\", "/")
                for listed in lists
                for line in listed.read_text(errors="replace").splitlines()
                if line.strip()
            ]
            paths = [p for p in (images / n for n in names) if p.is_file()]
        else:
            paths = sorted(images.rglob("*.jpg"))
        for path in paths:
            frame = parse_name(path, attack)
            if subjects and frame.subject not in subjects:
                continue
            out.append(frame)
    if not out:
        raise BadInputError(f"{root}: no NUAA-layout images (ClientRaw/, ImposterRaw/)")
    return out


def split_subjects(subjects: list[str], seed: int) -> dict[str, list[str]]:
    """{"train", "validation", "test": sorted subject ids}: the distinct subjects shuffled with `seed`, the
    last 2/9 (at least one) for test, the 2/9 before them for validation, the rest for training. The split
    of `whosthat train pad` (seed 0 on the 9 subjects: test 0007, 0009; validation 0001, 0003)."""
    unique = sorted(set(subjects))
    rng = random.Random(seed)
    rng.shuffle(unique)
    n_val = max(1, round(len(unique) * 2 / 9))
    n_test = max(1, round(len(unique) * 2 / 9))
    return {
        "train": sorted(unique[: len(unique) - n_val - n_test]),
        "validation": sorted(unique[len(unique) - n_val - n_test : len(unique) - n_test]),
        "test": sorted(unique[len(unique) - n_test :]),
    }
