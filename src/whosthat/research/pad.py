"""Train the print-attack detector on NUAA (PyTorch, CPU): `whosthat train pad --data $WHOSTHAT_DATA/nuaa`.

Data: ClientRaw/ (live webcam frames, label 0) and ImposterRaw/ (webcam frames of printed photos,
label 1); file names ID_glasses_pos_session_picNo.jpg. Consecutive frames of one subject are nearly
identical, so every split here is by *subject*: no subject's frames are in two splits.

- Face crops: MediaPipe detection (the serving detector) -> `pad.face_crop` (square, 1.6 x box, 64x64).
- Split: subjects shuffled with the seed; 5 train, 2 validation, 2 test (the 9 subjects of the lists).
- Candidates, each trained on the train subjects: a small CNN on the RGB crop, and a texture baseline
  (uniform LBP histograms + logistic regression, the classic NUAA approach), measured, not assumed.
- Operating threshold: equal error rate on the validation subjects (never the test subjects).
  The candidate with the lower validation ACER is shipped; the test subjects are scored once, at
  the end, for the report. A 3-fold cross-subject run of the CNN gives a spread for the same recipe.
- Export: ONNX (input float32[N,3,64,64] in [-1,1], output attack probability [N]) with metadata.

The frames and the subject split come from `datasets.nuaa`, the error rates from
`research.pad_evaluation` (shared with `whosthat eval pad`), the card from `research.pad_card`; the ONNX
file is written by `research.export.export_onnx`.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import numpy as np

from whosthat.datasets import nuaa
from whosthat.liveness.pad import CROP_SCALE, CROP_SIZE, face_crop, prepare_crops
from whosthat.research.export import export_onnx
from whosthat.research.pad_evaluation import eer_threshold, pad_scores
from whosthat.research.reporting import data_as_env, log


def load_nuaa_crops(data: Path):
    """(crops uint8[N,64,64,3] RGB, labels int64[N] 1=attack, subjects list[str], sessions list[str],
    n_no_face) of the frames of a NUAA-layout folder in `datasets.nuaa.read_nuaa` order; the crop is the
    serving one (`liveness.pad.face_crop` of the first MediaPipe box); frames without a face are left out
    and counted."""
    from whosthat.vision.detect import get_detector
    from whosthat.vision.image import decode_image

    detector = get_detector("mediapipe")
    crops, labels, subjects, sessions, missing = [], [], [], [], 0
    frames = nuaa.read_nuaa(data)
    for i, frame in enumerate(frames):
        rgb = decode_image(frame.path)
        faces = detector.detect(rgb)
        if not faces:
            missing += 1
            continue
        crops.append(face_crop(rgb, faces[0].box, CROP_SIZE, CROP_SCALE))
        labels.append(frame.attack)
        subjects.append(frame.subject)
        sessions.append(frame.session)
        if (i + 1) % 300 == 0:
            log(f"face crops: {i + 1}/{len(frames)}")
    return np.stack(crops), np.array(labels, np.int64), subjects, sessions, missing


def build_cnn():
    import torch.nn as nn

    def block(cin, cout):
        return nn.Sequential(
            nn.Conv2d(cin, cout, 3, padding=1, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
        )

    return nn.Sequential(
        block(3, 16),
        block(16, 32),
        block(32, 48),
        block(48, 64),  # 64 -> 4
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Dropout(0.3),
        nn.Linear(64, 1),
    )


def _augment_batch(x, gen):
    import torch

    flip = torch.rand(x.shape[0], generator=gen) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    gain = 1 + 0.2 * (torch.rand(x.shape[0], 1, 1, 1, generator=gen) - 0.5)
    bias = 0.2 * (torch.rand(x.shape[0], 1, 1, 1, generator=gen) - 0.5)
    return (x * gain + bias).clamp(-1, 1)


def train_cnn(x, y, *, seed: int, epochs: int, batch_size: int = 32, lr: float = 2e-3):
    import torch

    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)
    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    model = build_cnn()
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-3)
    steps = epochs * int(np.ceil(len(x) / batch_size))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    xt = torch.from_numpy(prepare_crops(x))
    yt = torch.from_numpy(y.astype(np.float32))
    gen = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(len(xt), generator=gen)
        for i in range(0, len(xt), batch_size):
            b = perm[i : i + batch_size]
            opt.zero_grad()
            loss = loss_fn(model(_augment_batch(xt[b], gen)).squeeze(1), yt[b])
            loss.backward()
            opt.step()
            sched.step()
    model.eval()
    return model


def cnn_predict(model, x) -> np.ndarray:
    import torch

    with torch.no_grad():
        return np.concatenate(
            [
                torch.sigmoid(model(torch.from_numpy(prepare_crops(x[i : i + 256]))).squeeze(1)).numpy()
                for i in range(0, len(x), 256)
            ]
        )


def lbp_features(x: np.ndarray) -> np.ndarray:
    """Uniform LBP (P=8, R=1) histograms on a 3x3 grid plus the whole crop, gray 64x64."""
    import cv2
    from skimage.feature import local_binary_pattern

    feats = []
    for crop in x:
        g = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
        codes = local_binary_pattern(g, 8, 1, method="uniform")  # values 0..9
        parts = [codes] + [
            codes[r * 21 : (r + 1) * 21, c * 21 : (c + 1) * 21] for r in range(3) for c in range(3)
        ]
        feats.append(
            np.concatenate([np.bincount(p.astype(int).ravel(), minlength=10) / p.size for p in parts])
        )
    return np.array(feats, np.float32)


def _rounded_scores(attack: np.ndarray, score: np.ndarray, threshold: float) -> dict:
    """`pad_scores` with every float rounded to 4 decimals, as the report and the card show them."""
    return {
        k: (round(v, 4) if isinstance(v, float) else v)
        for k, v in pad_scores(attack, score, threshold).items()
    }


def export_pad_model(model, path: Path, metadata: dict[str, str]) -> None:
    """Write the trained CNN to `path` as the serving contract: input `crops` float32[N, 3, 64, 64] in
    [-1, 1] (`prepare_crops`), output `attack_prob` float32[N] (the sigmoid is part of the graph)."""
    import torch

    class WithSigmoid(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, x):
            return torch.sigmoid(self.m(x)).squeeze(1)

    export_onnx(
        WithSigmoid(model).eval(),
        path,
        example=np.zeros((1, 3, CROP_SIZE, CROP_SIZE), np.float32),
        input_name="crops",
        output_name="attack_prob",
        metadata=metadata,
        batch_axis="n",
        check_inputs=np.random.default_rng(0).uniform(-1, 1, (8, 3, CROP_SIZE, CROP_SIZE)).astype(np.float32),
    )


def train_pad(
    data: Path,
    out: Path,
    *,
    seed: int = 0,
    epochs: int = 12,
    cv_folds: int = 3,
    sessions: list[str] | None = None,
) -> dict:
    """Train, choose, export and document the print-attack model (the module docstring's recipe).

    `sessions`: train and validate only on frames of these NUAA sessions (default all), so that the test
    subjects' other sessions are outside every training set; the test scores are then also reported for
    those unseen sessions alone (`test_unseen_sessions`)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    t0 = time.time()
    x, y, subjects, sessions_of, missing = load_nuaa_crops(data)
    subj = np.array(subjects)
    split = nuaa.split_subjects(subjects, seed)
    log(
        f"NUAA crops: {len(x)} ({int((y == 0).sum())} live, {int((y == 1).sum())} attack), "
        f"no face in {missing}; subjects {split}"
    )
    seen = np.isin(np.array(sessions_of), sessions) if sessions else np.ones(len(x), bool)
    m_tr, m_va = (np.isin(subj, split[k]) & seen for k in ("train", "validation"))
    m_te = np.isin(subj, split["test"])

    # Candidate 1: CNN.
    cnn = train_cnn(x[m_tr], y[m_tr], seed=seed, epochs=epochs)
    cnn_val = cnn_predict(cnn, x[m_va])
    cnn_thr = eer_threshold(y[m_va], cnn_val)
    # Candidate 2: LBP histograms + logistic regression.
    f = lbp_features(x)
    lbp = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=1.0)).fit(f[m_tr], y[m_tr])
    lbp_val = lbp.predict_proba(f[m_va])[:, 1]
    lbp_thr = eer_threshold(y[m_va], lbp_val)
    candidates = {
        "cnn": {
            "validation": _rounded_scores(y[m_va], cnn_val, cnn_thr),
            "test": _rounded_scores(y[m_te], cnn_predict(cnn, x[m_te]), cnn_thr),
        },
        "lbp_logreg": {
            "validation": _rounded_scores(y[m_va], lbp_val, lbp_thr),
            "test": _rounded_scores(y[m_te], lbp.predict_proba(f[m_te])[:, 1], lbp_thr),
        },
    }
    if sessions:
        unseen = m_te & ~seen
        candidates["cnn"]["test_unseen_sessions"] = _rounded_scores(
            y[unseen], cnn_predict(cnn, x[unseen]), cnn_thr
        )
        candidates["lbp_logreg"]["test_unseen_sessions"] = _rounded_scores(
            y[unseen], lbp.predict_proba(f[unseen])[:, 1], lbp_thr
        )
    for name, c in candidates.items():
        log(f"{name}: validation {c['validation']}  test {c['test']}")

    # Cross-subject spread of the CNN recipe: fold k tests on a third of the subjects, validates
    # (threshold) on two others, trains on the rest.
    unique = sorted(set(subjects))
    rng = random.Random(seed + 1)
    rng.shuffle(unique)
    folds = [unique[k::cv_folds] for k in range(cv_folds)]
    cv = []
    for k in range(cv_folds):
        test_s = folds[k]
        rest = [s for s in unique if s not in test_s]
        val_s = rest[:2]
        train_s = rest[2:]
        mtr, mva, mte = np.isin(subj, train_s) & seen, np.isin(subj, val_s) & seen, np.isin(subj, test_s)
        model_k = train_cnn(x[mtr], y[mtr], seed=seed, epochs=epochs)
        thr_k = eer_threshold(y[mva], cnn_predict(model_k, x[mva]))
        r = _rounded_scores(y[mte], cnn_predict(model_k, x[mte]), thr_k)
        r.update({"test_subjects": sorted(test_s), "validation_subjects": sorted(val_s)})
        cv.append(r)
        log(f"CNN fold {k}: {r}")

    chosen = (
        "cnn"
        if candidates["cnn"]["validation"]["acer"] <= candidates["lbp_logreg"]["validation"]["acer"]
        else "lbp_logreg"
    )
    out = Path(out)
    onnx_path = out / "pad.onnx"
    report = {
        "command": f"whosthat train pad --data {data_as_env(data)} --seed {seed} --epochs {epochs}"
        + (f" --sessions {','.join(sessions)}" if sessions else ""),
        "data": data_as_env(data),
        "seed": seed,
        "epochs": epochs,
        "split": split,
        **({"train_sessions": sorted(sessions)} if sessions else {}),
        "no_face": missing,
        "split_rule": "by subject (no subject in two splits)"
        + (f"; training and validation on sessions {', '.join(sessions)} only" if sessions else ""),
        "candidates": candidates,
        "cnn_cross_subject_folds": cv,
        "cnn_cross_subject_mean": {
            k: round(float(np.mean([r[k] for r in cv])), 4) for k in ("apcer", "bpcer", "acer", "auc")
        },
        "chosen": chosen,
        "train_seconds": None,
    }
    if chosen == "cnn":
        threshold = cnn_thr
        export_pad_model(
            cnn,
            onnx_path,
            {
                "whosthat_name": "pad-nuaa-cnn",
                "whosthat_kind": "pad",
                "whosthat_input": f"face:{CROP_SIZE}:rgb:box_scale={CROP_SCALE}",
                "whosthat_threshold": f"{threshold:.4f}",
                "whosthat_card": "pad.md",
                "whosthat_crop_size": str(CROP_SIZE),
                "whosthat_crop_scale": str(CROP_SCALE),
            },
        )
        report.update(
            {
                "threshold": threshold,
                "onnx": onnx_path.name,
                "onnx_bytes": onnx_path.stat().st_size,
                "parameters": int(sum(p.numel() for p in cnn.parameters())),
                "test": candidates["cnn"]["test"],
            }
        )
    else:
        # The texture model measured better on validation subjects; it is not exportable to ONNX here,
        # so say so rather than ship the worse model silently.
        report.update(
            {
                "threshold": lbp_thr,
                "onnx": None,
                "test": candidates["lbp_logreg"]["test"],
                "note": "LBP baseline chose; no ONNX export for it",
            }
        )
    report["train_seconds"] = round(time.time() - t0, 1)
    out.mkdir(parents=True, exist_ok=True)
    (out / "pad.json").write_text(json.dumps(report, indent=2) + "\n")
    if report.get("onnx"):
        from whosthat.research.pad_card import write_card

        write_card(report, out / "pad.md")
    log(f"chosen {chosen}; threshold {report['threshold']:.4f}; test {report['test']}")
    return report
