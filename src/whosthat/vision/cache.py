"""On-disk embedding cache keyed by pipeline and file content, so re-running an evaluation is fast.

One SQLite file under `$WHOSTHAT_HOME/cache/`: a row per (pipeline key, SHA-256 of the file bytes)
with both the plain and the mirrored chip's descriptor, so flip averaging can be evaluated without a
second pass. Safe for several processes (WAL, busy timeout).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from whosthat.errors import BadInputError


def file_digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


class EmbeddingCache:
    def __init__(self, path: Path | None = None):
        if path is None:
            from whosthat.config import get_settings

            path = get_settings().cache_dir / "embeddings.sqlite3"
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(str(path), timeout=60, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS embeddings (key TEXT, digest TEXT, found INTEGER, plain BLOB, flipped BLOB,"
            " meta TEXT, PRIMARY KEY (key, digest))"
        )

    def get(self, key: str, digest: str):
        row = self._db.execute(
            "SELECT found, plain, flipped, meta FROM embeddings WHERE key=? AND digest=?", (key, digest)
        ).fetchone()
        if row is None:
            return None
        found, plain, flipped, meta = row
        return (bool(found), _arr(plain), _arr(flipped), json.loads(meta or "{}"))

    def found_digests(self, key: str) -> set[str]:
        """The file digests cached under `key` in which a face was found."""
        rows = self._db.execute("SELECT digest FROM embeddings WHERE key=? AND found=1", (key,))
        return {digest for (digest,) in rows}

    def put(self, key: str, digest: str, found: bool, plain, flipped, meta: dict) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?, ?, ?, ?)",
            (key, digest, int(found), _blob(plain), _blob(flipped), json.dumps(meta)),
        )


def _blob(a) -> bytes | None:
    return None if a is None else np.asarray(a, np.float32).tobytes()


def _central(box, image_size, max_offset: float) -> bool:
    """Whether a box's centre lies within max_offset x the shorter image side of the image centre
    (image_size [w, h]; rows cached before it was recorded are LFW's 250 x 250)."""
    w, h = image_size or (250, 250)
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return bool(np.hypot(cx - w / 2, cy - h / 2) <= max_offset * min(w, h))


def _arr(b) -> np.ndarray | None:
    return None if b is None else np.frombuffer(b, dtype=np.float32).copy()


@dataclass
class FileEmbeddings:
    """Raw outputs of many files (`vision.embedders.raw_features`): plain[N, D], flipped[N, D] (NaN rows
    where no face), found[N], meta[N] (detector source, box); `finish` turns them into templates."""

    paths: list[Path]
    plain: np.ndarray
    flipped: np.ndarray
    found: np.ndarray
    meta: list[dict]
    finish: object = None

    def raw(self, flip: bool) -> np.ndarray:
        """The raw outputs, mirror-averaged with flip (the one mirror rule of vision.embedders)."""
        return (self.plain + self.flipped) / 2 if flip else self.plain

    def embeddings(self, flip: bool) -> np.ndarray:
        """The templates the embedder would give (its `finish` applied to `raw(flip)`)."""
        raw = self.raw(flip)
        return self.finish(raw) if self.finish is not None else raw


PLAIN_ONLY = "|plain-only"


def embed_files(
    paths: list[Path],
    detector: str = "auto",
    embedder="dlib-resnet-v1",
    fallback_box: tuple[float, float, float, float] | None = None,
    progress: bool = True,
    cache: EmbeddingCache | None = None,
    mirrored: bool = True,
    choose: str = "largest",
    max_offset: float = 0.2,
    jitter: int = 0,
    detections: dict | None = None,
) -> FileEmbeddings:
    """Embed the dominant (largest) face of each file through the cache.

    mirrored=True embeds the plain and the mirrored chip (flipped[] filled); mirrored=False only the
    plain chip (half the cost; flipped[] stays NaN), stored under the key + "|plain-only" and also
    served from full rows. Files where no face is detected get NaN rows and found=False, unless
    `fallback_box` is given: then that fixed box is used for them instead (and meta says so).
    choose: which face of a multi-face photo: "largest" (the app's dominant face) or "central" (the
    one nearest the image centre: LFW's convention, its labelled person is centred in the crop). With
    "central", a face whose centre is more than `max_offset` x the image's shorter side from the image
    centre is not the labelled person but a bystander (the detector missed the person): such a file is
    treated like one without a face (found=False, meta detector "off-centre").
    jitter=N (> 0): plain[] is the mean descriptor of N jittered copies of the chip (dlib's
    `num_jitters`, `vision.align.jitter_chips`, which mirror half of them); flipped[] is not computed.
    A fusion is cached per component (each component's rows under its own key, shared with it alone and
    with other fusions); `detections` ({file digest: detections}) lets those passes detect each photo once.
    """
    from tqdm import tqdm

    from whosthat.vision.align import jitter_chips
    from whosthat.vision.detect import Detection
    from whosthat.vision.embedders import frame_raw, looks_at_frame, raw_features
    from whosthat.vision.fusion import FusedEmbedder
    from whosthat.vision.image import decode_image
    from whosthat.vision.pipeline import FacePipeline

    pipe = FacePipeline(detector=detector, embedder=embedder, flip=False)
    if isinstance(pipe.embedder, FusedEmbedder):
        # A fusion is cached per component (each under its own key), so that a component's rows are
        # shared with it alone and with every other fusion that uses it (dlib's in both fusions).
        shared: dict = {} if detections is None else detections
        parts = [
            embed_files(
                paths,
                detector=detector,
                embedder=component,
                fallback_box=fallback_box,
                progress=progress,
                cache=cache,
                mirrored=mirrored,
                choose=choose,
                max_offset=max_offset,
                jitter=jitter,
                detections=shared,
            )
            for component in pipe.embedder.components
        ]
        found = np.logical_and.reduce([p.found for p in parts])
        metas = [{k: v for p in parts for k, v in p.meta[i].items()} for i in range(len(paths))]
        plain = np.concatenate([p.plain for p in parts], axis=1)
        flipped = np.concatenate([p.flipped for p in parts], axis=1)
        plain[~found], flipped[~found] = np.nan, np.nan
        return FileEmbeddings(list(paths), plain, flipped, found, metas, finish=pipe.embedder.finish)
    if jitter:
        mirrored = False
    base = (
        pipe.key
        + (f"|jitter={jitter}" if jitter else "")
        + (f"|fallback={','.join(f'{v:.1f}' for v in fallback_box)}" if fallback_box else "")
    )
    key = base + (f"|central<{max_offset:g}" if choose == "central" else "")
    cache = cache or EmbeddingCache()
    n = len(paths)
    dim = getattr(pipe.embedder, "raw_dim", None) or pipe.embedder.dim or 128
    plain = np.full((n, dim), np.nan, np.float32)
    flipped = np.full((n, dim), np.nan, np.float32)
    found = np.zeros(n, bool)
    metas: list[dict] = [{} for _ in range(n)]
    bar = tqdm(
        total=n,
        desc=f"embedding ({detector}, {pipe.model})",
        unit="img",
        disable=not progress,
        file=sys.stderr,
    )
    for i, path in enumerate(paths):
        digest = file_digest(path)
        hit = cache.get(key, digest)
        reusable_plain = None
        if hit is None and choose == "central":
            # Rows of the plain key (with a single face the choice makes no difference), and rows of the
            # older "|central" key (before the off-centre rule), are reused when their face is central;
            # a plain-only one, where the mirror is wanted, still gives the plain descriptor.
            for k in (base, base + PLAIN_ONLY, base + "|central", base + "|central" + PLAIN_ONLY):
                row = cache.get(k, digest)
                if not (
                    row is not None
                    and row[0]
                    and (row[3].get("faces", 1) <= 1 or k.startswith(base + "|central"))
                    and _central(row[3]["box"], row[3].get("image"), max_offset)
                ):
                    continue
                if row[2] is not None or not mirrored:
                    hit = row
                    break
                reusable_plain = reusable_plain or row
        plain_hit = (cache.get(key + PLAIN_ONLY, digest) or reusable_plain) if hit is None else None
        if plain_hit is not None and (not mirrored or not plain_hit[0]):
            hit = plain_hit
        if hit is None:
            try:
                rgb = decode_image(path)
            except BadInputError as exc:
                hit = (False, None, None, {"error": str(exc)})
            else:
                dets = detections.get(digest) if detections is not None else None
                if dets is None:
                    dets = pipe.detect(rgb)
                    if detections is not None:
                        detections[digest] = dets
                h, w = rgb.shape[:2]
                off_centre = None
                if choose == "central" and dets:
                    dets = sorted(dets, key=lambda d: (d.center[0] - w / 2) ** 2 + (d.center[1] - h / 2) ** 2)
                    if not _central(dets[0].box, [w, h], max_offset):
                        off_centre, dets = dets[0], []
                det = dets[0] if dets else None
                meta = {}
                if det is None and fallback_box is not None:
                    det = Detection(box=fallback_box, score=0.0, source="fallback")
                if det is None:
                    hit = (False, None, None, {"detector": "none"})
                    if off_centre is not None:
                        hit[3].update(detector="off-centre", box=[round(float(v), 1) for v in off_centre.box])
                else:
                    _, chip = pipe.align(rgb, det)
                    meta = {
                        "detector": det.source,
                        "box": [round(float(v), 1) for v in det.box],
                        "faces": len(dets),
                        "image": [w, h],
                    }
                    embedder = pipe.embedder
                    if jitter:
                        vecs = raw_features(embedder, jitter_chips(chip, jitter))
                        hit = (True, vecs.mean(axis=0), None, meta)
                    elif plain_hit is not None and not looks_at_frame(embedder):
                        # the plain descriptor is known: embed the mirror only
                        hit = (True, plain_hit[1], raw_features(embedder, chip[None, :, ::-1])[0], meta)
                    else:
                        # embedders that place their own input from the photo get it (and say how)
                        vecs, notes = frame_raw(embedder, rgb, det.box, chip, mirrored)
                        meta.update(notes)
                        hit = (True, vecs[0], vecs[1] if mirrored else None, meta)
            cache.put(key if mirrored else key + PLAIN_ONLY, digest, *hit)
        ok, p, f, meta = hit
        if ok:
            plain[i], found[i] = p, True
            if f is not None:
                flipped[i] = f
        metas[i] = meta
        bar.update(1)
    bar.close()
    return FileEmbeddings(
        paths=list(paths),
        plain=plain,
        flipped=flipped,
        found=found,
        meta=metas,
        finish=getattr(pipe.embedder, "finish", None),
    )
