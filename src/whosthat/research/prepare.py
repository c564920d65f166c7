"""Prepare LFW once for training: frozen dlib descriptors and aligned crops, cached under $WHOSTHAT_HOME/cache/research.

- `embed_lfw_stages` / `collect_lfw_features`: every LFW image through the face pipeline (detector
  `RESEARCH_DETECTOR`, dlib 5-point, dlib chip, dlib ResNet), through the on-disk embedding cache shared with
  `whosthat eval lfw`, most useful images first. The .npz holds `data` = `plain` = the plain chip's
  descriptor (what serving computes; flip test-time augmentation is off by default) and `flipped`
  (the mirrored chip's, where known) for augmentation. `prepare_lfw_features` does the same for a
  list of files with `vision.cache.embed_files` (tests).
- `prepare_lfw_crops`: `FaceAlignTransform(size, kind)` crops of every LFW image (detector box and
  dlib 5-point landmarks), uint8, stored as JPEG bytes in one .npz (compact enough to carry to a GPU box).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from whosthat.datasets import lfw
from whosthat.research.data import ArraySource

# The detector the research results in docs/research.md were computed with (MediaPipe's mapped boxes,
# what serving used then); serving has since moved to "auto" (HOG-refined boxes). Pinned so that the
# documented research numbers reproduce; moving research to "auto" means recomputing them.
RESEARCH_DETECTOR = "auto-unrefined"


def research_cache_dir() -> Path:
    from whosthat.config import get_settings

    return get_settings().cache_dir / "research"


def default_features_path() -> Path:
    return research_cache_dir() / "lfw-dlib-resnet-v1.npz"


def default_crops_path(size: int, kind: str) -> Path:
    return research_cache_dir() / f"lfw-crops-{size}-{kind}.npz"


PLAIN_ONLY = "|plain-only"


def priority_order(root: Path, test_fold: int = 9, cap: int = 10) -> list[list[str]]:
    """LFW images in the order worth embedding on a slow machine, as stages: (1) the pair images of
    `test_fold`; (2) those of the fold before it (training images and threshold pairs); (3) other images
    of the training people with >= 2 images, up to `cap` per person counting their pair images; (4..)
    the other folds' pair images, fold by fold downwards; then the rest of the training people's
    images; then everything else."""
    images = lfw.list_identity_images(root)
    pairs = lfw.read_pairs(root, "pairs.txt")
    fold_of = lfw.fold_of_person(lfw.read_people_folds(root, "people.txt"))
    in_pairs = {q for p in pairs for q in (p.path_a, p.path_b)}

    def fold_images(k: int) -> list[str]:
        return sorted({q for p in pairs if p.fold == k for q in (p.path_a, p.path_b)})

    extras, rest_multi, rest = [], [], []
    for name, ps in images.items():
        others = [p for p in ps if p not in in_pairs]
        if len(ps) >= 2 and fold_of.get(name) != test_fold:
            room = max(0, min(cap, len(ps)) - (len(ps) - len(others)))
            extras += others[:room]
            rest_multi += others[room:]
        else:
            rest += others
    before = (test_fold - 1) % 10
    later = [k for k in range(9, -1, -1) if k not in (test_fold, before)]
    return (
        [fold_images(test_fold), fold_images(before), extras]
        + [fold_images(k) for k in later]
        + [rest_multi, rest]
    )


def embed_lfw_stages(
    root: Path,
    detector: str = RESEARCH_DETECTOR,
    stages: tuple[int, ...] | None = None,
    cap: int = 10,
    out: Path | None = None,
    progress: bool = True,
) -> Path:
    """Embed LFW stage by stage (see `priority_order`), rewriting the feature matrix after each stage, so
    training can start on the first stages while the rest runs.

    Only the plain chip is embedded (serving's default; `whosthat eval lfw` adds the mirrored one):
    descriptors already in the shared cache under the serving pipeline's key are reused, new ones are
    stored under that key + "|plain-only", so a two-core machine spends half the time.
    """
    from tqdm import tqdm

    from whosthat.vision.cache import EmbeddingCache, file_digest
    from whosthat.vision.image import decode_image
    from whosthat.vision.pipeline import FacePipeline

    root = lfw.lfw_root(root)
    order = priority_order(root, cap=cap)
    pipe = FacePipeline(detector=detector, flip=False)
    key = pipe.key
    cache = EmbeddingCache()
    path = None
    for k in stages if stages is not None else range(len(order)):
        for p in tqdm(
            order[k],
            desc=f"dlib descriptors, stage {k + 1}/{len(order)}",
            disable=not progress,
            file=sys.stderr,
        ):
            digest = file_digest(root / lfw.IMAGES_DIR / p)
            if cache.get(key, digest) is not None or cache.get(key + PLAIN_ONLY, digest) is not None:
                continue
            rgb = decode_image(root / lfw.IMAGES_DIR / p)
            dets = pipe.detect(rgb)
            if not dets:
                cache.put(key + PLAIN_ONLY, digest, False, None, None, {"detector": "none"})
                continue
            _, chip = pipe.align(rgb, dets[0])
            vec = pipe.embedder.embed(chip[None])[0]
            meta = {
                "detector": dets[0].source,
                "box": [round(float(v), 1) for v in dets[0].box],
                "faces": len(dets),
            }
            cache.put(key + PLAIN_ONLY, digest, True, vec, None, meta)
        path = collect_lfw_features(root, out, detector)
        print(
            f"whosthat: stage {k + 1} embedded ({len(order[k])} images); features written to {path}",
            file=sys.stderr,
        )
    return path


def collect_lfw_features(root: Path, out: Path | None = None, detector: str = RESEARCH_DETECTOR) -> Path:
    """Write the feature matrix of every LFW image whose plain-chip descriptor is in the shared embedding cache.

    Images not embedded yet get found=False (left out of training, counted as errors in pairs). Where
    the detector found no face, an entry `whosthat eval lfw` stored for its median-box fallback is used
    when there is one (fallback=True), as that command does. `flipped` holds the mirrored chip's
    descriptor where the cache has it (else a copy of `plain`); training uses it as augmentation.
    """
    from whosthat.vision.cache import EmbeddingCache, file_digest
    from whosthat.vision.pipeline import FacePipeline

    root = lfw.lfw_root(root)
    rel = sorted(p for ps in lfw.list_identity_images(root).values() for p in ps)
    key = FacePipeline(detector=detector, flip=False).key
    cache = EmbeddingCache()
    fallback_keys = [
        k
        for (k,) in cache._db.execute(
            "SELECT DISTINCT key FROM embeddings WHERE key LIKE ?", (key + "|fallback=%",)
        ).fetchall()
    ]
    n = len(rel)
    plain = np.zeros((n, 128), np.float32)
    flipped = np.zeros((n, 128), np.float32)
    found = np.zeros(n, bool)
    fallback = np.zeros(n, bool)
    for i, p in enumerate(rel):
        digest = file_digest(root / lfw.IMAGES_DIR / p)
        hit = cache.get(key, digest) or cache.get(key + PLAIN_ONLY, digest)
        if hit is not None and not hit[0]:
            for fk in fallback_keys:
                fb = cache.get(fk, digest)
                if fb is not None and fb[0]:
                    hit, fallback[i] = fb, True
                    break
        if hit is not None and hit[0]:
            found[i], plain[i] = True, hit[1]
            flipped[i] = hit[2] if hit[2] is not None else hit[1]
    out = Path(out) if out else default_features_path()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp.npz")
    np.savez(
        tmp,
        paths=np.array(rel),
        data=plain,
        plain=plain,
        flipped=flipped,
        found=found,
        fallback=fallback,
        meta_source=np.array(
            f"dlib-resnet-v1 descriptors of the plain chip, detector={detector} (vision pipeline)"
        ),
    )
    tmp.replace(out)
    return out


def prepare_lfw_features(
    root: Path,
    out: Path | None = None,
    detector: str = RESEARCH_DETECTOR,
    limit: int | None = None,
    paths: list[str] | None = None,
    progress: bool = True,
    cache=None,
) -> Path:
    """Embed (through the shared cache) all LFW images, the first `limit` sorted by path, or the given
    relative `paths`, and write the matrix."""
    from whosthat.vision.cache import embed_files

    root = lfw.lfw_root(root)
    rel = sorted(paths) if paths else sorted(p for ps in lfw.list_identity_images(root).values() for p in ps)
    if limit:
        rel = rel[:limit]
    emb = embed_files(
        [root / lfw.IMAGES_DIR / p for p in rel], detector=detector, progress=progress, cache=cache
    )
    out = Path(out) if out else default_features_path()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp.npz")
    np.savez(
        tmp,
        paths=np.array(rel),
        data=np.nan_to_num(emb.plain),
        plain=np.nan_to_num(emb.plain),
        flipped=np.nan_to_num(emb.flipped),
        found=emb.found,
        fallback=np.zeros(len(rel), bool),
        meta_source=np.array(f"vision.cache.embed_files detector={detector} embedder=dlib-resnet-v1"),
    )
    tmp.replace(out)
    return out


def load_features(path: Path | None = None) -> tuple[ArraySource, np.ndarray, np.ndarray]:
    """(source with the plain-chip descriptors, as served, plain [N,128], flipped [N,128])."""
    from whosthat.errors import BadInputError

    path = Path(path) if path else default_features_path()
    if not path.is_file():
        raise BadInputError(
            f"no prepared dlib features at {path}: run `whosthat train prepare --features` first"
        )
    z = np.load(path, allow_pickle=False)
    src = ArraySource(
        [str(p) for p in z["paths"]],
        z["data"].astype(np.float32),
        z["found"].astype(bool),
        {"source": str(z["meta_source"])},
    )
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


def prepare_lfw_crops(
    root: Path,
    size: int = 112,
    kind: str = "rotation",
    out: Path | None = None,
    detector: str = "mediapipe",
    limit: int | None = None,
    jpeg_quality: int = 90,
    progress: bool = True,
    paths: list[str] | None = None,
) -> Path:
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
    for i, p in enumerate(
        tqdm(rel, desc=f"aligning LFW ({size}px, {kind})", disable=not progress, file=sys.stderr)
    ):
        crops[i], found[i] = align_crop(decode_image(root / lfw.IMAGES_DIR / p), size, kind, det)
    # LFW images are aligned crops: keep the fallback-box crops too, but record how many there were
    src = ArraySource(
        rel,
        crops,
        np.ones(len(rel), bool),
        {"meta_detected": np.array(found.sum()), "meta_transform": f"FaceAlignTransform({size}, {kind})"},
    )
    out = Path(out) if out else default_crops_path(size, kind)
    return src.save(out, jpeg_quality=jpeg_quality)


def subset_crops(crops: Path, keep: set[str], out: Path) -> Path:
    """Copy the crops of the relative paths in `keep` into a smaller .npz without re-encoding the JPEGs
    (to carry training data to a GPU machine)."""
    z = np.load(crops, allow_pickle=False)
    if "jpeg" not in z.files:
        raise ValueError(f"{crops} does not hold JPEG-encoded crops")
    paths = [str(p) for p in z["paths"]]
    blob, offsets = z["jpeg"], z["offsets"]
    rows = [i for i, p in enumerate(paths) if p in keep]
    chunks = [blob[offsets[i] : offsets[i + 1]] for i in rows]
    new_offsets = np.concatenate([[0], np.cumsum([len(c) for c in chunks])]).astype(np.int64)
    extra = {k: z[k] for k in z.files if k.startswith("meta_")}
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(
        out,
        paths=np.array([paths[i] for i in rows]),
        found=z["found"][rows],
        jpeg=np.concatenate(chunks),
        offsets=new_offsets,
        **extra,
    )
    return out


def gpu_training_subset(root: Path, crops: Path, out: Path, min_images: int = 2) -> Path:
    """Crops of every pair image and every image of people with >= `min_images` images: all that the
    fold protocol trains or tests on; single-image people outside the pairs are left out."""
    root = lfw.lfw_root(root)
    keep = {q for p in lfw.read_pairs(root, "pairs.txt") for q in (p.path_a, p.path_b)}
    keep |= {p for ps in lfw.list_identity_images(root).values() if len(ps) >= min_images for p in ps}
    return subset_crops(crops, keep, out)
