"""In-memory face search: one exact nearest-neighbour index per embedder, kept in step with the database.

`GalleryIndex` holds the decrypted, L2 distance-searchable matrix of one embedder's templates.
`Gallery` owns one index per embedder name and, before each search, compares the database's gallery
change counter with the value it last loaded; when it moved (in this process or in another replica
sharing the database) it loads the added templates and drops the removed ones, decrypting only the new
rows. A search returns people, not templates: each person's best (smallest) distance counts.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
from sqlalchemy.orm import Session

from whosthat.gallery.threshold import is_match
from whosthat.store import repositories as repo
from whosthat.store.crypto import DecryptionError, TemplateCipher


@dataclass(frozen=True)
class Match:
    """One candidate: the person, their closest template and its Euclidean distance to the probe."""

    person_id: int
    template_id: int
    distance: float


@dataclass(frozen=True)
class _Snapshot:
    template_ids: np.ndarray  # int64[N]
    person_ids: np.ndarray  # int64[N]
    matrix: np.ndarray  # float32[N, D]
    sq_norms: np.ndarray  # float32[N]


_EMPTY = _Snapshot(
    np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 0), np.float32), np.zeros(0, np.float32)
)


class GalleryIndex:
    """Exact top-k search over the templates of one embedder (Euclidean distance).

    Searches read one immutable snapshot, which `update` replaces in a single assignment, so a search
    running while another thread reloads sees either the old or the new gallery, never a mix.
    """

    def __init__(self, embedder: str):
        self.embedder = embedder
        self._rows: dict[int, tuple[int, np.ndarray]] = {}  # template id -> (person id, vector)
        self._snap = _EMPTY

    def __len__(self) -> int:
        return len(self._snap.template_ids)

    @property
    def template_ids(self) -> set[int]:
        return set(self._rows)

    @property
    def person_count(self) -> int:
        return len(np.unique(self._snap.person_ids))

    def update(self, added: dict[int, tuple[int, np.ndarray]], removed: set[int]) -> None:
        """Add {template id: (person id, vector)} and drop the given template ids, then swap in the result."""
        rows = dict(self._rows)
        for tid in removed:
            rows.pop(tid, None)
        rows.update(added)
        if rows:
            ids = np.fromiter(rows.keys(), dtype=np.int64, count=len(rows))
            matrix = np.ascontiguousarray(np.stack([rows[int(t)][1] for t in ids]).astype(np.float32))
            pids = np.array([rows[int(t)][0] for t in ids], dtype=np.int64)
            snap = _Snapshot(ids, pids, matrix, np.einsum("ij,ij->i", matrix, matrix))
        else:
            snap = _EMPTY
        self._rows = rows
        self._snap = snap

    @staticmethod
    def _distances(snap: _Snapshot, query: np.ndarray, embedder: str) -> np.ndarray:
        q = np.asarray(query, dtype=np.float32).ravel()
        if len(snap.template_ids) == 0:
            return np.zeros(0, dtype=np.float32)
        if q.shape[0] != snap.matrix.shape[1]:
            raise ValueError(
                f"query has {q.shape[0]} dimensions, the {embedder} gallery {snap.matrix.shape[1]}"
            )
        sq = snap.sq_norms + float(q @ q) - 2.0 * (snap.matrix @ q)
        return np.sqrt(np.maximum(sq, 0.0))

    def distances(self, query: np.ndarray) -> np.ndarray:
        """Euclidean distance from `query` (float[D]) to every template, in index order."""
        return self._distances(self._snap, query, self.embedder)

    def search(self, query: np.ndarray, k: int = 1) -> list[Match]:
        """The k closest people (best template each), nearest first."""
        snap = self._snap
        if len(snap.template_ids) == 0 or k <= 0:
            return []
        d = self._distances(snap, query, self.embedder)
        if k == 1:  # the common case (identify): no sort needed
            i = int(np.argmin(d))
            return [Match(int(snap.person_ids[i]), int(snap.template_ids[i]), float(d[i]))]
        order = np.argsort(d, kind="stable")
        seen: set[int] = set()
        out: list[Match] = []
        for i in order:
            pid = int(snap.person_ids[i])
            if pid in seen:
                continue
            seen.add(pid)
            out.append(Match(pid, int(snap.template_ids[i]), float(d[i])))
            if len(out) == k:
                break
        return out

    def vectors(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(template ids, person ids, matrix) copies, for calibration and benchmarks."""
        snap = self._snap
        return snap.template_ids.copy(), snap.person_ids.copy(), snap.matrix.copy()


class Gallery:
    """All indexes of one process, synchronised with the database through the change counter."""

    def __init__(self, cipher: TemplateCipher):
        self.cipher = cipher
        self._indexes: dict[str, GalleryIndex] = {}
        self._versions: dict[str, int] = {}
        self._lock = threading.Lock()
        self.reloads = 0  # how many times an index was refreshed (exposed in /metrics)
        self.decrypt_failures = 0

    def index(self, session: Session, embedder: str) -> GalleryIndex:
        """The up-to-date index for `embedder` (reloads changed rows when the counter moved)."""
        version = repo.counters.gallery_version(session)
        with self._lock:
            index = self._indexes.get(embedder)
            if index is not None and self._versions.get(embedder) == version:
                return index
            if index is None:
                index = GalleryIndex(embedder)
            refs = repo.templates.active_refs(session, embedder)
            wanted = {r.id: r.person_id for r in refs}
            have = index.template_ids
            removed = have - wanted.keys()
            new_ids = sorted(wanted.keys() - have)
            added: dict[int, tuple[int, np.ndarray]] = {}
            for tid, pid, name, blob in repo.templates.iter_blobs(session, new_ids):
                try:
                    added[tid] = (pid, self.cipher.decrypt_embedding(blob, pid, name))
                except DecryptionError:
                    # A row encrypted with another key or tampered with is never searchable.
                    self.decrypt_failures += 1
            index.update(added, removed)
            self._indexes[embedder] = index
            self._versions[embedder] = version
            self.reloads += 1
            return index

    def search(self, session: Session, embedder: str, embedding: np.ndarray, k: int = 1) -> list[Match]:
        return self.index(session, embedder).search(embedding, k)

    def identify(
        self, session: Session, embedder: str, embedding: np.ndarray, threshold: float
    ) -> tuple[Match | None, Match | None]:
        """(the match if its distance is at most `threshold` else None, the nearest candidate or None)."""
        best = self.search(session, embedder, embedding, k=1)
        if not best:
            return None, None
        return (best[0] if is_match(best[0].distance, threshold) else None), best[0]

    def sizes(self) -> dict[str, int]:
        with self._lock:
            return {name: len(index) for name, index in self._indexes.items()}
