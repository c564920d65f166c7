"""Evaluation of the shipped liveness models with onnxruntime (no torch): `whosthat eval eyes|pad`.

Eyes: accuracy, ROC AUC and the confusion matrix at the model's threshold, on any CEW-layout folder.
PAD: ISO/IEC 30107-3 error rates at the model's operating threshold (chosen on validation data at
training time, never here): APCER = share of attack presentations classified live, BPCER = share of
live (bona fide) presentations classified attack, ACER = (APCER + BPCER) / 2. A frame in which no face
is found counts as a rejection (attack presentations rejected, bona fide ones rejected too: BPCER).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from whosthat.errors import BadInputError


def _roc_plot(y: np.ndarray, score: np.ndarray, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(y, score)
    fig, ax = plt.subplots(figsize=(4, 4))
    ax.plot(fpr, tpr)
    ax.plot([0, 1], [0, 1], ":", color="gray")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def evaluate_eyes(
    data: Path, model: Path | None = None, out: Path | None = None, split: str = "all", seed: int = 0
) -> dict:
    """split: "all", or "train" / "validation" / "test" of the face-disjoint split `whosthat train eyes`
    draws with `seed` (so the held-out test faces can be scored again with this command)."""
    import cv2

    from whosthat.liveness.eyes import DEFAULT_EYE_MODEL, EyeStateClassifier, list_cew
    from whosthat.liveness.train_eyes import metrics

    clf = EyeStateClassifier(model or DEFAULT_EYE_MODEL)
    items = list_cew(data)
    if split != "all":
        from whosthat.liveness.train_eyes import group_of, split_groups

        names = ("train", "validation", "test")
        if split not in names:
            raise BadInputError(f"--split must be all, {', '.join(names)}")
        which = split_groups([group_of(face) for _, _, _, face in items], seed)
        items = [it for it, k in zip(items, which, strict=True) if names[k] == split]
    patches, labels, faces, unreadable = [], [], [], 0
    for path, label, _side, face in items:
        img = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        if img is None:
            unreadable += 1
            continue
        patches.append(img)
        labels.append(label)
        faces.append(face)
    if not patches:
        raise BadInputError(f"no readable eye image in {data}")
    y = np.array(labels)
    prob = np.concatenate([clf.closed_prob(patches[i : i + 512]) for i in range(0, len(patches), 512)])
    scores = metrics(prob, y, clf.threshold, faces=faces)
    report = {
        "model": clf.name,
        "model_path": str(clf.path),
        "data": str(data),
        "split": split,
        "seed": seed,
        "n": int(len(y)),
        "n_closed": int(y.sum()),
        "unreadable": unreadable,
    } | scores
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
        if 0 < y.sum() < len(y):
            _roc_plot(y, prob, out / "roc.png", f"eye state ({clf.name})")
    return report


def nuaa_files(data: Path, subjects: set[str] | None = None) -> list[tuple[Path, int, dict]]:
    """(path, attack 0/1, fields) for a NUAA-layout folder.

    Uses the list files (`client_*raw.txt`, `imposter_*raw.txt`) when present, else every jpg under
    ClientRaw/ and ImposterRaw/. Fields come from the name ID_glasses_pos_session_picNo.jpg.
    """
    out = []
    for folder, attack, lists in (("ClientRaw", 0, "client_"), ("ImposterRaw", 1, "imposter_")):
        root = data / folder
        if not root.is_dir():
            continue
        listed = sorted(data.glob(f"{lists}*raw.txt"))
        if listed:
            rels = []
            for lf in listed:
                rels += [
                    ln.strip().replace("\\", "/")
                    for ln in lf.read_text(errors="replace").splitlines()
                    if ln.strip()
                ]
            paths = [root / r for r in rels]
            paths = [p for p in paths if p.is_file()]
        else:
            paths = sorted(root.rglob("*.jpg"))
        for p in paths:
            fields = parse_nuaa_name(p.name)
            if subjects and fields["subject"] not in subjects:
                continue
            out.append((p, attack, fields))
    if not out:
        raise BadInputError(f"{data}: no NUAA-layout images (ClientRaw/, ImposterRaw/)")
    return out


def parse_nuaa_name(name: str) -> dict:
    parts = Path(name).stem.split("_")
    if len(parts) != 5:
        return {"subject": parts[0], "glasses": "", "pos": "", "session": "", "pic": -1}
    return {
        "subject": parts[0],
        "glasses": parts[1],
        "pos": parts[2],
        "session": parts[3],
        "pic": int(parts[4]) if parts[4].isdigit() else -1,
    }


def pad_error_rates(attack: np.ndarray, score: np.ndarray, threshold: float) -> dict:
    """APCER/BPCER/ACER at `threshold` (score >= threshold -> attack); NaN score = no face = rejected."""
    rejected = np.isnan(score) | (np.nan_to_num(score, nan=1.0) >= threshold)
    n_attack = int((attack == 1).sum())
    n_live = int((attack == 0).sum())
    apcer = float((~rejected & (attack == 1)).sum() / n_attack) if n_attack else float("nan")
    bpcer = float((rejected & (attack == 0)).sum() / n_live) if n_live else float("nan")
    return {"apcer": apcer, "bpcer": bpcer, "acer": (apcer + bpcer) / 2}


def score_pad_images(paths: list[Path], detector=None, pad=None, progress: bool = True) -> np.ndarray:
    """Attack probability per image (NaN where no face is found)."""
    from whosthat.liveness.pad import get_pad_detector
    from whosthat.vision.detect import get_detector
    from whosthat.vision.image import decode_image

    detector = detector or get_detector("mediapipe")
    pad = pad or get_pad_detector()
    if pad is None:
        raise BadInputError("no print-attack model: train one with `whosthat train pad`")
    scores = np.full(len(paths), np.nan, np.float32)
    for i, p in enumerate(paths):
        rgb = decode_image(p)
        faces = detector.detect(rgb)
        if faces:
            scores[i] = pad.attack_prob_box(rgb, faces[0].box)
        if progress and (i + 1) % 200 == 0:
            print(f"scored {i + 1}/{len(paths)}", file=sys.stderr, flush=True)
    return scores


def evaluate_pad(
    data: Path, model: Path | None = None, out: Path | None = None, subjects: str | None = None
) -> dict:
    from sklearn.metrics import roc_auc_score

    from whosthat.liveness.pad import DEFAULT_PAD_MODEL, PrintAttackDetector

    pad = PrintAttackDetector(model or DEFAULT_PAD_MODEL)
    wanted = {s.strip() for s in subjects.split(",")} if subjects else None
    files = nuaa_files(data, wanted)
    attack = np.array([a for _, a, _ in files])
    scores = score_pad_images([p for p, _, _ in files], pad=pad)
    found = ~np.isnan(scores)
    rates = pad_error_rates(attack, scores, pad.threshold)
    auc = (
        float(roc_auc_score(attack[found], scores[found]))
        if len(set(attack[found].tolist())) == 2
        else float("nan")
    )
    report = {
        "model": pad.name,
        "model_path": str(pad.path),
        "data": str(data),
        "subjects": sorted(wanted) if wanted else "all",
        "n_live": int((attack == 0).sum()),
        "n_attack": int((attack == 1).sum()),
        "no_face": int((~found).sum()),
        "threshold": pad.threshold,
        **rates,
        "auc": auc,
    }
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
        if len(set(attack[found].tolist())) == 2:
            _roc_plot(attack[found], scores[found], out / "roc.png", f"print attack ({pad.name})")
    return report
