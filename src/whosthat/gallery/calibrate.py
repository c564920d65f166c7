"""Threshold calibration from the enrolled gallery (and the open-set 1:N measurement of `whosthat eval
open-set`, `open_set_rates`): the distance at which a target false-accept rate
(FAR) is reached on impostor pairs (templates of two different people).

With n impostor pairs, FARs below about 1/n cannot be resolved: the report says so, and the returned
threshold is then the smallest impostor distance seen (an optimistic bound, not an estimate).
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass

import numpy as np

from whosthat.gallery.threshold import open_set_reason
from whosthat.vision.populations import SPLIT_SEED

# The fewest enrolled people a gallery calibration is run on (`whosthat calibrate` refuses below).
# False matches come from lookalike *pairs of people*, not from pairs of photos: on NUAA one pair of
# subjects in 36 (0003 and 0009) looked alike to both networks, and the five tune subjects (10 pairs)
# held none of it (docs/benchmarks.md, section 1). With 20 people (190 pairs) a lookalike pair that
# common is absent with probability (35/36)^190 < 0.5%; with fewer, a gallery can look perfectly
# separated and say nothing.
MIN_CALIBRATION_PEOPLE = 20


@dataclass
class Calibration:
    far_target: float
    threshold: float
    impostor_pairs: int
    genuine_pairs: int
    far_at_threshold: float
    frr_at_threshold: float | None
    resolvable: bool
    people: int
    templates: int

    def to_dict(self) -> dict:
        return asdict(self)


def calibrate_far(
    person_ids: np.ndarray,
    vectors: np.ndarray,
    far: float,
    *,
    max_pairs: int = 5_000_000,
    seed: int = 0,
) -> Calibration:
    """Threshold so that at most `far` of impostor pairs have distance <= threshold.

    `person_ids` int[N], `vectors` float[N, D]. All pairs are used when there are at most `max_pairs`,
    otherwise a seeded random sample of that many pairs.
    """
    if not 0 < far < 1:
        raise ValueError("far must be between 0 and 1")
    person_ids = np.asarray(person_ids)
    n = len(person_ids)
    if n < 2 or len(np.unique(person_ids)) < 2:
        raise ValueError("calibration needs templates of at least two people")
    vectors = np.asarray(vectors, dtype=np.float32)
    total = n * (n - 1) // 2
    if total <= max_pairs:
        i, j = np.triu_indices(n, k=1)
    else:
        rng = np.random.default_rng(seed)
        i = rng.integers(0, n, size=max_pairs)
        j = rng.integers(0, n, size=max_pairs)
        keep = i != j
        i, j = i[keep], j[keep]
    d = np.empty(len(i), dtype=np.float32)
    for s in range(0, len(i), 500_000):  # bounded memory
        a, b = vectors[i[s : s + 500_000]], vectors[j[s : s + 500_000]]
        d[s : s + 500_000] = np.linalg.norm(a - b, axis=1)
    same = person_ids[i] == person_ids[j]
    impostor = np.sort(d[~same])
    genuine = d[same]
    m = len(impostor)
    allowed = int(np.floor(far * m))  # impostor pairs allowed at or below the threshold
    resolvable = allowed >= 1
    if resolvable:
        # Largest threshold with at most `allowed` impostors at or below it: just under the next one.
        threshold = float(np.nextafter(impostor[allowed], np.float32(0)))
    else:
        threshold = float(np.nextafter(impostor[0], np.float32(0)))
    far_at = float(np.count_nonzero(impostor <= threshold) / m)
    frr = float(np.count_nonzero(genuine > threshold) / len(genuine)) if len(genuine) else None
    return Calibration(
        far_target=far,
        threshold=threshold,
        impostor_pairs=m,
        genuine_pairs=int(len(genuine)),
        far_at_threshold=far_at,
        frr_at_threshold=frr,
        resolvable=resolvable,
        people=int(len(np.unique(person_ids))),
        templates=n,
    )


def open_set_rates(
    templates: np.ndarray,
    identities: list[str],
    threshold: float,
    margins: tuple[float, ...],
    seed: int = SPLIT_SEED,
) -> dict:
    """1:N open-set identification on one part: its identities shuffled with `seed`, the first half
    enrolled (one gallery template each: its first photo with a face), the other half strangers. Every
    other photo of an enrolled identity is a genuine probe, every photo of a stranger a stranger probe;
    each is decided by the server's rule (`gallery.threshold.open_set_reason`) at `threshold` and each
    margin of `margins`. Per margin: genuine probes recognised correctly / as someone else / refused as
    ambiguous / refused at the threshold, and strangers recognised as someone (the false-positive
    identification rate, FPIR)."""
    ids = np.array(identities)
    ok = ~np.isnan(templates).any(1)
    names = sorted(set(ids[ok]))
    random.Random(seed).shuffle(names)
    enrolled = set(names[: (len(names) + 1) // 2])
    first: dict[str, int] = {}
    for k in np.where(ok)[0]:
        if ids[k] in enrolled:
            first.setdefault(ids[k], int(k))
    gallery_names = sorted(first)
    if len(gallery_names) < 2:
        return {"gallery": len(gallery_names)}
    gallery = templates[[first[n] for n in gallery_names]]
    probes = np.array([k for k in np.where(ok)[0] if first.get(ids[k]) != k])
    d = np.linalg.norm(templates[probes][:, None, :] - gallery[None], axis=2)
    order = np.argsort(d, axis=1)
    rows = np.arange(len(probes))
    best, second = d[rows, order[:, 0]], d[rows, order[:, 1]]
    nearest = np.array(gallery_names)[order[:, 0]]
    genuine = np.array([ids[k] in enrolled for k in probes])
    out = {
        "gallery": len(gallery_names),
        "genuine_probes": int(genuine.sum()),
        "stranger_probes": int((~genuine).sum()),
        "threshold": threshold,
        "by_margin": {},
    }
    for margin in margins:
        reasons = [
            open_set_reason(float(b), float(s), threshold, margin) for b, s in zip(best, second, strict=True)
        ]
        accepted = np.array([r is None for r in reasons])
        ambiguous = np.array([r == "ambiguous" for r in reasons])
        right = accepted & (nearest == ids[probes])
        g, s = max(1, int(genuine.sum())), max(1, int((~genuine).sum()))
        out["by_margin"][f"{margin:.4f}"] = {
            "margin": margin,
            "genuine_correct": float((right & genuine).sum() / g),
            "genuine_wrong_person": float((accepted & ~right & genuine).sum() / g),
            "genuine_ambiguous": float((ambiguous & genuine).sum() / g),
            "genuine_not_recognised": float((~accepted & ~ambiguous & genuine).sum() / g),
            "stranger_accepted": int((accepted & ~genuine).sum()),
            "fpir": float((accepted & ~genuine).sum() / s),
            "stranger_ambiguous": int((ambiguous & ~genuine).sum()),
        }
    return out
