"""Threshold calibration from the enrolled gallery: the distance at which a target false-accept rate
(FAR) is reached on impostor pairs (templates of two different people).

With n impostor pairs, FARs below about 1/n cannot be resolved: the report says so, and the returned
threshold is then the smallest impostor distance seen (an optimistic bound, not an estimate).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

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
