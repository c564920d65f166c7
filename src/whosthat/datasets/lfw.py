"""The LFW protocol files, read into plain Python: pairs (View 1 and View 2) and the people folds.

LFW View 2 splits its 5,749 people into ten disjoint folds (`people.txt`); the ten folds of
`pairs.txt` (300 same-person + 300 different-person pairs each) use only the people of the fold with
the same number. So "train on nine folds, test on the tenth" means: train on the images of the people
in `people.txt` folds != k, report accuracy on the pairs of fold k, choose any threshold on the pairs
of the other nine folds.

The one LFW reader of the project: `whosthat eval lfw`, `whosthat calibrate-boxes`, `whosthat bench
identify` and the research block all use it. Nothing here imports torch, so the GPU script can too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from whosthat.errors import BadInputError

IMAGES_DIR = "lfw-deepfunneled"


@dataclass(frozen=True)
class Pair:
    """One verification pair: two image paths relative to the LFW root, same person or not, its fold (0-based)."""

    path_a: str
    path_b: str
    same: bool
    fold: int


def image_relpath(name: str, index: int) -> str:
    """`Name/Name_0001.jpg` relative to the images folder."""
    return f"{name}/{name}_{index:04d}.jpg"


def lfw_root(data: str | Path | None) -> Path:
    """The LFW folder from `data`: the LFW folder itself or a folder holding `lfw/` (callers pass
    `--data` or, by default, the `WHOSTHAT_DATA` setting).

    Raises BadInputError with the reason when `data` is None or holds no LFW images.
    """
    if data is None:
        raise BadInputError("no LFW data: pass --data DIR or set WHOSTHAT_DATA")
    root = Path(data)
    if (root / "lfw" / IMAGES_DIR).is_dir():
        root = root / "lfw"
    if not (root / IMAGES_DIR).is_dir():
        raise BadInputError(
            f"{root} is not an LFW folder: expected {IMAGES_DIR}/NAME/NAME_0001.jpg and pairs.txt there or in {root}/lfw"
        )
    return root


def read_pairs(root: Path, file: str = "pairs.txt") -> list[Pair]:
    """Parse `pairs.txt` (View 2: header `10<TAB>300`) or `pairsDevTrain.txt`/`pairsDevTest.txt` (View 1: header `N`).

    Paths are relative to `root/lfw-deepfunneled`. View 1 files have a single fold 0.
    """
    path = Path(root) / file
    if not path.is_file():
        raise BadInputError(f"LFW pairs file not found: {path}")
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    header = lines[0].split()
    if len(header) == 2:
        n_folds, per_kind = int(header[0]), int(header[1])
    else:
        n_folds, per_kind = 1, int(header[0])
    pairs: list[Pair] = []
    body = lines[1:]
    if len(body) != n_folds * 2 * per_kind:
        raise BadInputError(f"{path}: expected {n_folds * 2 * per_kind} pair lines, found {len(body)}")
    for i, line in enumerate(body):
        fold = i // (2 * per_kind)
        parts = line.split()
        if len(parts) == 3:
            name, a, b = parts
            pairs.append(Pair(image_relpath(name, int(a)), image_relpath(name, int(b)), True, fold))
        elif len(parts) == 4:
            n1, a, n2, b = parts
            pairs.append(Pair(image_relpath(n1, int(a)), image_relpath(n2, int(b)), False, fold))
        else:
            raise BadInputError(f"{path}: line {i + 2} is not a pair: {line!r}")
    return pairs


def read_people_folds(root: Path, file: str = "people.txt") -> list[dict[str, int]]:
    """Parse `people.txt` (View 2: ten folds) or `peopleDevTrain.txt` (View 1: one list) into [{name: n_images}] per fold."""
    path = Path(root) / file
    if not path.is_file():
        raise BadInputError(f"LFW people file not found: {path}")
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    first = lines[0].split()
    folds: list[dict[str, int]] = []
    if len(first) == 1 and len(lines) > 1 and len(lines[1].split()) == 1:
        # View 2: number of folds, then for each fold its size and that many `name count` lines.
        n_folds, i = int(first[0]), 1
        for _ in range(n_folds):
            size = int(lines[i])
            i += 1
            fold = {}
            for line in lines[i : i + size]:
                name, count = line.split()
                fold[name] = int(count)
            folds.append(fold)
            i += size
    else:
        size = int(first[0])
        folds.append({line.split()[0]: int(line.split()[1]) for line in lines[1 : 1 + size]})
    return folds


def list_identity_images(root: Path) -> dict[str, list[str]]:
    """{name: sorted relative image paths} for every person folder under `lfw-deepfunneled`."""
    images = Path(root) / IMAGES_DIR
    out: dict[str, list[str]] = {}
    for person in sorted(p for p in images.iterdir() if p.is_dir()):
        files = sorted(f"{person.name}/{f.name}" for f in person.iterdir() if f.suffix.lower() == ".jpg")
        if files:
            out[person.name] = files
    return out


def fold_of_person(folds: list[dict[str, int]]) -> dict[str, int]:
    """{name: fold index} from `read_people_folds`."""
    return {name: k for k, fold in enumerate(folds) for name in fold}
