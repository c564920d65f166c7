"""Recognition on three populations: the pair protocols, the threshold rule and the error rates.

A match threshold fitted on LFW alone (mostly people of European appearance, press photos) let 74% of
different-person pairs of NUAA's webcam frames (East Asian subjects) through. So every built-in
embedder is measured on three populations, each split by identity into a **tune** part (thresholds,
fusion weights, normalisation are chosen there) and a **report** part (only measured):

- `lfw`: tune = LFW View 1's pairsDevTest (its 500 same-person pairs, and every different-person pair
  among its 1,549 images); report = View 2 (pairs.txt, optionally its first folds only): its same-person
  pairs for the false non-match rate, and every different-person pair among its images of people who
  are not in View 1 for the false-match rate (person-disjoint from the tune part; View 2's same-person
  pairs share people with View 1, as LFW's protocol allows).
- `nuaa`: NUAA's live webcam frames (640x480, 9 subjects, 1-2 sessions each). Genuine pairs: frames of
  one subject from *different* sessions (adjacent frames of one session are near-duplicates);
  impostor pairs: frames of different subjects. Subjects are split by `split_nuaa` (seeded).
- `celeba`: CelebA's in-the-wild originals (138 identities, up to 8 photos each): every same-identity
  pair is genuine, every different-identity pair an impostor; identities split by `split_identities`.

Faces: the pipeline's detector and the app's dominant (largest) face; LFW takes the face nearest the
centre (its labelled person is centred). A photo without a face is left out and counted. The default
threshold of an embedder is the largest distance whose false-match rate is at most `target_fmr` on
*each* tune part (the strictest population decides: `threshold_for_all`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from whosthat.errors import BadInputError

#: The seed of every identity split here (NUAA subjects, CelebA identities, impostor subsampling).
SPLIT_SEED = 11
POPULATIONS = ("lfw", "nuaa", "celeba")
PARTS = ("tune", "report")
#: Impostor pairs beyond this many are subsampled (seeded); the count used is reported.
MAX_IMPOSTOR_PAIRS = 1_000_000


@dataclass
class PairSet:
    """One part of one population: files, an identity per file, and the genuine and impostor pairs
    (indices into `files`)."""

    population: str
    part: str
    files: list[Path]
    identities: list[str]
    genuine: np.ndarray
    impostor: np.ndarray
    choose: str = "largest"
    notes: list[str] = field(default_factory=list)

    def describe(self) -> dict:
        ids = np.array(self.identities)
        imp_ids = {
            tuple(sorted(p)) for p in zip(ids[self.impostor[:, 0]], ids[self.impostor[:, 1]], strict=True)
        }
        return {
            "population": self.population,
            "part": self.part,
            "images": len(self.files),
            "identities": len(set(self.identities)),
            "genuine_pairs": int(len(self.genuine)),
            "impostor_pairs": int(len(self.impostor)),
            "impostor_identity_pairs": len(imp_ids),
            "notes": self.notes,
        }


# -- datasets -------------------------------------------------------------------------------------


def _dataset_dir(data: Path | None, name: str, marker: str) -> Path:
    """`data` itself or `data/name`, whichever holds `marker`; BadInputError otherwise."""
    if data is None:
        raise BadInputError(f"no {name} data: pass --data DIR or set WHOSTHAT_DATA")
    root = Path(data)
    for candidate in (root, root / name):
        if (candidate / marker).exists():
            return candidate
    raise BadInputError(f"{root} has no {name} dataset (expected {marker} in it or in {root / name})")


def nuaa_live_frames(root: Path) -> list[tuple[Path, str, str]]:
    """(path, subject, session) of every live frame whose name has a session field (`datasets.nuaa`)."""
    from whosthat.datasets.nuaa import read_nuaa

    out = [(f.path, f.subject, f.session) for f in read_nuaa(root) if f.attack == 0 and f.session]
    if not out:
        raise BadInputError(f"{root}: no NUAA live frames under ClientRaw/")
    return out


def split_nuaa(subject_sessions: dict[str, set[str]], seed: int = SPLIT_SEED) -> dict[str, list[str]]:
    """{"tune", "report": subjects}: subjects recorded in two or more sessions (the only ones with
    genuine pairs) are shuffled with `seed` and dealt alternately, tune first; so are the one-session
    subjects (impostors only). Each part so gets genuine pairs and about half the subjects."""
    rng = random.Random(seed)
    parts: dict[str, list[str]] = {"tune": [], "report": []}
    for group in (
        sorted(s for s, sessions in subject_sessions.items() if len(sessions) > 1),
        sorted(s for s, sessions in subject_sessions.items() if len(sessions) <= 1),
    ):
        rng.shuffle(group)
        for i, subject in enumerate(group):
            parts[PARTS[i % 2]].append(subject)
    return {k: sorted(v) for k, v in parts.items()}


def split_identities(identities: list[str], seed: int = SPLIT_SEED) -> dict[str, list[str]]:
    """{"tune", "report": identities}: the distinct identities shuffled with `seed`, first half tune."""
    unique = sorted(set(identities))
    random.Random(seed).shuffle(unique)
    half = (len(unique) + 1) // 2
    return {"tune": sorted(unique[:half]), "report": sorted(unique[half:])}


def celeba_photos(root: Path) -> list[tuple[Path, str]]:
    """(path, identity) of every listed photo that is there (`datasets.celeba`, in its file's order)."""
    from whosthat.datasets.celeba import read_celeba

    identity, _ = read_celeba(root)
    out = [(root / rel, ident) for rel, ident in identity.items() if (root / rel).is_file()]
    if not out:
        raise BadInputError(f"{root}: none of the photos listed in identity_CelebA.txt is there")
    return out


# -- pair sets --------------------------------------------------------------------------------------


def _all_pairs(identities: list[str], sessions: list[str] | None, seed: int, max_impostors: int):
    """Genuine pairs (same identity; with `sessions`, different sessions only) and impostor pairs
    (different identities) among all pairs i < j; impostors subsampled to `max_impostors`."""
    ids = np.array(identities)
    i, j = np.triu_indices(len(ids), k=1)
    same = ids[i] == ids[j]
    genuine = same if sessions is None else same & (np.array(sessions)[i] != np.array(sessions)[j])
    gen = np.stack([i[genuine], j[genuine]], 1)
    imp = np.stack([i[~same], j[~same]], 1)
    if len(imp) > max_impostors:
        keep = np.sort(np.random.default_rng(seed).choice(len(imp), max_impostors, replace=False))
        imp = imp[keep]
    return gen, imp


def nuaa_pairs(data: Path | None, part: str, seed: int = SPLIT_SEED) -> PairSet:
    root = _dataset_dir(data, "nuaa", "ClientRaw")
    frames = nuaa_live_frames(root)
    sessions: dict[str, set[str]] = {}
    for _, subject, session in frames:
        sessions.setdefault(subject, set()).add(session)
    keep = set(sessions) if part == "all" else set(split_nuaa(sessions, seed)[part])
    frames = [f for f in frames if f[1] in keep]
    gen, imp = _all_pairs([f[1] for f in frames], [f[2] for f in frames], seed, MAX_IMPOSTOR_PAIRS)
    return PairSet(
        "nuaa",
        part,
        [f[0] for f in frames],
        [f[1] for f in frames],
        gen,
        imp,
        notes=[
            f"subjects {', '.join(sorted(keep))} (split seed {seed})",
            "genuine pairs: different sessions",
        ],
    )


def celeba_pairs(data: Path | None, part: str, seed: int = SPLIT_SEED) -> PairSet:
    root = _dataset_dir(data, "celeba", "identity_CelebA.txt")
    photos = celeba_photos(root)
    ids = [p[1] for p in photos]
    keep = set(ids) if part == "all" else set(split_identities(ids, seed)[part])
    photos = [p for p in photos if p[1] in keep]
    gen, imp = _all_pairs([p[1] for p in photos], None, seed, MAX_IMPOSTOR_PAIRS)
    return PairSet(
        "celeba",
        part,
        [p[0] for p in photos],
        [p[1] for p in photos],
        gen,
        imp,
        notes=[f"{len(keep)} identities (split seed {seed})"],
    )


def lfw_pairs(
    data: Path | None, part: str, seed: int = SPLIT_SEED, folds: tuple[int, ...] = tuple(range(10))
) -> PairSet:
    """LFW's tune part: the images of View 1's pairsDevTest (its 500 same-person pairs are the genuine
    pairs, every different-person pair among its images an impostor pair). Report part: the images of
    the folds `folds` (0-based) of View 2's pairs.txt (its same-person pairs are the genuine pairs; impostor
    pairs: every different-person pair among those images of people absent from View 1)."""
    from whosthat.datasets import lfw

    root = lfw.lfw_root(data)
    images = root / lfw.IMAGES_DIR
    view1 = lfw.read_pairs(root, "pairsDevTrain.txt") + lfw.read_pairs(root, "pairsDevTest.txt")
    person = lambda rel: rel.split("/")[0]  # noqa: E731
    if part == "tune":
        dev_test = lfw.read_pairs(root, "pairsDevTest.txt")
        files = sorted({x for p in dev_test for x in (p.path_a, p.path_b)})
        index = {f: k for k, f in enumerate(files)}
        ids = [person(f) for f in files]
        gen = np.array([[index[p.path_a], index[p.path_b]] for p in dev_test if p.same])
        _, imp = _all_pairs(ids, None, seed, MAX_IMPOSTOR_PAIRS)
        notes = [
            "View 1 pairsDevTest: genuine = its 500 same-person pairs; impostor = every different-person pair "
            "among its images"
        ]
    else:
        view2 = [p for p in lfw.read_pairs(root, "pairs.txt") if p.fold in folds]
        v1_people = {person(x) for p in view1 for x in (p.path_a, p.path_b)}
        # Every image of those View 2 folds, so that the official accuracy is computed on the same templates.
        files = sorted({x for p in view2 for x in (p.path_a, p.path_b)})
        index = {f: k for k, f in enumerate(files)}
        ids = [person(f) for f in files]
        gen = np.array([[index[p.path_a], index[p.path_b]] for p in view2 if p.same])
        fresh_idx = np.array([k for k, f in enumerate(files) if person(f) not in v1_people])
        _, imp_local = _all_pairs([ids[k] for k in fresh_idx], None, seed, MAX_IMPOSTOR_PAIRS)
        imp = fresh_idx[imp_local]
        notes = [
            f"View 2 pairs.txt folds {','.join(str(k + 1) for k in sorted(folds))}: genuine = their same-person pairs; impostor = every "
            f"different-person pair among their images of the {len({ids[k] for k in fresh_idx})} people "
            "absent from View 1"
        ]
    return PairSet("lfw", part, [images / f for f in files], ids, gen, imp, choose="central", notes=notes)


def pair_set(
    population: str,
    part: str,
    data: Path | None = None,
    seed: int = SPLIT_SEED,
    lfw_folds: tuple[int, ...] = tuple(range(10)),
) -> PairSet:
    """The pair set of `population` ("lfw", "nuaa", "celeba"), `part` ("tune", "report"). `data` is the
    dataset folder or the folder holding it (default WHOSTHAT_DATA); `lfw_folds`: the View 2 folds
    (0-based) LFW's report part uses."""
    if part not in PARTS and not (part == "all" and population != "lfw"):
        raise BadInputError(f"part must be one of {', '.join(PARTS)} (or all, for nuaa and celeba)")
    makers = {"lfw": lfw_pairs, "nuaa": nuaa_pairs, "celeba": celeba_pairs}
    if population not in makers:
        raise BadInputError(f"unknown population {population!r}; choose from {', '.join(POPULATIONS)}")
    if population == "lfw":
        return lfw_pairs(data, part, seed, lfw_folds)
    return makers[population](data, part, seed)


# -- measuring ------------------------------------------------------------------------------------


def pair_distances(templates: np.ndarray, pairs: np.ndarray, probes: np.ndarray | None = None) -> np.ndarray:
    """Euclidean distance of each pair (NaN where a file had no face): between `templates[a]` and
    `templates[b]`, or, with `probes`, between the gallery-side template `templates[a]` and the
    probe-side one `probes[b]` (the two made differently, e.g. from the kept chip and from the photo)."""
    if len(pairs) == 0:
        return np.zeros(0)
    probes = templates if probes is None else probes
    out = np.empty(len(pairs))
    for start in range(0, len(pairs), 200_000):
        p = pairs[start : start + 200_000]
        out[start : start + len(p)] = np.linalg.norm(templates[p[:, 0]] - probes[p[:, 1]], axis=1)
    return out


def threshold_at_fmr(impostor_distances: np.ndarray, target_fmr: float) -> float:
    """The largest distance threshold t with at most `target_fmr` of the impostor pairs at d <= t
    (halfway to the next impostor distance, never above it)."""
    d = np.sort(np.asarray(impostor_distances, np.float64)[~np.isnan(impostor_distances)])
    if d.size == 0:
        raise ValueError("no impostor pairs")
    allowed = int(np.floor(target_fmr * d.size))
    if allowed >= d.size:
        return float(d[-1])
    below = d[allowed - 1] if allowed > 0 else d[0] - 0.02
    return float((below + d[allowed]) / 2)


def error_rates(genuine: np.ndarray, impostor: np.ndarray, threshold: float) -> dict:
    """FMR (impostor pairs at d <= threshold) and FNMR (genuine pairs at d > threshold), with counts
    and a 95% upper bound on the FMR (exact binomial; 3/n when no false match was seen)."""
    g, i = genuine[~np.isnan(genuine)], impostor[~np.isnan(impostor)]
    false_matches = int((i <= threshold).sum())
    misses = int((g > threshold).sum())
    return {
        "threshold": round(float(threshold), 4),
        "fmr": false_matches / max(len(i), 1),
        "fnmr": misses / max(len(g), 1),
        "false_matches": false_matches,
        "false_non_matches": misses,
        "impostor_pairs": int(len(i)),
        "genuine_pairs": int(len(g)),
        "fmr_upper_95": fmr_upper_bound(false_matches, len(i)),
    }


def fmr_upper_bound(errors: int, trials: int, confidence: float = 0.95) -> float:
    """One-sided Clopper-Pearson upper bound of a rate with `errors` in `trials` (independent trials:
    pairs sharing people are not, so read it as optimistic)."""
    from scipy.stats import beta

    if trials == 0:
        return 1.0
    if errors >= trials:
        return 1.0
    return float(beta.ppf(confidence, errors + 1, trials - errors))


def threshold_for_all(impostors: dict[str, np.ndarray], target_fmr: float) -> tuple[float, dict[str, float]]:
    """The default threshold rule: per population the largest threshold at FMR <= target, then the
    smallest of them (the strictest population decides). -> (threshold, {population: its threshold})."""
    each = {name: threshold_at_fmr(d, target_fmr) for name, d in impostors.items()}
    return min(each.values()), each


def identification_margins(templates: np.ndarray, identities: list[str], threshold: float) -> dict:
    """1:N with one gallery template per identity (its first photo) and the other photos as probes:
    how far the second-best identity is behind the best one ("margin", a distance) for correct and
    for wrong matches under the threshold. Gives the numbers a margin rule is chosen from."""
    ids = np.array(identities)
    ok = ~np.isnan(templates).any(1)
    first: dict[str, int] = {}
    for k in np.where(ok)[0]:
        first.setdefault(ids[k], int(k))
    if len(first) < 3:
        return {"probes": 0}
    names = sorted(first)
    gallery = templates[[first[n] for n in names]]
    probes = [k for k in np.where(ok)[0] if first[ids[k]] != k]
    d = np.linalg.norm(templates[probes][:, None, :] - gallery[None], axis=2)
    order = np.argsort(d, axis=1)
    best, second = d[np.arange(len(probes)), order[:, 0]], d[np.arange(len(probes)), order[:, 1]]
    correct_id = np.array(names)[order[:, 0]] == ids[probes]
    under = best <= threshold
    margin = second - best
    good, bad = margin[under & correct_id], margin[under & ~correct_id]
    out = {
        "probes": len(probes),
        "gallery": len(names),
        "correct_under_threshold": int(len(good)),
        "wrong_under_threshold": int(len(bad)),
        "margin_p01_correct": float(np.percentile(good, 1)) if len(good) else None,
        "margin_p05_correct": float(np.percentile(good, 5)) if len(good) else None,
        "margin_max_wrong": float(bad.max()) if len(bad) else None,
    }
    return out
