"""Download helpers for users who have a network: official addresses and checksums.

Nothing in the package or its tests calls these; whosthat never downloads at run time. Use them once,
by hand, e.g. `python -c "from whosthat.research.download import fetch_lfw; fetch_lfw('data/lfw')"`.
Every file is checked against its MD5 before it is unpacked; a file whose checksum is not published
(`md5=None`) is kept with a warning to check it by hand. Please respect each dataset's terms.
"""

from __future__ import annotations

import hashlib
import sys
import tarfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Remote:
    url: str
    filename: str
    md5: str | None
    note: str = ""


LFW_BASE = "http://vis-www.cs.umass.edu/lfw/"
LFW = {
    "lfw-deepfunneled.tgz": Remote(
        LFW_BASE + "lfw-deepfunneled.tgz", "lfw-deepfunneled.tgz", "68331da3eb755a505a502b5aacb3c201"
    ),
    "pairs.txt": Remote(LFW_BASE + "pairs.txt", "pairs.txt", "9f1ba174e4e1c508ff7cdf10ac338a7d"),
    "people.txt": Remote(LFW_BASE + "people.txt", "people.txt", "450f0863dd89e85e73936a6d71a3474b"),
    "pairsDevTrain.txt": Remote(
        LFW_BASE + "pairsDevTrain.txt", "pairsDevTrain.txt", "4f27cbf15b2da4a85c1907eb4181ad21"
    ),
    "pairsDevTest.txt": Remote(
        LFW_BASE + "pairsDevTest.txt", "pairsDevTest.txt", "5132f7440eb68cf58910c8a45a2ac10b"
    ),
    "peopleDevTrain.txt": Remote(
        LFW_BASE + "peopleDevTrain.txt", "peopleDevTrain.txt", "54eaac34beb6d042ed3a7d883e247a21"
    ),
    "peopleDevTest.txt": Remote(
        LFW_BASE + "peopleDevTest.txt", "peopleDevTest.txt", "e4bf5be0a43b5dcd9dc5ccfcb8fb19c5"
    ),
}

# CelebA is distributed through Google Drive folders linked from its page; the files are large and
# behind a confirmation page, so fetch them with a browser and check them with `verify`.
CELEBA_PAGE = "https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html"
CELEBA = {
    "img_align_celeba.zip": Remote(
        CELEBA_PAGE, "img_align_celeba.zip", "00d2c5bc6d35e252742224ab0c1e8fcb", "Google Drive, folder Img/"
    ),
    "identity_CelebA.txt": Remote(
        CELEBA_PAGE, "identity_CelebA.txt", "32bd1bd63d3c78cd57e08160ec5ed1e2", "Google Drive, folder Anno/"
    ),
    "list_eval_partition.txt": Remote(
        CELEBA_PAGE,
        "list_eval_partition.txt",
        "d32c9cbf5e040fd4025c592c306e6668",
        "Google Drive, folder Eval/",
    ),
}

CEW = Remote(
    "http://parnec.nuaa.edu.cn/_upload/tpl/02/db/731/template731/pages/xtan/ClosedEyeDatabases.html",
    "dataset_B_Eye_Images.rar",
    None,
    "Closed Eyes In The Wild, 24x24 eye patches (dataset B); no published checksum",
)
NUAA = Remote(
    "http://parnec.nuaa.edu.cn/_upload/tpl/02/db/731/template731/pages/xtan/NUAAImposterDB_download.html",
    "NUAA.zip",
    None,
    "NUAA Photograph Imposter Database; sent on request by the authors; no published checksum",
)


def md5sum(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.md5()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def verify(path: Path, remote: Remote) -> bool:
    """True when the file's MD5 matches the published one (False when there is none to compare)."""
    return remote.md5 is not None and md5sum(path) == remote.md5


def fetch(remote: Remote, dest_dir: Path) -> Path:
    """Download one file into dest_dir (kept if already there and valid) and check its MD5."""
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    path = dest_dir / remote.filename
    if path.exists() and verify(path, remote):
        return path
    tmp = path.with_suffix(path.suffix + ".part")
    print(f"downloading {remote.url}", file=sys.stderr)
    urllib.request.urlretrieve(remote.url, tmp)  # noqa: S310 (official http address)
    if remote.md5 is not None and md5sum(tmp) != remote.md5:
        tmp.unlink()
        raise RuntimeError(f"checksum mismatch for {remote.filename}: expected md5 {remote.md5}")
    if remote.md5 is None:
        print(f"warning: no published checksum for {remote.filename}; check it by hand", file=sys.stderr)
    tmp.replace(path)
    return path


def fetch_lfw(dest_dir: str | Path) -> Path:
    """LFW deep-funneled images and the View 1 / View 2 protocol files into dest_dir (the layout WHOSTHAT_DATA/lfw expects)."""
    dest = Path(dest_dir)
    for name, remote in LFW.items():
        path = fetch(remote, dest)
        if name.endswith(".tgz") and not (dest / "lfw-deepfunneled").is_dir():
            with tarfile.open(path) as tar:
                tar.extractall(dest, filter="data")
    return dest
