"""CelebA: which photo shows which identity, and CelebA's train / validation / test partition.

Layout (`$WHOSTHAT_DATA/celeba`): `identity_CelebA.txt` (lines `000001.jpg 2880`: file, identity number),
the images in `img_align_celeba/` (CelebA's aligned crops) or `img_celeba/` (the in-the-wild originals,
which the face pipeline detects and aligns), and optionally `list_eval_partition.txt` (lines
`000001.jpg 0|1|2`: train, validation, test). The copy under ../shared/data has `img_celeba/` and the
identity file only.

The one CelebA reader: the research data module uses it.
"""

from __future__ import annotations

from pathlib import Path

from whosthat.errors import BadInputError

IDENTITY_FILE = "identity_CelebA.txt"
PARTITION_FILE = "list_eval_partition.txt"
PARTITION_NAMES = {"0": "train", "1": "val", "2": "test"}


def read_celeba(root: str | Path) -> tuple[dict[str, str], dict[str, str]]:
    """({relative path: identity}, {relative path: "train" | "val" | "test"}), paths relative to `root`
    (`img_align_celeba/000001.jpg`, or `img_celeba/...` when there is no aligned folder), in the order of
    `identity_CelebA.txt`.

    The split is CelebA's partition file when present. Without it, identity number modulo 10 decides
    (0-7 train, 8 val, 9 test): identity-disjoint, which CelebA's own split by image number is not.
    Raises BadInputError when `root` has no identity file.
    """
    root = Path(root)
    ident_file, part_file = root / IDENTITY_FILE, root / PARTITION_FILE
    if not ident_file.is_file():
        raise BadInputError(f"not a CelebA folder (no {IDENTITY_FILE}): {root}")
    folder = "img_align_celeba" if (root / "img_align_celeba").is_dir() else "img_celeba"
    identity = {}
    for line in ident_file.read_text().split("\n"):
        if line.strip():
            name, ident = line.split()
            identity[f"{folder}/{name}"] = ident
    split = {}
    if part_file.is_file():
        for line in part_file.read_text().split("\n"):
            if line.strip():
                name, part = line.split()
                split[f"{folder}/{name}"] = PARTITION_NAMES[part]
    else:
        for path, ident in identity.items():
            last_digit = int(ident) % 10
            split[path] = "test" if last_digit == 9 else "val" if last_digit == 8 else "train"
    return identity, split
