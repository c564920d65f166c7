"""Retrieval metrics of embeddings on numpy arrays: pair distances, recall@k, NMI, training-curve plots.

Conventions: embeddings are float arrays [N, D] compared with Euclidean distance (L2-normalise them
first when the model says so). Pair accuracy, the 10-fold loop and the ROC are `whosthat.vision.evaluation`'s
(the same code `whosthat eval lfw` uses). Nothing here imports torch.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def l2_normalize(x: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), eps)


def pair_distances(embeddings: np.ndarray, index_a: np.ndarray, index_b: np.ndarray) -> np.ndarray:
    """Euclidean distance between rows index_a[i] and index_b[i]; NaN where an index is -1 (no embedding)."""
    e = np.asarray(embeddings, dtype=np.float64)
    a, b = np.asarray(index_a), np.asarray(index_b)
    out = np.full(a.shape[0], np.nan)
    ok = (a >= 0) & (b >= 0)
    out[ok] = np.linalg.norm(e[a[ok]] - e[b[ok]], axis=1)
    return out


def _squared_distances(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    sq = (x * x).sum(1)
    return np.maximum(sq[:, None] + sq[None, :] - 2 * x @ x.T, 0.0)


def recall_at_k(
    embeddings: np.ndarray, labels: np.ndarray, ks: tuple[int, ...] = (1, 2, 4, 8)
) -> dict[int, float]:
    """Recall@k over the full gallery: each sample with at least one other sample of its class is a query
    against all other samples; a hit when one of its k nearest neighbours has its label."""
    labels = np.asarray(labels)
    d = _squared_distances(embeddings)
    np.fill_diagonal(d, np.inf)
    count_of = dict(zip(*np.unique(labels, return_counts=True), strict=True))
    queries = np.array([count_of[y] >= 2 for y in labels])
    if not queries.any():
        raise ValueError("recall@k needs at least one class with two samples")
    kmax = min(max(ks), len(labels) - 1)
    nn = np.argsort(d[queries], axis=1, kind="stable")[:, :kmax]
    hits = labels[nn] == labels[queries][:, None]
    return {k: float(hits[:, : min(k, kmax)].any(1).mean()) for k in ks}


def batch_recall_at_k(
    embeddings: np.ndarray,
    labels: np.ndarray,
    n_classes: int = 8,
    m_per_class: int = 3,
    ks: tuple[int, ...] = (1,),
    rounds: int = 1,
    seed: int = 0,
) -> dict[int, float]:
    """The seed's recall@1 protocol: cut the data into batches of n classes x m images (classes with at
    least m images, each class's images used once per round), compute recall@k inside each batch, average
    over all queries. Far easier than the full gallery (n*m-1 candidates instead of N-1)."""
    from whosthat.research.sampler import ClassBalancedBatchSampler

    labels = np.asarray(labels)
    sampler = ClassBalancedBatchSampler(labels, n_classes, m_per_class, seed=seed)
    hits: dict[int, list[float]] = {k: [] for k in ks}
    for _ in range(rounds):
        for batch in sampler:
            r = recall_at_k(embeddings[batch], labels[batch], ks)
            for k in ks:
                hits[k].extend([r[k]] * len(batch))
    return {k: float(np.mean(v)) for k, v in hits.items()}


def nmi(embeddings: np.ndarray, labels: np.ndarray, seed: int = 0) -> float:
    """Normalised mutual information between the labels and a k-means clustering with one cluster per label."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import normalized_mutual_info_score

    labels = np.asarray(labels)
    n = len(np.unique(labels))
    pred = KMeans(n_clusters=n, n_init=1, random_state=seed).fit_predict(
        np.asarray(embeddings, dtype=np.float64)
    )
    return float(normalized_mutual_info_score(labels, pred))


def plot_training_curves(metrics_csv: Path, out: Path) -> Path:
    """Plot every numeric column of a Lightning CSVLogger `metrics.csv` against the step (PNG)."""
    import csv

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = list(csv.DictReader(Path(metrics_csv).open()))
    cols = [c for c in (rows[0].keys() if rows else []) if c not in ("step", "epoch")]
    fig, axes = plt.subplots(len(cols) or 1, 1, figsize=(6, 2.2 * max(len(cols), 1)), dpi=110, squeeze=False)
    for ax, col in zip(axes[:, 0], cols, strict=False):
        pts = [(float(r["step"]), float(r[col])) for r in rows if r.get(col) not in (None, "")]
        if pts:
            xs, ys = zip(*pts, strict=True)
            ax.plot(xs, ys, marker="." if len(pts) < 50 else None)
        ax.set_ylabel(col, fontsize=7)
        ax.grid(True, alpha=0.3)
    axes[-1, 0].set_xlabel("step")
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out
