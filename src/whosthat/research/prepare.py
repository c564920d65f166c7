"""Prepare LFW once for training: frozen dlib descriptors and aligned crops, cached under $WHOSTHAT_HOME/cache/research.

- `prepare_lfw_features`: every LFW image through the serving pipeline (`vision.cache.embed_files`,
  detector "auto", dlib ResNet, plain and mirrored chip), sharing the on-disk embedding cache with
  `whosthat eval lfw`. Where no face is detected, the median detected box stands in (LFW images
  are aligned crops), exactly as `whosthat eval lfw` does, and the meta records it.
  The .npz holds `data` = mean of plain and mirrored descriptors (what serving computes with flip
  test-time augmentation, the default), plus `plain` and `flipped` for augmentation.
- `prepare_lfw_crops`: `FaceAlignTransform(size, kind)` crops of every LFW image (detector box and
  dlib 5-point landmarks), uint8, stored as JPEG bytes in one .npz (compact enough to carry to a GPU box).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from whosthat.research import lfw
from whosthat.research.data import ArraySource


def research_cache_dir() -> Path:
    from whosthat.config import get_settings

    return get_settings().cache_dir / "research"


def default_features_path() -> Path:
    return research_cache_dir() / "lfw-dlib-resnet-v1.npz"


def default_crops_path(size: int, kind: str) -> Path:
    return research_cache_dir() / f"lfw-crops-{size}-{kind}.npz"


def priority_order(root: Path, cap: int = 10) -> list[list[str]]:
    """LFW images in the order worth embedding, as stages: (1) the 7,701 pair images; (2) images of people
    with >= 2 images that no pair uses, up to `cap` images per person counting their pair images; (3) the
    rest of those people's images; (4) everything else."""
    images = lfw.list_identity_images(root)
    in_pairs = {q for p in lfw.read_pairs(root, "pairs.txt") for q in (p.path_a, p.path_b)}
    first, second, third = [], [], []
    for ps in images.values():
        rest = [p for p in ps if p not in in_pairs]
        if len(ps) >= 2:
            room = max(0, min(cap, len(ps)) - (len(ps) - len(rest)))
            first += rest[:room]
            second += rest[room:]
        else:
            third += rest
    # pair images in reverse path order: `whosthat eval lfw` walks them in path order, so two
    # concurrent jobs meet in the middle instead of embedding the same files twice
    return [sorted(in_pairs, reverse=True), first, second, third]


def embed_lfw_stages(root: Path, detector: str = "auto", stages: tuple[int, ...] = (0, 1, 2, 3), cap: int = 10,
                     out: Path | None = None, progress: bool = True) -> Path:
    """Embed LFW stage by stage through the shared cache (see `priority_order`), rewriting the feature
    matrix after each stage, so training can start on the first stages while the rest runs."""
    from whosthat.vision.cache import embed_files

    root = lfw.lfw_root(root)
    order = priority_order(root, cap)
    path = None
    for k in stages:
        embed_files([root / lfw.IMAGES_DIR / p for p in order[k]], detector=detector, progress=progress)
        path = collect_lfw_features(root, out, detector)
        print(f"whosthat: stage {k + 1}/4 embedded ({len(order[k])} images); features written to {path}", file=sys.stderr)
    return path


def collect_lfw_features(root: Path, out: Path | None = None, detector: str = "auto") -> Path:
    """Write the feature matrix of every LFW image whose descriptors are in the shared embedding cache.

    Images not embedded yet get found=False (left out of training and counted as errors in pairs).
    Where the detector found no face, the entry `whosthat eval lfw` stored for the median-box fallback
    is used when there is one (fallback=True), as that command does.
    """
    from whosthat.vision.cache import EmbeddingCache, file_digest
    from whosthat.vision.pipeline import FacePipeline

    root = lfw.lfw_root(root)
    rel = sorted(p for ps in lfw.list_identity_images(root).values() for p in ps)
    key = FacePipeline(detector=detector, flip=False).key
    cache = EmbeddingCache()
    fallback_keys = [k for (k,) in cache._db.execute(
        "SELECT DISTINCT key FROM embeddings WHERE key LIKE ?", (key + "|fallback=%",)).fetchall()]
    n = len(rel)
    plain = np.zeros((n, 128), np.float32)
    flipped = np.zeros((n, 128), np.float32)
    found = np.zeros(n, bool)
    fallback = np.zeros(n, bool)
    for i, p in enumerate(rel):
        digest = file_digest(root / lfw.IMAGES_DIR / p)
        hit = cache.get(key, digest)
        if hit is not None and not hit[0]:
            for fk in fallback_keys:
                fb = cache.get(fk, digest)
                if fb is not None and fb[0]:
                    hit, fallback[i] = fb, True
                    break
        if hit is not None and hit[0]:
            found[i], plain[i], flipped[i] = True, hit[1], hit[2]
    mean = np.where(found[:, None], (plain + flipped) / 2, 0).astype(np.float32)
    out = Path(out) if out else default_features_path()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp.npz")
    np.savez(tmp, paths=np.array(rel), data=mean, plain=plain, flipped=flipped, found=found, fallback=fallback,
             meta_source=np.array(f"vision.cache.embed_files detector={detector} embedder=dlib-resnet-v1"))
    tmp.replace(out)
    return out


def prepare_lfw_features(root: Path, out: Path | None = None, detector: str = "auto", limit: int | None = None,
                         paths: list[str] | None = None, progress: bool = True, cache=None) -> Path:
    """Embed (through the shared cache) all LFW images, the first `limit` sorted by path, or the given
    relative `paths`, and write the matrix."""
    from whosthat.vision.cache import embed_files

    root = lfw.lfw_root(root)
    rel = sorted(paths) if paths else sorted(p for ps in lfw.list_identity_images(root).values() for p in ps)
    if limit:
        rel = rel[:limit]
    emb = embed_files([root / lfw.IMAGES_DIR / p for p in rel], detector=detector, progress=progress, cache=cache)
    out = Path(out) if out else default_features_path()
    out.parent.mkdir(parents=True, exist_ok=True)
    mean = np.where(emb.found[:, None], (emb.plain + emb.flipped) / 2, 0).astype(np.float32)
    tmp = out.with_suffix(".tmp.npz")
    np.savez(tmp, paths=np.array(rel), data=mean, plain=np.nan_to_num(emb.plain), flipped=np.nan_to_num(emb.flipped),
             found=emb.found, fallback=np.zeros(len(rel), bool),
             meta_source=np.array(f"vision.cache.embed_files detector={detector} embedder=dlib-resnet-v1"))
    tmp.replace(out)
    return out


def load_features(path: Path | None = None) -> tuple[ArraySource, np.ndarray, np.ndarray]:
    """(source with flip-averaged descriptors, plain [N,128], flipped [N,128])."""
    from whosthat.errors import BadInputError

    path = Path(path) if path else default_features_path()
    if not path.is_file():
        raise BadInputError(f"no prepared dlib features at {path}: run `whosthat train prepare --features` first")
    z = np.load(path, allow_pickle=False)
    src = ArraySource([str(p) for p in z["paths"]], z["data"].astype(np.float32), z["found"].astype(bool),
                      {"source": str(z["meta_source"])})
    return src, z["plain"], z["flipped"]


def align_crop(rgb: np.ndarray, size: int, kind: str, detector) -> tuple[np.ndarray, bool]:
    """The dominant face of `rgb` as FaceAlignTransform(size, kind); (crop, found). Without a detection,
    the LFW centre box stands in (found=False)."""
    from whosthat.vision.align import FaceAlignTransform
    from whosthat.vision.detect import Detection
    from whosthat.vision.landmarks import get_landmarker

    dets = detector.detect(rgb)
    found = bool(dets)
    det = dets[0] if dets else None
    if det is None:
        h, w = rgb.shape[:2]
        det = Detection(box=(w * 0.3, h * 0.3, w * 0.7, h * 0.7), score=0.0, source="fallback")
    shape = get_landmarker().shape(rgb, det)
    landmarks = np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float64)
    return FaceAlignTransform(size, kind)(rgb, det.box, landmarks), found


def prepare_lfw_crops(root: Path, size: int = 112, kind: str = "rotation", out: Path | None = None,
                      detector: str = "mediapipe", limit: int | None = None, jpeg_quality: int = 90,
                      progress: bool = True, paths: list[str] | None = None) -> Path:
    """Aligned crops of all LFW images (or the first `limit`, sorted by path) into one .npz."""
    from tqdm import tqdm

    from whosthat.vision.detect import get_detector
    from whosthat.vision.image import decode_image

    root = lfw.lfw_root(root)
    rel = sorted(paths) if paths else sorted(p for ps in lfw.list_identity_images(root).values() for p in ps)
    if limit:
        rel = rel[:limit]
    det = get_detector(detector)
    crops = np.zeros((len(rel), size, size, 3), np.uint8)
    found = np.zeros(len(rel), bool)
    for i, p in enumerate(tqdm(rel, desc=f"aligning LFW ({size}px, {kind})", disable=not progress, file=sys.stderr)):
        crops[i], found[i] = align_crop(decode_image(root / lfw.IMAGES_DIR / p), size, kind, det)
    # LFW images are aligned crops: keep the fallback-box crops too, but record how many there were
    src = ArraySource(rel, crops, np.ones(len(rel), bool),
                      {"meta_detected": np.array(found.sum()), "meta_transform": f"FaceAlignTransform({size}, {kind})"})
    out = Path(out) if out else default_crops_path(size, kind)
    return src.save(out, jpeg_quality=jpeg_quality)
