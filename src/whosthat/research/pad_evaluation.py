"""How well the print-attack detectors tell live faces from printed photos: `whosthat eval pad`, and the
error rates of `whosthat train pad`.

ISO/IEC 30107-3 error rates at an operating threshold: APCER = share of attack presentations classified
live, BPCER = share of live (bona fide) presentations classified attack, ACER = (APCER + BPCER) / 2. A
frame in which no face is found counts as rejected (an attack presentation rejected, a bona fide one
rejected too: BPCER).

The protocol of `eval pad` (`evaluate_pad`), on the NUAA frames at hand (the official training lists;
NUAA's official test split is kept back):
- The subject split is the NUAA CNN's own (`pad.json` beside its ONNX file, else `datasets.nuaa`'s seed-0
  split): it trained on the "train" subjects (and, when `whosthat train pad --sessions` said so, only on
  those sessions) and chose its threshold on the "validation" subjects.
- Candidates: MiniFASNet (both networks fused, as released), the NUAA CNN, and their fusion (mean attack
  probability); each MiniFASNet network alone is reported too, for information. Every candidate scores every frame the way the challenge does:
  the face mesh's box mapped onto the detector's box convention (`liveness.pad.box_from_mesh`).
- Operating thresholds are chosen on training-side data only: the equal-error threshold on the
  validation subjects' frames (of the CNN's training sessions).
- Reported on data outside every training set: the test subjects (in sessions the CNN did not train on,
  when it trained on some only), per subject and session, per frame and per attempt (the mean score of
  `attempt_frames` consecutive frames: what the challenge fuses). MiniFASNet's training data are not
  published; NUAA may be among them, so its numbers here cannot show that it generalises, only that it
  works on these cameras, prints and rooms.
- The box maps are checked: each detector's verdicts on its own detector's box and on the mapped mesh box
  are compared on the frames of subjects the maps were not fitted on.

Runs the ONNX models with onnxruntime, exactly as served; nothing here imports torch, so `eval pad` works
without the [train] extra.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from whosthat.datasets import nuaa
from whosthat.errors import BadInputError
from whosthat.research.reporting import write_evaluation
from whosthat.vision.evaluation import roc


def pad_error_rates(attack: np.ndarray, score: np.ndarray, threshold: float) -> dict:
    """{"apcer", "bpcer", "acer"} at `threshold` (score >= threshold -> attack) for labels `attack`
    (1 = attack presentation); a NaN score (no face) is rejected. A rate is NaN when its class is absent."""
    rejected = np.isnan(score) | (np.nan_to_num(score, nan=1.0) >= threshold)
    n_attack = int((attack == 1).sum())
    n_live = int((attack == 0).sum())
    apcer = float((~rejected & (attack == 1)).sum() / n_attack) if n_attack else float("nan")
    bpcer = float((rejected & (attack == 0)).sum() / n_live) if n_live else float("nan")
    return {"apcer": apcer, "bpcer": bpcer, "acer": (apcer + bpcer) / 2}


def eer_threshold(attack: np.ndarray, score: np.ndarray) -> float:
    """Threshold where APCER ~ BPCER on (validation) data: the middle of the best range on a 0.001 grid.

    When the validation data separate perfectly, every threshold between the highest live score and the
    lowest attack score is an equal-error point; the middle of that range leaves the most margin.
    """
    grid = np.round(np.linspace(0.001, 0.999, 999), 3)
    costs = []
    for t in grid:
        r = pad_error_rates(attack, score, float(t))
        costs.append(abs(r["apcer"] - r["bpcer"]) + r["acer"])
    costs = np.array(costs)
    best = grid[costs <= costs.min() + 1e-9]
    return float(np.median(best))


def pad_scores(attack: np.ndarray, score: np.ndarray, threshold: float) -> dict:
    """`pad_error_rates` plus the ROC AUC of the scored frames (NaN scores left out; NaN for one class),
    the threshold and the counts: {"apcer", "bpcer", "acer", "auc", "threshold", "n_live", "n_attack"}."""
    return pad_error_rates(attack, score, threshold) | {
        "auc": roc(attack, score).auc,
        "threshold": float(threshold),
        "n_live": int((attack == 0).sum()),
        "n_attack": int((attack == 1).sum()),
    }


# ------------------------------------------------------------------ the NUAA protocol of `eval pad`
ATTEMPT_FRAMES = 8  # frames fused per attempt: about what a challenge scores (liveness.pad_fusion)
FUSION = "minifasnet+nuaa-cnn"
# The signals the challenge may use; each MiniFASNet network alone is reported for information (the
# release fuses them, and one ONNX call runs both).
CANDIDATES = ("minifasnet", "nuaa-cnn", FUSION)


def nuaa_model_split(nuaa_model: Path, subjects: list[str]) -> tuple[dict, list[str] | None]:
    """(subject split, training sessions or None for all) of the NUAA CNN at `nuaa_model`: from the
    `pad.json` that `whosthat train pad` wrote beside it, else the seed-0 split of `datasets.nuaa`."""
    report = Path(nuaa_model).with_name("pad.json")
    if report.is_file():
        meta = json.loads(report.read_text())
        if "split" in meta:
            return meta["split"], meta.get("train_sessions")
    return nuaa.split_subjects(subjects, 0), None


def attempts(frames: list, size: int) -> list[list[int]]:
    """Indices of runs of `size` consecutive frames (by picture number) of one subject, session, class,
    glasses and position: the frames one attempt at the kiosk would fuse. A shorter remainder is dropped."""
    groups: dict[tuple, list[tuple[int, int]]] = {}
    for i, f in enumerate(frames):
        groups.setdefault((f.subject, f.session, f.attack, f.glasses, f.position), []).append((f.picture, i))
    out = []
    for key in sorted(groups):
        idx = [i for _, i in sorted(groups[key])]
        out += [idx[k : k + size] for k in range(0, len(idx) - size + 1, size)]
    return out


def _attempt_scores(score: np.ndarray, runs: list[list[int]]) -> np.ndarray:
    """Mean of the scored (non-NaN) frames of each run; NaN (rejected) when none was scored."""
    out = np.full(len(runs), np.nan)
    for k, idx in enumerate(runs):
        s = score[idx]
        if np.isfinite(s).any():
            out[k] = float(np.nanmean(s))
    return out


def _rounded(d: dict) -> dict:
    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in d.items()}


def _groups(frames: list, mask: np.ndarray, attack: np.ndarray, score: np.ndarray, threshold: float) -> list:
    """Error rates per subject and session of the frames in `mask`."""
    rows = []
    for subject, session in sorted({(f.subject, f.session) for f, m in zip(frames, mask, strict=True) if m}):
        g = mask & np.array([f.subject == subject and f.session == session for f in frames])
        r = pad_error_rates(attack[g], score[g], threshold)
        rows.append(
            _rounded(
                {
                    "subject": subject,
                    "session": session,
                    "n_live": int((attack[g] == 0).sum()),
                    "n_attack": int((attack[g] == 1).sum()),
                }
                | r
            )
        )
    return rows


def kiosk_jpeg(rgb: np.ndarray, quality: int) -> np.ndarray:
    """`rgb` as the kiosk page sends it: JPEG-encoded at `quality` (kiosk.js: 0.85) and decoded again."""
    import cv2

    ok, data = cv2.imencode(".jpg", rgb[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    return cv2.imdecode(data, cv2.IMREAD_COLOR)[:, :, ::-1].copy()


def score_frames(faces: list, detector, source: str = "mesh", jpeg_quality: int | None = None) -> np.ndarray:
    """float32[N] attack probability of each frame (NaN without a face): the detector's crop of the mesh box
    mapped onto its convention (`source` "mesh", as the challenge does), or of its own detector's box
    (`source` "own"). A MiniFASNet detector gives float32[N, 3] (fused, V2, V1SE). With `jpeg_quality`
    every frame is first re-encoded as the kiosk page encodes it (`kiosk_jpeg`)."""
    from whosthat.liveness.pad import MiniFASNetDetector, box_from_mesh
    from whosthat.vision.image import decode_image

    multi = isinstance(detector, MiniFASNetDetector)
    out = np.full((len(faces), 3) if multi else len(faces), np.nan, np.float32)
    for i, f in enumerate(faces):
        if source == "mesh":
            box = box_from_mesh(f.mesh, detector.box_convention) if f.mesh is not None else None
        else:
            box = f.box(detector.box_convention)
        if box is None:
            continue
        rgb = decode_image(f.frame.path)
        if jpeg_quality is not None:
            rgb = kiosk_jpeg(rgb, jpeg_quality)
        if multi:
            out[i] = detector.attack_probs(detector.crops(rgb, box)[None])[0]
        else:
            out[i] = detector.attack_prob_box(rgb, box)
    return out


def evaluate_pad(
    data: Path,
    out: Path | None = None,
    *,
    minifasnet: Path | None = None,
    nuaa_model: Path | None = None,
    retinaface: Path | None = None,
    attempt_frames: int = ATTEMPT_FRAMES,
    jpeg_quality: int | None = None,
    progress: bool = True,
) -> dict:
    """The protocol in this module's docstring on the NUAA-layout folder `data`, for the MiniFASNet model
    `minifasnet` and the NUAA CNN `nuaa_model` (ONNX files; default the shipped ones). `retinaface`: the
    folder of MiniFASNet's RetinaFace detector, for the box-map check (left out without it). With `out`,
    writes report.json, report.md and roc.png there. `jpeg_quality`: score the frames as the kiosk page
    sends them (JPEG at that quality) instead of as stored."""
    from whosthat.liveness.pad import DEFAULT_PAD_MODEL, MINIFASNET_MODEL, MiniFASNetDetector, open_pad_model
    from whosthat.research.pad_frames import face_boxes

    fas = open_pad_model(minifasnet or MINIFASNET_MODEL)
    cnn = open_pad_model(nuaa_model or DEFAULT_PAD_MODEL)
    if not isinstance(fas, MiniFASNetDetector) or isinstance(cnn, MiniFASNetDetector):
        raise BadInputError("--minifasnet must be a MiniFASNet model and --nuaa-model a NUAA CNN")
    frames = nuaa.read_nuaa(data)
    split, sessions = nuaa_model_split(cnn.path, [f.subject for f in frames])
    faces = face_boxes(frames, retinaface, progress=progress)
    attack = np.array([f.attack for f in frames])
    subject = np.array([f.subject for f in frames])
    session = np.array([f.session for f in frames])
    seen_session = np.isin(session, sessions) if sessions else np.ones(len(frames), bool)
    dev = np.isin(subject, split["validation"]) & seen_session
    held_out = (
        np.isin(subject, split["test"]) & ~seen_session if sessions else np.isin(subject, split["test"])
    )
    if not dev.any() or not held_out.any():
        raise BadInputError(f"{data}: no frames of the validation or test subjects {split}")

    fas_scores = score_frames(faces, fas, jpeg_quality=jpeg_quality)
    cnn_scores = score_frames(faces, cnn, jpeg_quality=jpeg_quality)
    candidates = {
        "minifasnet": fas_scores[:, 0],
        "minifasnet-v2": fas_scores[:, 1],
        "minifasnet-v1se": fas_scores[:, 2],
        "nuaa-cnn": cnn_scores,
        FUSION: 0.5 * (fas_scores[:, 0] + cnn_scores),
    }
    runs = attempts(frames, attempt_frames)
    run_attack = np.array([attack[r[0]] for r in runs])
    run_held_out = np.array([held_out[r[0]] for r in runs])
    results = {}
    for name, score in candidates.items():
        threshold = eer_threshold(attack[dev], score[dev])
        run_scores = _attempt_scores(score, runs)
        live, printed = score[held_out & (attack == 0)], score[held_out & (attack == 1)]
        results[name] = {
            "threshold": round(threshold, 4),
            # How close the held-out frames came to the threshold from their right side (negative: crossed).
            "held_out_margin": round(
                float(min(threshold - np.nanmax(live), np.nanmin(printed) - threshold)), 4
            ),
            "development": _rounded(pad_scores(attack[dev], score[dev], threshold)),
            "held_out": _rounded(pad_scores(attack[held_out], score[held_out], threshold)),
            "held_out_attempts": _rounded(
                pad_scores(run_attack[run_held_out], run_scores[run_held_out], threshold)
            ),
            "held_out_groups": _groups(frames, held_out, attack, score, threshold),
        }
        if name.startswith("minifasnet") and name != FUSION:
            # MiniFASNet trained on none of these subjects, as far as its release says.
            results[name]["all_groups"] = _groups(
                frames, np.ones(len(frames), bool), attack, score, threshold
            )
    chosen = min(
        CANDIDATES,
        key=lambda n: (
            results[n]["held_out"]["acer"],
            results[n]["held_out_attempts"]["acer"],
            -results[n]["held_out_margin"],
        ),
    )
    report = {
        "data": str(data),
        "frames": len(frames),
        "no_face": int(sum(f.mesh is None for f in faces)),
        "models": {"minifasnet": str(fas.path), "nuaa-cnn": str(cnn.path)},
        "split": split,
        "nuaa_cnn_sessions": sessions or "all",
        "development": f"validation subjects {', '.join(split['validation'])}"
        + (f", sessions {', '.join(sessions)}" if sessions else ""),
        "held_out": f"test subjects {', '.join(split['test'])}"
        + (f", sessions other than {', '.join(sessions)}" if sessions else ", all sessions"),
        "attempt_frames": attempt_frames,
        "jpeg_quality": jpeg_quality,
        "candidates": results,
        "chosen": chosen,
        "chosen_rule": f"of {', '.join(CANDIDATES)}: the lowest held-out ACER per frame, then per attempt, then "
        "the widest held-out margin",
    }
    if retinaface is not None:
        fit_subjects = split["train"]
        checked = ~np.isin(subject, fit_subjects)
        report["box_agreement"] = {
            "checked_on": f"frames of subjects {', '.join(sorted(set(subject[checked])))} (the maps were fitted on "
            f"{', '.join(fit_subjects)})",
            "minifasnet": box_agreement(
                fas_scores[:, fas.column],
                score_frames(faces, fas, "own")[:, fas.column],
                fas.threshold,
                checked,
            ),
            "nuaa-cnn": box_agreement(cnn_scores, score_frames(faces, cnn, "own"), cnn.threshold, checked),
        }
    if out is not None:
        write_report(report, candidates, attack, held_out, Path(out))
    return report


def box_agreement(mapped: np.ndarray, own: np.ndarray, threshold: float, mask: np.ndarray) -> dict:
    """How often the verdict (attack at `threshold`) on the mapped mesh box equals the one on the detector's
    own box, over the frames of `mask` where both boxes exist; and the median |score difference|."""
    both = mask & np.isfinite(mapped) & np.isfinite(own)
    same = (mapped[both] >= threshold) == (own[both] >= threshold)
    return _rounded(
        {
            "frames": int(both.sum()),
            "agreement": float(same.mean()) if both.any() else float("nan"),
            "disagreements": int((~same).sum()),
            "median_abs_diff": float(np.median(np.abs(mapped[both] - own[both])))
            if both.any()
            else float("nan"),
            "threshold": float(threshold),
        }
    )


def _pct(v) -> str:
    return "n/a" if v is None or v != v else f"{100 * v:.2f}%"


def report_markdown(report: dict, groups_of: tuple[str, ...] | None = None) -> str:
    """The report as Markdown tables: each candidate's threshold and error rates, then per subject/session
    (of every candidate, or of those in `groups_of`), then the box-map check."""
    lines = [
        f"# Print-attack detection on NUAA ({report['data']})",
        "",
        f"Thresholds: equal-error point on the {report['development']} (training side). Reported on the "
        f"{report['held_out']} (outside every training set)"
        + (
            f", every frame re-encoded as JPEG at quality {report['jpeg_quality']} as the kiosk sends it"
            if report.get("jpeg_quality")
            else ""
        )
        + f"; attempts = {report['attempt_frames']} consecutive "
        "frames fused by their mean score. Frames without a face (mesh): "
        f"{report['no_face']} of {report['frames']}.",
        "",
        "| candidate | threshold | dev APCER | dev BPCER | held-out live / attack | APCER | BPCER | ACER | AUC | "
        "margin | attempts live / attack | attempt APCER | attempt BPCER |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, c in report["candidates"].items():
        d, h, a = c["development"], c["held_out"], c["held_out_attempts"]
        star = "**" if name == report["chosen"] else ""
        lines.append(
            f"| {star}{name}{star} | {c['threshold']:.3f} | {_pct(d['apcer'])} | {_pct(d['bpcer'])} | "
            f"{h['n_live']} / {h['n_attack']} | {_pct(h['apcer'])} | {_pct(h['bpcer'])} | {_pct(h['acer'])} | "
            f"{h['auc']:.4f} | {c['held_out_margin']:+.3f} | {a['n_live']} / {a['n_attack']} | {_pct(a['apcer'])} | "
            f"{_pct(a['bpcer'])} |"
        )
    lines += ["", f"Chosen ({report['chosen_rule']}): **{report['chosen']}**.", ""]
    for name, c in report["candidates"].items():
        if groups_of is not None and name not in groups_of:
            continue
        for key, title in (("held_out_groups", "held-out frames"), ("all_groups", "every subject")):
            if key not in c:
                continue
            lines += [
                f"## {name}, {title}, per subject and session (threshold {c['threshold']:.3f})",
                "",
                "| subject | session | live | attack | APCER | BPCER | ACER |",
                "|---|---|---|---|---|---|---|",
            ]
            lines += [
                f"| {g['subject']} | {g['session']} | {g['n_live']} | {g['n_attack']} | {_pct(g['apcer'])} | "
                f"{_pct(g['bpcer'])} | {_pct(g['acer'])} |"
                for g in c[key]
            ]
            lines.append("")
    if "box_agreement" in report:
        b = report["box_agreement"]
        lines += [
            f"## Mapped face-mesh box vs each detector's own box ({b['checked_on']})",
            "",
            "| model | frames | same verdict | disagreements | median abs score difference |",
            "|---|---|---|---|---|",
        ]
        for name in ("minifasnet", "nuaa-cnn"):
            r = b[name]
            lines.append(
                f"| {name} | {r['frames']} | {_pct(r['agreement'])} | {r['disagreements']} | "
                f"{r['median_abs_diff']:.4f} |"
            )
        lines.append("")
    return "\n".join(lines)


def write_report(report: dict, candidates: dict, attack: np.ndarray, held_out: np.ndarray, out: Path) -> None:
    """report.json, report.md and roc.png (the held-out frames, every candidate) in `out`."""
    write_evaluation(
        out,
        report,
        {name: roc(attack[held_out], score[held_out]) for name, score in candidates.items()},
        "print attacks, held-out NUAA frames",
        "live faces read as attacks (BPCER)",
        "attacks detected (1 - APCER)",
    )
    (out / "report.md").write_text(report_markdown(report))


def evaluate_model(data: Path, model: Path | None, subjects: set[str], out: Path | None = None) -> dict:
    """One print-attack model (`model`, default the configured one) on the frames of `subjects`, at its own
    threshold, scored as the challenge scores (mapped face-mesh box): `pad_scores` plus counts."""
    from whosthat.liveness.pad import get_pad_detector, open_pad_model
    from whosthat.research.pad_frames import face_boxes

    pad = open_pad_model(model) if model is not None else get_pad_detector()
    frames = nuaa.read_nuaa(data, subjects)
    faces = face_boxes(frames)
    attack = np.array([f.attack for f in frames])
    scores = score_frames(faces, pad)
    if scores.ndim == 2:
        scores = scores[:, pad.column]
    rates = pad_scores(attack, scores, pad.threshold)
    report = {
        "model": pad.name,
        "model_path": str(pad.path),
        "data": str(data),
        "subjects": sorted(subjects),
        "n_live": rates["n_live"],
        "n_attack": rates["n_attack"],
        "no_face": int(np.isnan(scores).sum()),
        "threshold": pad.threshold,
        **{k: rates[k] for k in ("apcer", "bpcer", "acer", "auc")},
    }
    if out is not None:
        write_evaluation(
            out,
            report,
            {pad.name: roc(attack, scores)},
            f"print attack ({pad.name})",
            "live faces read as attacks (BPCER)",
            "attacks detected (1 - APCER)",
        )
    return report
