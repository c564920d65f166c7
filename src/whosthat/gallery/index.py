"""In-memory face search: one nearest-neighbour index per embedder, kept in step with the database.

`GalleryIndex` holds the decrypted, L2 distance-searchable templates of one embedder as a few immutable
blocks plus, per block, the positions removed since it was built (tombstones). An enrolment appends one
small block and a deletion adds tombstones, so an update costs time proportional to the change, not to
the gallery. When there are too many blocks or tombstones, a background thread merges the live rows into
one block (and, above `ann_min`, builds an approximate FAISS index over it) and swaps it in. Searches read
one immutable snapshot, replaced in a single assignment, so they never see a half-updated index.

Search is exact (the recall reference) unless a block is large enough for the approximate index
(`ann_min` templates, chosen by `whosthat bench identify`'s measurements, see docs/benchmarks.md); the
small blocks appended since the last merge are always searched exactly. The matrix may be kept in
float16 (half the memory; distances computed in float32 chunks).

`Gallery` owns one index per embedder and, before each search, compares the database's gallery change
counter with the value it last applied; when it moved (in this process or in another replica sharing
the database) it reads the change log since then and reloads only the changed people's templates,
decrypting only new rows. A search returns people, not templates: each person's best distance counts.
`Gallery.identify` is the one 1:N decision (threshold and open-set margin, `gallery.threshold`).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy.orm import Session

from whosthat.gallery.threshold import open_set_reason
from whosthat.store import repositories as repo
from whosthat.store.crypto import DecryptionError, TemplateCipher

log = logging.getLogger(__name__)

# Approximate search is switched on for a merged block of at least this many templates (measured:
# docs/benchmarks.md, `whosthat bench identify --search-only`); below it exact search is as fast.
ANN_MIN = 50_000
MAX_BLOCKS = 8  # merge when more blocks than this exist
MAX_DEAD_FRACTION = 0.05  # ... or when this fraction of the rows are tombstones
MAX_DELTA_FRACTION = 0.02  # rows beside the approximate block, as a share of it, before it is rebuilt
_CHUNK = 65_536  # rows per float32 chunk when the matrix is stored in float16


@dataclass(frozen=True)
class Match:
    """One candidate: the person, their closest template and its Euclidean distance to the probe."""

    person_id: int
    template_id: int
    distance: float


@dataclass(frozen=True)
class Identification:
    """A 1:N decision. `match` is the recognised person (None when `reason` says why not:
    "not_recognised" or "ambiguous"); `nearest` and `runner_up` the two closest people (None when
    absent); `margin` how far the runner-up is behind the nearest (None with fewer than two people)."""

    match: Match | None
    nearest: Match | None
    runner_up: Match | None
    margin: float | None
    reason: str | None


@dataclass(frozen=True, eq=False)
class _Block:
    template_ids: np.ndarray  # int64[n]
    person_ids: np.ndarray  # int64[n]
    matrix: np.ndarray  # float32 or float16 [n, D]
    sq_norms: np.ndarray  # float32[n]
    tid_order: np.ndarray  # argsort of template_ids
    pid_order: np.ndarray  # argsort of person_ids
    ann: object | None = None  # faiss index over the rows (labels = positions), or None: exact

    @classmethod
    def build(cls, tids: np.ndarray, pids: np.ndarray, matrix: np.ndarray, ann=None) -> _Block:
        m32 = matrix.astype(np.float32, copy=False)
        return cls(
            tids,
            pids,
            matrix,
            np.einsum("ij,ij->i", m32, m32).astype(np.float32),
            np.argsort(tids, kind="stable"),
            np.argsort(pids, kind="stable"),
            ann,
        )

    def __len__(self) -> int:
        return len(self.template_ids)

    def positions_of_templates(self, tids: np.ndarray) -> np.ndarray:
        """Positions (in this block) of those of `tids` it holds."""
        if len(self) == 0 or len(tids) == 0:
            return np.zeros(0, np.int64)
        sorted_ids = self.template_ids[self.tid_order]
        j = np.searchsorted(sorted_ids, tids)
        j = j[j < len(sorted_ids)]
        j = j[np.isin(sorted_ids[j], tids)]
        return self.tid_order[j]

    def positions_of_people(self, pid: int) -> np.ndarray:
        sorted_p = self.person_ids[self.pid_order]
        lo, hi = np.searchsorted(sorted_p, pid, "left"), np.searchsorted(sorted_p, pid, "right")
        return self.pid_order[lo:hi]


@dataclass(frozen=True, eq=False)
class _Snapshot:
    blocks: tuple[_Block, ...] = ()
    dead: tuple[np.ndarray, ...] = ()  # per block: sorted removed positions
    selectors: tuple[object | None, ...] = ()  # per block: faiss search parameters excluding `dead`
    dim: int = 0
    size: int = 0  # live rows

    @property
    def dead_count(self) -> int:
        return sum(len(d) for d in self.dead)


@dataclass
class IndexStats:
    merges: int = 0
    last_merge_s: float = 0.0
    ann_blocks: int = 0
    extra: dict = field(default_factory=dict)


class GalleryIndex:
    """Top-k search over the templates of one embedder (Euclidean distance), updated incrementally.

    `float16`: keep the matrix in half precision. `ann_min`: size of a merged block from which it gets
    an approximate FAISS index (None: never). `background`: merge in a background thread (else inline).
    """

    def __init__(
        self,
        embedder: str,
        *,
        float16: bool = False,
        ann_min: int | None = ANN_MIN,
        ann_factory=None,
        background: bool = True,
    ):
        self.embedder = embedder
        self.float16 = float16
        self.ann_min = ann_min
        self._ann_factory = ann_factory
        self.background = background
        self._snap = _Snapshot()
        self._write = threading.Lock()  # serialises writers; searches take no lock
        self._merging: threading.Thread | None = None
        self._merge_lock = threading.Lock()  # one merge at a time
        self.stats = IndexStats()

    # Reading ----------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return self._snap.size

    @property
    def dim(self) -> int:
        return self._snap.dim

    def _live_positions(self, snap: _Snapshot, i: int) -> np.ndarray:
        block = snap.blocks[i]
        if len(snap.dead[i]) == 0:
            return np.arange(len(block))
        keep = np.ones(len(block), bool)
        keep[snap.dead[i]] = False
        return np.flatnonzero(keep)

    @property
    def template_ids(self) -> set[int]:
        snap = self._snap
        out: set[int] = set()
        for i, block in enumerate(snap.blocks):
            out.update(block.template_ids[self._live_positions(snap, i)].tolist())
        return out

    @property
    def person_count(self) -> int:
        snap = self._snap
        pids = [b.person_ids[self._live_positions(snap, i)] for i, b in enumerate(snap.blocks)]
        return len(np.unique(np.concatenate(pids))) if pids else 0

    def templates_of(self, person_ids) -> dict[int, set[int]]:
        """{person id: their template ids in the index} for the given people (cost: their rows)."""
        snap = self._snap
        out: dict[int, set[int]] = {int(p): set() for p in person_ids}
        for i, block in enumerate(snap.blocks):
            dead = snap.dead[i]
            for pid in out:
                pos = block.positions_of_people(pid)
                if len(dead):
                    pos = pos[~np.isin(pos, dead)]
                out[pid].update(block.template_ids[pos].tolist())
        return out

    def vectors(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(template ids, person ids, float32 matrix) of the live rows, for calibration and benchmarks."""
        snap = self._snap
        if not snap.blocks:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 0), np.float32)
        parts = [(b, self._live_positions(snap, i)) for i, b in enumerate(snap.blocks)]
        return (
            np.concatenate([b.template_ids[p] for b, p in parts]),
            np.concatenate([b.person_ids[p] for b, p in parts]),
            np.concatenate([b.matrix[p].astype(np.float32) for b, p in parts]),
        )

    # Searching --------------------------------------------------------------------------------------
    def _check(self, snap: _Snapshot, query) -> np.ndarray:
        q = np.asarray(query, dtype=np.float32).ravel()
        if snap.blocks and q.shape[0] != snap.dim:
            raise ValueError(f"query has {q.shape[0]} dimensions, the {self.embedder} gallery {snap.dim}")
        return q

    @staticmethod
    def _exact_sq(block: _Block, q: np.ndarray) -> np.ndarray:
        if block.matrix.dtype == np.float32:
            dots = block.matrix @ q
        else:
            dots = np.empty(len(block), np.float32)
            for s in range(0, len(block), _CHUNK):
                dots[s : s + _CHUNK] = block.matrix[s : s + _CHUNK].astype(np.float32) @ q
        return block.sq_norms + float(q @ q) - 2.0 * dots

    def distances(self, query: np.ndarray) -> np.ndarray:
        """Exact Euclidean distance from `query` (float[D]) to every live template, in `vectors()` order."""
        snap = self._snap
        q = self._check(snap, query)
        if not snap.blocks:
            return np.zeros(0, np.float32)
        parts = []
        for i, block in enumerate(snap.blocks):
            sq = self._exact_sq(block, q)
            parts.append(sq[self._live_positions(snap, i)])
        return np.sqrt(np.maximum(np.concatenate(parts), 0.0))

    def _candidates(self, snap: _Snapshot, q: np.ndarray, k: int, exact: bool):
        """(squared distances, block numbers, positions) of at least the k nearest rows of each block."""
        ds, bs, ps = [], [], []
        for i, block in enumerate(snap.blocks):
            if len(block) == 0:
                continue
            if block.ann is not None and not exact:
                want = min(len(block), k)
                sq, pos = block.ann.search(q[None, :], want, params=snap.selectors[i].params)
                sq, pos = sq[0], pos[0]
                ok = pos >= 0
                ds.append(sq[ok].astype(np.float32))
                ps.append(pos[ok].astype(np.int64))
                bs.append(np.full(int(ok.sum()), i, np.int64))
                continue
            sq = self._exact_sq(block, q)
            if len(snap.dead[i]):
                sq[snap.dead[i]] = np.inf
            if k < len(block):
                pos = np.argpartition(sq, k - 1)[:k]
            else:
                pos = np.arange(len(block))
            pos = pos[np.isfinite(sq[pos])]
            ds.append(sq[pos])
            ps.append(pos.astype(np.int64))
            bs.append(np.full(len(pos), i, np.int64))
        if not ds:
            return np.zeros(0, np.float32), np.zeros(0, np.int64), np.zeros(0, np.int64)
        return np.concatenate(ds), np.concatenate(bs), np.concatenate(ps)

    def search(self, query: np.ndarray, k: int = 1, *, exact: bool = False) -> list[Match]:
        """The k closest people (best template each), nearest first. `exact`: never approximate."""
        snap = self._snap
        q = self._check(snap, query)
        if snap.size == 0 or k <= 0:
            return []
        # A person may hold several of the nearest templates: widen until k distinct people are found.
        want = k if k == 1 else 4 * k
        while True:
            sq, bs, ps = self._candidates(snap, q, want, exact)
            order = np.lexsort((ps, bs, sq))
            seen: set[int] = set()
            out: list[Match] = []
            for j in order:
                block = snap.blocks[int(bs[j])]
                pid = int(block.person_ids[ps[j]])
                if pid in seen:
                    continue
                seen.add(pid)
                dist = float(np.sqrt(max(float(sq[j]), 0.0)))
                out.append(Match(pid, int(block.template_ids[ps[j]]), dist))
                if len(out) == k:
                    return out
            if want >= snap.size + snap.dead_count:
                return out
            want *= 4

    # Writing ----------------------------------------------------------------------------------------
    def update(self, added: dict[int, tuple[int, np.ndarray]], removed: set[int]) -> None:
        """Add {template id: (person id, vector)} and drop the given template ids, then swap in the result.

        Costs time proportional to the change (plus the number of blocks); an id already present in
        `added` replaces the old row."""
        if added:
            tids = np.fromiter(added.keys(), np.int64, len(added))
            pids = np.fromiter((int(added[int(t)][0]) for t in tids), np.int64, len(added))
            rows = np.stack([np.asarray(added[int(t)][1], np.float32).ravel() for t in tids])
        else:
            tids = pids = np.zeros(0, np.int64)
            rows = np.zeros((0, 0), np.float32)
        self.update_arrays(tids, pids, rows, removed)

    def update_arrays(
        self, tids: np.ndarray, pids: np.ndarray, rows: np.ndarray, removed=(), *, merge: bool = True
    ) -> None:
        """`update` with the added rows as arrays: template ids int64[n], person ids int64[n], float[n, D].
        `merge` False: do not start a merge (the caller merges inline next)."""
        with self._write:
            snap = self._snap
            if len(tids) and snap.dim and rows.shape[1] != snap.dim:
                raise ValueError(
                    f"{rows.shape[1]}-D templates added to the {snap.dim}-D {self.embedder} gallery"
                )
            gone = np.union1d(np.fromiter((int(t) for t in removed), np.int64), np.asarray(tids, np.int64))
            dead = list(snap.dead)
            for i, block in enumerate(snap.blocks):
                pos = block.positions_of_templates(gone)
                if len(pos):
                    dead[i] = np.union1d(dead[i], pos)
            blocks = list(snap.blocks)
            selectors = list(snap.selectors)
            dim = snap.dim
            if len(tids):
                dim = rows.shape[1]
                matrix = np.ascontiguousarray(rows, dtype=self._dtype)
                blocks.append(_Block.build(np.asarray(tids, np.int64), np.asarray(pids, np.int64), matrix))
                dead.append(np.zeros(0, np.int64))
                selectors.append(None)
            for i, block in enumerate(snap.blocks):  # new tombstones in an approximate block
                if block.ann is not None and dead[i] is not snap.dead[i]:
                    selectors[i] = _ann_params(block.ann, dead[i])
            self._swap(blocks, dead, selectors, dim)
        if merge:
            self._maybe_merge()

    @property
    def _dtype(self):
        return np.float16 if self.float16 else np.float32

    def _swap(self, blocks, dead, selectors, dim) -> None:
        keep = [i for i, b in enumerate(blocks) if len(dead[i]) < len(b)]  # drop fully dead blocks
        blocks = [blocks[i] for i in keep]
        size = sum(len(blocks[j]) - len(dead[i]) for j, i in enumerate(keep))
        self._snap = _Snapshot(
            tuple(blocks),
            tuple(dead[i] for i in keep),
            tuple(selectors[i] for i in keep),
            dim if blocks else 0,
            size,
        )

    def _plan(self) -> str | None:
        """Which merge is due: "full" (every block into one, the approximate index rebuilt when due),
        "delta" (the small blocks beside a large approximate block into one exact block: costs the
        delta, not the gallery), or None."""
        snap = self._snap
        if snap.dead_count > MAX_DEAD_FRACTION * max(snap.size, 1) and snap.dead_count > 64:
            return "full"
        # The approximate index is due once the gallery outgrew the exact limit.
        base = snap.blocks[0] if snap.blocks and snap.blocks[0].ann is not None else None
        if (
            self.ann_min is not None
            and snap.size >= self.ann_min
            and (base is None or len(base) < 0.5 * snap.size)
        ):
            return "full"
        if len(snap.blocks) > MAX_BLOCKS:
            if base is not None and snap.size - (len(base) - len(snap.dead[0])) <= MAX_DELTA_FRACTION * len(
                base
            ):
                return "delta"
            return "full"
        return None

    def needs_merge(self) -> bool:
        return self._plan() is not None

    def _maybe_merge(self) -> None:
        if not self.needs_merge():
            return
        if not self.background:
            self.merge()
            return
        with self._write:
            if self._merging is not None and self._merging.is_alive():
                return
            self._merging = threading.Thread(
                target=self._merge_background, name=f"gallery-merge-{self.embedder}", daemon=True
            )
            self._merging.start()

    def wait_merged(self, timeout: float | None = None) -> None:
        """Wait for a background merge in progress (tests and benchmarks)."""
        t = self._merging
        if t is not None:
            t.join(timeout)

    def _merge_background(self) -> None:
        try:
            self.merge()
        except Exception as exc:  # searches go on over the unmerged blocks; the next update retries
            self.stats.extra["merge_error"] = f"{type(exc).__name__}: {exc}"
            log.exception("gallery %s: merge failed", self.embedder)

    def merge(self, kind: str | None = None) -> None:
        """Merge blocks as `_plan` says (or `kind`: "full" / "delta") and swap the result in; updates
        made meanwhile are carried over. Runs outside the writers' lock except for the final swap."""
        with self._merge_lock:
            kind = kind or self._plan() or "full"
            self._merge(kind)

    def _merge(self, kind: str) -> None:
        t0 = time.perf_counter()
        snap = self._snap
        if not snap.blocks:
            return
        # The blocks merged: all of them, or (delta) all but the large approximate one in front.
        first = 1 if kind == "delta" and snap.blocks[0].ann is not None else 0
        base = _Snapshot(snap.blocks[first:], snap.dead[first:], snap.selectors[first:], snap.dim, 0)
        if not base.blocks:
            return
        lives = [self._live_positions(base, i) for i in range(len(base.blocks))]
        tids = np.concatenate([b.template_ids[p] for b, p in zip(base.blocks, lives, strict=True)])
        pids = np.concatenate([b.person_ids[p] for b, p in zip(base.blocks, lives, strict=True)])
        matrix = np.concatenate([b.matrix[p] for b, p in zip(base.blocks, lives, strict=True)])
        ann = None
        if kind == "full" and self.ann_min is not None and len(tids) >= self.ann_min:
            ann = (self._ann_factory or build_ann)(matrix.astype(np.float32, copy=False))
        merged = _Block.build(tids, pids, matrix, ann)
        offsets = np.cumsum([0] + [len(p) for p in lives])
        with self._write:
            now = self._snap
            # Blocks are only ever appended or dropped when fully dead; match the old ones by identity.
            old_ids = {id(b): i for i, b in enumerate(base.blocks)}
            kept = {id(b) for b in snap.blocks[:first]}
            dead_merged: list[np.ndarray] = []
            newer, front = [], []
            for j, block in enumerate(now.blocks):
                i = old_ids.get(id(block))
                if i is None:
                    (front if id(block) in kept else newer).append(j)
                    continue
                extra = np.setdiff1d(now.dead[j], base.dead[i], assume_unique=True)
                if len(extra):
                    dead_merged.append(offsets[i] + np.searchsorted(lives[i], extra))
            # A base block that disappeared was fully removed meanwhile: all its rows are dead.
            present = {id(b) for b in now.blocks}
            for i, block in enumerate(base.blocks):
                if id(block) not in present:
                    dead_merged.append(np.arange(offsets[i], offsets[i + 1]))
            dm = np.unique(np.concatenate(dead_merged)) if dead_merged else np.zeros(0, np.int64)
            blocks = [now.blocks[j] for j in front] + [merged] + [now.blocks[j] for j in newer]
            dead = [now.dead[j] for j in front] + [dm] + [now.dead[j] for j in newer]
            selectors = (
                [now.selectors[j] for j in front]
                + [_ann_params(ann, dm) if ann is not None else None]
                + [now.selectors[j] for j in newer]
            )
            self._swap(blocks, dead, selectors, base.dim)
            self.stats.merges += 1
            self.stats.last_merge_s = time.perf_counter() - t0
            log.info(
                "gallery %s: %s merge of %d rows in %.1f s (approximate: %s)",
                self.embedder,
                kind,
                len(tids),
                self.stats.last_merge_s,
                ann is not None,
            )
            self.stats.ann_blocks = sum(b.ann is not None for b in self._snap.blocks)
            self.stats.extra[f"{kind}_merges"] = self.stats.extra.get(f"{kind}_merges", 0) + 1


# Approximate search ----------------------------------------------------------------------------------
# IVF-Flat, chosen by measurement against HNSW (docs/benchmarks.md#search-at-scale): on real embeddings
# with noisy copies HNSW (M 32, efSearch up to 128) found the exact nearest for only 0.70-0.81 of the
# probes and built 3.4x slower; IVF with 500 rows per list and 32 lists probed found it for 0.9975
# (100,000 rows) to 1.0 (1,000,000) of them.
ANN_KIND = "ivf"
IVF_ROWS_PER_LIST = 500
IVF_TRAIN_PER_LIST = 20  # k-means sample: rows per list
IVF_TRAIN_ITERATIONS = 10
NPROBE = 32
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 40
HNSW_EF_SEARCH = 64


def build_ann(matrix: np.ndarray, *, kind: str | None = None, seed: int = 0):
    """A faiss index (L2, rows labelled by position) over `matrix` (float32[N, D]): IndexIVFFlat
    (kind "ivf", the default) or IndexHNSWFlat ("hnsw", for the benchmark's comparison)."""
    import faiss

    kind = kind or ANN_KIND
    n, dim = matrix.shape
    data = np.ascontiguousarray(matrix, dtype=np.float32)
    if kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_L2)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.add(data)
        return index
    if kind != "ivf":
        raise ValueError(f"unknown approximate index {kind!r} (ivf or hnsw)")
    nlist = max(1, int(round(n / IVF_ROWS_PER_LIST)))
    # A flat (exact) coarse quantizer: an HNSW one assigns a million rows faster but misroutes probes of
    # clustered galleries (recall@1 0.96 against 1.0 measured at 300,000 rows).
    index = faiss.IndexIVFFlat(faiss.IndexFlatL2(dim), dim, nlist, faiss.METRIC_L2)
    rng = np.random.default_rng(seed)
    n_train = min(n, max(IVF_TRAIN_PER_LIST * nlist, 1000))
    train = data if n <= n_train else data[np.sort(rng.choice(n, n_train, replace=False))]
    index.cp.seed = seed
    index.cp.niter = IVF_TRAIN_ITERATIONS
    index.train(train)
    index.add(data)
    return index


class _AnnParams:
    """faiss search parameters excluding the tombstoned positions; holds the selectors alive."""

    def __init__(self, ann, dead: np.ndarray):
        import faiss

        self.refs: tuple = ()
        sel = None
        if len(dead):
            batch = faiss.IDSelectorBatch(np.ascontiguousarray(dead, dtype=np.int64))
            sel = faiss.IDSelectorNot(batch)
            self.refs = (batch, sel)
        if isinstance(ann, faiss.IndexHNSW):
            self.params = faiss.SearchParametersHNSW()
            self.params.efSearch = HNSW_EF_SEARCH
        else:
            self.params = faiss.SearchParametersIVF()
            self.params.nprobe = NPROBE
        if sel is not None:
            self.params.sel = sel


def _ann_params(ann, dead: np.ndarray) -> _AnnParams:
    return _AnnParams(ann, dead)


class Gallery:
    """All indexes of one process, synchronised with the database through the change counter."""

    def __init__(self, cipher: TemplateCipher, *, float16: bool = False, ann_min: int | None = ANN_MIN):
        self.cipher = cipher
        self.float16 = float16
        self.ann_min = ann_min
        self._indexes: dict[str, GalleryIndex] = {}
        self._versions: dict[str, int] = {}
        self._lock = threading.Lock()
        self.reloads = 0  # how many times an index was refreshed (exposed in /metrics)
        self.full_reloads = 0
        self.decrypt_failures = 0
        self.last_load_s = 0.0  # the last full load's read + decrypt time (bench, logs)

    def _decrypt(self, session: Session, ids: list[int]) -> dict[int, tuple[int, np.ndarray]]:
        added: dict[int, tuple[int, np.ndarray]] = {}
        for tid, pid, name, blob in repo.templates.iter_blobs(session, ids):
            try:
                added[tid] = (pid, self.cipher.decrypt_embedding(blob, pid, name))
            except DecryptionError:
                # A row encrypted with another key or tampered with is never searchable.
                self.decrypt_failures += 1
        return added

    def _load_all(self, session: Session, index: GalleryIndex) -> None:
        """Every active row of the index's embedder, decrypted into one buffer (no per-row arrays)."""
        tids: list[int] = []
        pids: list[int] = []
        buf = bytearray()
        size = None  # bytes per row: the first row's; a row of another size is refused
        decrypt = self.cipher.decrypt_embedding_bytes
        for tid, pid, blob in repo.templates.iter_active_blobs(session, index.embedder):
            try:
                raw = decrypt(blob, pid, index.embedder)
            except DecryptionError:
                self.decrypt_failures += 1
                continue
            if size is None:
                size = len(raw)
            if len(raw) != size or size % 4:
                self.decrypt_failures += 1
                continue
            buf += raw
            tids.append(tid)
            pids.append(pid)
        if not tids:
            return
        matrix = np.frombuffer(buf, dtype="<f4").reshape(len(tids), size // 4).astype(np.float32)
        del buf
        index.update_arrays(np.array(tids, np.int64), np.array(pids, np.int64), matrix, merge=False)
        self.full_reloads += 1

    def index(self, session: Session, embedder: str) -> GalleryIndex:
        """The up-to-date index for `embedder` (applies the changes since the counter last moved)."""
        version = repo.counters.gallery_version(session)
        with self._lock:
            index = self._indexes.get(embedder)
            have = self._versions.get(embedder)
            if index is not None and have == version:
                return index
            if index is None:
                index = GalleryIndex(embedder, float16=self.float16, ann_min=self.ann_min)
                have = None
            changed = None if have is None else repo.counters.changed_people(session, have, version)
            if have is None:  # first load: stream every row once, decrypted straight into one matrix
                t0 = time.perf_counter()
                self._load_all(session, index)
                self.last_load_s = time.perf_counter() - t0
                if index.needs_merge():  # the approximate index is built before the first search
                    index.merge()
            elif changed is None:  # the change log no longer reaches back: diff every id
                refs = repo.templates.active_refs(session, embedder)
                wanted = {r.id: r.person_id for r in refs}
                current = index.template_ids
                index.update(self._decrypt(session, sorted(wanted.keys() - current)), current - wanted.keys())
                self.full_reloads += 1
            else:  # only the people named by the change log since `have`
                refs = repo.templates.active_refs(session, embedder, person_ids=sorted(changed))
                wanted = {r.id: r.person_id for r in refs}
                current = set().union(*index.templates_of(changed).values()) if changed else set()
                index.update(self._decrypt(session, sorted(wanted.keys() - current)), current - wanted.keys())
            self._indexes[embedder] = index
            self._versions[embedder] = version
            self.reloads += 1
            return index

    def search(self, session: Session, embedder: str, embedding: np.ndarray, k: int = 1) -> list[Match]:
        return self.index(session, embedder).search(embedding, k)

    def identify(
        self, session: Session, embedder: str, embedding: np.ndarray, threshold: float, margin: float
    ) -> Identification:
        """The 1:N decision for every caller (API identify, kiosk login): the nearest person is the
        match when within `threshold` and at least `margin` closer than the next person
        (`gallery.threshold.open_set_reason`)."""
        found = self.search(session, embedder, embedding, k=2)
        nearest = found[0] if found else None
        runner_up = found[1] if len(found) > 1 else None
        gap = runner_up.distance - nearest.distance if runner_up is not None else None
        reason = open_set_reason(
            nearest.distance if nearest else None,
            runner_up.distance if runner_up else None,
            threshold,
            margin,
        )
        return Identification(nearest if reason is None else None, nearest, runner_up, gap, reason)

    def loaded(self, embedder: str) -> bool:
        with self._lock:
            return embedder in self._versions

    def sizes(self) -> dict[str, int]:
        """{embedder: templates}; takes no lock, so a probe answers while a (re)load runs."""
        return {name: len(index) for name, index in dict(self._indexes).items()}
