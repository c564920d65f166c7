"""Train the eye-state classifier on CEW-layout eye patches (PyTorch, CPU, one thread).

`whosthat train eyes --data $WHOSTHAT_DATA/cew_eyes` runs this:

1. Split by *face*, never by patch: the left and right eye of one face (file names that differ only
   in the trailing `_L`/`_R`) and all faces cut from one CEW photo (`closed_eye_NNNN.*_face_k`) stay in
   one split; 70% train, 15% validation, 15% test of the groups, drawn with the seed.
2. The seed's augmentation comparison: every epoch sees the training set as is (x1), plus augmented
   copies of half of it (x1.5) or of all of it (x2). Copies get a mirror flip, a small rotation, scale
   and shift, contrast/gamma change and sometimes blur or noise (webcam-like), drawn afresh every epoch.
3. The same small CNN (`--width` channels in the first layer, `--head gap|fc`) is trained on each (same
   seed, epochs, optimiser; optional label smoothing and a moving average of the weights).
   With `--members 0` a fourth candidate averages the three, the candidate with the best validation
   accuracy within the size budget is exported, and its threshold stays 0.5 unless validation says
   otherwise. With `--members M` the factor is chosen on validation, then M networks (seeds seed..
   seed+M-1) are trained with it on training + validation faces for exactly `--epochs` and averaged.
   Either way the test split is scored once, at the end, per patch and per face (both eyes averaged).
4. Export to ONNX (input float32[N,1,24,24] standardised per patch, output closed probability [N])
   with metadata, and a JSON report of every number beside the model card.

`whosthat train eyes-cv` (`cross_validate_eyes`) scores one recipe by k-fold cross-validation over the
training + validation faces, never the test faces: the way recipes were told apart.

The patches and the face split come from `datasets.cew`, the copies from `research.eyes_augment`, the
metrics from `research.eyes_evaluation` (shared with `whosthat eval eyes`), the card from
`research.eyes_card`; the ONNX file is written by `research.export.export_onnx`.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from whosthat.datasets import cew
from whosthat.liveness.eyes import PATCH_SIZE, prepare_patches
from whosthat.research.export import export_onnx
from whosthat.research.eyes_augment import augmented_copies, augmented_training_set
from whosthat.research.eyes_evaluation import eye_metrics
from whosthat.research.reporting import data_as_env, log

# Size budget of the shipped model (all member networks together): about 1 ms per eye patch on one CPU
# core with the mirror average. A candidate above it is trained and reported but not shipped.
MAX_PARAMETERS = 300_000


def load_cew(folder: str | Path):
    """(patches uint8[N,24,24], labels int64[N] 1=closed, groups list[str], faces list[str]) of the readable
    patches of a CEW-layout folder, in `datasets.cew.read_cew` order; a face key pairs the left and right
    eye of one face, a group holds every face that must share a split (`datasets.cew.group_of`)."""
    items, patches = cew.read_patches(cew.read_cew(folder), PATCH_SIZE)
    labels = np.array([item.closed for item in items], np.int64)
    faces = [item.face for item in items]
    return np.stack(patches), labels, [cew.group_of(face) for face in faces], faces


def build_model(width: int = 16, head: str = "gap"):
    """Five 3x3 conv layers (width-width-2w-2w-4w channels, two max-pools), then one unit on either the
    global average of the last 6x6 map (`gap`) or the whole map (`fc`: keeps where in the patch a
    feature is, e.g. a lid line across the middle vs an iris at the centre)."""
    import torch.nn as nn

    def block(cin, cout):
        return nn.Sequential(
            nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
        )

    return nn.Sequential(
        block(1, width),
        block(width, width),
        nn.MaxPool2d(2),  # 12x12
        block(width, 2 * width),
        block(2 * width, 2 * width),
        nn.MaxPool2d(2),  # 6x6
        block(2 * width, 4 * width),
        *(
            (nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(4 * width, 1))
            if head == "gap"
            else (nn.Flatten(), nn.Dropout(0.3), nn.Linear(4 * width * 6 * 6, 1))
        ),
    )


def train_one(
    x_train,
    y_train,
    x_val,
    y_val,
    *,
    factor: float,
    seed: int,
    epochs: int,
    width: int = 16,
    batch_size: int = 64,
    lr: float = 2e-3,
    keep_best: bool = True,
    head: str = "gap",
    smoothing: float = 0.0,
    ema: float = 0.0,
):
    """Train the CNN on the originals plus (factor-1) N augmented copies, drawn afresh every epoch (online
    augmentation: the network never sees the same copy twice). Returns (model in eval mode, per-epoch
    validation accuracy); keeps the best validation epoch when `keep_best`, else the last one (x_val may
    then be None)."""
    import copy

    import torch

    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)
    rng = np.random.default_rng(seed)
    model = build_model(width, head)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    n_epoch = len(x_train) + int(round((factor - 1.0) * len(x_train)))
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=lr, total_steps=epochs * int(np.ceil(n_epoch / batch_size))
    )
    loss_fn = torch.nn.BCEWithLogitsLoss()
    # An exponential moving average of the weights (and BatchNorm statistics) evens out the
    # step-to-step noise of a small, noisy-labelled training set; it is the model that is validated and kept.
    averaged = (
        torch.optim.swa_utils.AveragedModel(
            model, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(ema), use_buffers=True
        )
        if ema
        else None
    )
    originals = prepare_patches(x_train)  # standardised once; only the copies are redone per epoch
    xv = torch.from_numpy(prepare_patches(x_val)) if x_val is not None and len(x_val) else None
    gen = torch.Generator().manual_seed(seed)
    best, best_acc, history = None, -1.0, []
    for _epoch in range(epochs):
        extra, idx = augmented_copies(x_train, factor, rng)
        xt = torch.from_numpy(np.concatenate([originals, prepare_patches(extra)]))
        yt = torch.from_numpy(np.concatenate([y_train, y_train[idx]]).astype(np.float32))
        yt = yt * (1.0 - smoothing) + 0.5 * smoothing  # label smoothing: CEW has some doubtful labels
        model.train()
        perm = torch.randperm(len(xt), generator=gen)
        for i in range(0, len(xt), batch_size):
            b = perm[i : i + batch_size]
            xb = xt[b]
            flip = torch.rand(len(b), generator=gen) < 0.5  # a mirrored eye is still an eye in the same state
            xb = torch.where(flip[:, None, None, None], xb.flip(3), xb)
            opt.zero_grad()
            loss = loss_fn(model(xb).squeeze(1), yt[b])
            loss.backward()
            opt.step()
            sched.step()
            if averaged is not None:
                averaged.update_parameters(model)
        model.eval()
        kept = model if averaged is None else averaged.module
        if xv is None:
            continue
        with torch.no_grad():
            pv = EyeStateNet([kept])(xv).numpy()
        acc = float(((pv >= 0.5) == y_val).mean())
        history.append(acc)
        if keep_best and acc > best_acc:  # ties keep the earlier epoch
            best_acc, best = acc, copy.deepcopy(kept.state_dict())
    if averaged is not None:
        model = averaged.module
    if best is not None:
        model.load_state_dict(best)
    model.eval()
    return model, history


def EyeStateNet(models):  # noqa: N802 - a class built lazily so that importing this module needs no torch
    """Closed probability = mean over `models` and over the patch and its mirror image (test-time flip)."""
    import torch

    class _Net(torch.nn.Module):
        def __init__(self, ms):
            super().__init__()
            self.ms = torch.nn.ModuleList(ms)

        def forward(self, x):
            probs = [torch.sigmoid(m(v)).squeeze(1) for m in self.ms for v in (x, x.flip(3))]
            return torch.stack(probs, 0).mean(0)

    return _Net(models).eval()


def predict(model, x: np.ndarray) -> np.ndarray:
    """model: a trained CNN or an EyeStateNet; returns closed probabilities with test-time flip."""
    import torch

    net = model if hasattr(model, "ms") else EyeStateNet([model])
    with torch.no_grad():
        return net(torch.from_numpy(prepare_patches(x))).numpy()


def export_eye_model(model, path: Path, metadata: dict[str, str]) -> None:
    """Write a trained CNN or an EyeStateNet to `path` as the serving contract: input `patches`
    float32[N, 1, 24, 24] (`prepare_patches`), output `closed_prob` float32[N]."""
    net = model if hasattr(model, "ms") else EyeStateNet([model])
    export_onnx(
        net,
        path,
        example=np.zeros((1, 1, PATCH_SIZE, PATCH_SIZE), np.float32),
        input_name="patches",
        output_name="closed_prob",
        metadata=metadata,
        batch_axis="n",
        check_inputs=np.random.default_rng(0)
        .standard_normal((8, 1, PATCH_SIZE, PATCH_SIZE))
        .astype(np.float32),
    )


@dataclass(frozen=True)
class EyeRecipe:
    """How each eye-state network is trained: everything but the patches it sees and how many there are.
    Shared by `train_eyes` and `cross_validate_eyes` (and their commands)."""

    seed: int = 0  # split, augmentation and initialisation
    epochs: int = 20
    width: int = 16  # channels of the first conv layer
    augment: str = "fixed"  # fixed: one draw of copies (the seed's); online: fresh copies every epoch
    threads: int = 1  # torch threads per network; changes float rounding, so part of every command
    head: str = "gap"  # gap: global average pool; fc: one unit on the whole last map
    smoothing: float = 0.0  # label smoothing
    ema: float = 0.0  # weight moving-average decay per step (0: off)

    def __post_init__(self):
        if self.augment not in ("fixed", "online"):
            raise ValueError(f"augment must be fixed or online, not {self.augment!r}")
        if self.head not in ("gap", "fc"):
            raise ValueError(f"head must be gap or fc, not {self.head!r}")

    def spec(self, **data) -> dict:
        """A `_fit` spec: this recipe (seed excluded: the caller gives each network its own) plus `data`."""
        fields = ("epochs", "width", "head", "smoothing", "ema", "augment", "threads")
        return {k: getattr(self, k) for k in fields} | data

    def options(self, extras: bool = True) -> str:
        """The recipe as command-line options (`extras=False` leaves out head, smoothing and ema)."""
        text = f"--seed {self.seed} --epochs {self.epochs} --width {self.width} --augment {self.augment} --threads {self.threads}"
        if extras:
            text += f" --head {self.head} --smoothing {self.smoothing:g} --ema {self.ema:g}"
        return text

    def model(self, state: dict | None = None):
        """An untrained network of this recipe, or one with `state` loaded, in eval mode."""
        net = build_model(self.width, self.head)
        if state is not None:
            net.load_state_dict(state)
        return net.eval()


def _fit(spec: dict) -> tuple[dict, list[float], float]:
    """Train one network from a picklable spec (run inline or in a worker process); returns its weights,
    its per-epoch validation accuracy and the seconds it took."""
    import torch

    torch.set_num_threads(spec.pop("threads"))
    t0 = time.time()
    x, y, factor = spec.pop("x_train"), spec.pop("y_train"), spec.pop("factor")
    if spec.pop("augment") == "fixed":  # the seed's recipe: one draw of copies, the same in every epoch
        x, y = augmented_training_set(x, y, factor, spec["seed"])
        factor = 1.0
    model, history = train_one(x, y, spec.pop("x_val"), spec.pop("y_val"), factor=factor, **spec)
    return model.state_dict(), history, time.time() - t0


def _fit_all(specs: list[dict], jobs: int) -> list[tuple[dict, list[float], float]]:
    """Every spec trained, `jobs` at a time in worker processes (each with the spec's own torch thread
    count, so the result does not depend on `jobs`)."""
    if jobs <= 1 or len(specs) <= 1:
        return [_fit(dict(s)) for s in specs]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(min(jobs, len(specs)), mp_context=multiprocessing.get_context("spawn")) as pool:
        return list(pool.map(_fit, specs))


def train_eyes(
    data: Path,
    out: Path,
    recipe: EyeRecipe = EyeRecipe(),
    *,
    factors: tuple[float, ...] = (1.0, 1.5, 2.0),
    members: int = 0,
    jobs: int = 1,
) -> dict:
    """members=0: ship the best of the x1 / x1.5 / x2 networks (or their average) trained on the training
    split, best validation epoch kept, threshold from validation. members=M>0: the augmentation factor is
    chosen on validation (last epoch), then M networks (seeds seed..seed+M-1) are trained with it on
    training + validation faces for exactly `epochs` epochs and averaged; threshold 0.5. Either way the
    test faces are scored once, after every choice."""
    import torch

    seed, epochs, width, threads = recipe.seed, recipe.epochs, recipe.width, recipe.threads
    t0 = time.time()
    # One thread per network: on a shared 2-core machine two torch threads wait on each other whenever
    # the other core is busy (the whole run once took 37 min). The thread count changes float rounding,
    # so `--threads` is part of the reproduce command; `--jobs` is not (each job is single-network).
    torch.set_num_threads(threads)
    x, y, groups, faces = load_cew(data)
    split = cew.split_groups(groups, seed)
    counts = {
        name: {
            "patches": int((split == i).sum()),
            "groups": len({g for g, s in zip(groups, split, strict=True) if s == i}),
            "closed": int(((split == i) & (y == 1)).sum()),
        }
        for i, name in enumerate(("train", "validation", "test"))
    }
    log(f"CEW patches: {len(x)}; split by face/photo: {counts}")
    xtr, ytr = x[split == 0], y[split == 0]
    xva, yva = x[split == 1], y[split == 1]
    xte, yte = x[split == 2], y[split == 2]
    faces_va = [f for f, s in zip(faces, split, strict=True) if s == 1]
    faces_te = [f for f, s in zip(faces, split, strict=True) if s == 2]
    refit = members > 0
    net = recipe.model

    log(f"augmentation comparison: x{', x'.join(f'{f:g}' for f in factors)} ({jobs} job(s))")
    fitted = _fit_all(
        [
            recipe.spec(
                x_train=xtr,
                y_train=ytr,
                x_val=xva,
                y_val=yva,
                factor=f,
                seed=seed,
                keep_best=not refit,
            )
            for f in factors
        ],
        jobs,
    )
    variants = []
    for factor, (state, history, seconds) in zip(factors, fitted, strict=True):
        model = net(state)
        val = eye_metrics(predict(model, xva), yva, faces=faces_va)
        train_size = len(xtr) + int(round((factor - 1.0) * len(xtr)))
        log(
            f"x{factor:g}: {train_size} patches per epoch, validation accuracy {val['accuracy']:.4f} in {seconds:.0f}s"
        )
        variants.append(
            {
                "name": f"x{factor:g}",
                "factor": factor,
                "train_size": int(train_size),
                "seconds": round(seconds, 1),
                "validation": val,
                "best_epoch": (int(np.argmax(history)) + 1) if not refit else epochs,
                "model": model,
            }
        )
    if not refit:  # a fourth candidate: the three variants averaged (one ONNX file, three small nets)
        ensemble = EyeStateNet([v["model"] for v in variants])
        variants.append(
            {
                "factor": 0.0,
                "name": "ensemble of " + ", ".join(v["name"] for v in variants),
                "train_size": int(sum(v["train_size"] for v in variants)),
                "best_epoch": 0,
                "validation": eye_metrics(predict(ensemble, xva), yva, faces=faces_va),
                "model": ensemble,
            }
        )
    for v in variants:
        v["parameters"] = int(sum(p.numel() for p in v["model"].parameters()))
        v["eligible"] = v["parameters"] <= MAX_PARAMETERS
    # Choose on validation only, among models within the size budget: best accuracy, then AUC; ties go
    # to the simpler model (listed first).
    eligible = [v for v in variants if v["eligible"] or refit]
    chosen = max(
        eligible, key=lambda v: (v["validation"]["accuracy"], v["validation"]["auc"], -variants.index(v))
    )
    threshold = 0.5
    if refit:
        log(f"chosen on validation: {chosen['name']}; {members} network(s) on training + validation faces")
        xtv, ytv = x[split < 2], y[split < 2]
        fitted = _fit_all(
            [
                recipe.spec(
                    x_train=xtv,
                    y_train=ytv,
                    x_val=None,
                    y_val=None,
                    factor=chosen["factor"],
                    seed=seed + i,
                    keep_best=False,
                )
                for i in range(members)
            ],
            jobs,
        )
        model = EyeStateNet([net(state) for state, _h, _s in fitted])
        final = {
            "name": f"{members} x {chosen['name']} on train+validation",
            "factor": chosen["factor"],
            "members": members,
            "train_size": int(len(xtv) + round((chosen["factor"] - 1.0) * len(xtv))),
            "seconds": round(sum(s for _st, _h, s in fitted), 1),
            "parameters": int(sum(p.numel() for p in model.parameters())),
        }
        if final["parameters"] > MAX_PARAMETERS:
            raise ValueError(
                f"{members} networks of width {width} exceed the size budget ({MAX_PARAMETERS:,})"
            )
    else:
        model = chosen["model"]
        # Threshold: 0.5 unless another validation threshold is strictly better.
        pv = predict(model, xva)
        grid = np.linspace(0.05, 0.95, 91)
        accs = [((pv >= t) == yva).mean() for t in grid]
        if max(accs) > ((pv >= 0.5) == yva).mean() + 1e-9:
            threshold = float(grid[int(np.argmax(accs))])
        final = {k: chosen[k] for k in ("name", "factor", "train_size", "parameters")} | {"members": 0}
    # The test faces are scored after every choice, for the report only.
    for v in variants:
        v["test"] = eye_metrics(predict(v["model"], xte), yte, 0.5, faces=faces_te)
    final["test"] = eye_metrics(predict(model, xte), yte, threshold, faces=faces_te)
    n_params = final["parameters"]
    out = Path(out)
    onnx_path = out / "eye_state.onnx"
    card = "eye_state.md"
    meta = {
        "whosthat_name": "eye-state-cnn",
        "whosthat_kind": "eyes",
        "whosthat_input": "eye:24:gray:standardised",
        "whosthat_threshold": f"{threshold:.3f}",
        "whosthat_card": card,
    }
    export_eye_model(model, onnx_path, meta)
    shown = data_as_env(data)
    extras = recipe.head != "gap" or recipe.smoothing or recipe.ema or members
    command = f"whosthat train eyes --data {shown} {recipe.options(extras=bool(extras))}"
    if extras:
        command += f" --members {members}"
    report = {
        "command": command,
        "data": shown,
        **asdict(recipe),
        "members": members,
        "jobs": jobs,
        "split": counts,
        "split_rule": "by face: both eyes of one face, all faces of one CEW photo, all photos of one LFW person",
        "variants": [
            {
                k: v.get(k)
                for k in (
                    "name",
                    "factor",
                    "train_size",
                    "best_epoch",
                    "seconds",
                    "parameters",
                    "eligible",
                    "validation",
                    "test",
                )
            }
            for v in variants
        ],
        "chosen": chosen["name"],
        "chosen_factor": chosen["factor"],
        "final": final,
        "threshold": threshold,
        "parameters": n_params,
        "onnx": onnx_path.name,
        "onnx_bytes": onnx_path.stat().st_size,
        "train_seconds": round(time.time() - t0, 1),
    }
    (out / "eye_state.json").write_text(json.dumps(report, indent=2) + "\n")
    from whosthat.research.eyes_card import write_card

    write_card(report, out / card)
    log(
        f"exported {onnx_path} ({onnx_path.stat().st_size} bytes): {final['name']}, threshold {threshold:.2f}, "
        f"held-out test accuracy {final['test']['accuracy']:.4f} per patch, "
        f"{final['test']['faces']['accuracy']:.4f} per face"
    )
    return report


# Folds of `cross_validate_eyes` are drawn with their own fixed seed, so that recipes that differ in
# `--seed` (initialisation, augmentation) are still compared on the same folds.
CV_FOLD_SEED = 123


def cross_validate_eyes(
    data: Path,
    recipe: EyeRecipe = EyeRecipe(),
    *,
    folds: int = 5,
    factor: float = 2.0,
    jobs: int = 1,
) -> dict:
    """K-fold cross-validation of one recipe over the training + validation faces of the seed's split
    (the test faces are never read). Faces are kept together as in the split; every network is trained
    for exactly `recipe.epochs` epochs (no early stopping on its held-out fold). Out-of-fold predictions for
    every one of the ~3,300 training + validation patches give a comparison about six times finer than
    the 582 validation patches alone."""
    t0 = time.time()
    x, y, groups, faces = load_cew(data)
    keep = cew.split_groups(groups, recipe.seed) < 2
    x, y = x[keep], y[keep]
    groups = [g for g, k in zip(groups, keep, strict=True) if k]
    faces = [f for f, k in zip(faces, keep, strict=True) if k]
    unique = sorted(set(groups))
    np.random.default_rng(CV_FOLD_SEED).shuffle(unique)
    fold_of = {g: i % folds for i, g in enumerate(unique)}
    fold = np.array([fold_of[g] for g in groups])
    log(f"{folds}-fold cross-validation on {len(x)} training + validation patches ({jobs} job(s))")
    fitted = _fit_all(
        [
            recipe.spec(
                x_train=x[fold != k],
                y_train=y[fold != k],
                x_val=x[fold == k],
                y_val=y[fold == k],
                factor=factor,
                seed=recipe.seed,
                keep_best=False,
            )
            for k in range(folds)
        ],
        jobs,
    )
    prob = np.zeros(len(y))
    for k, (state, _history, _seconds) in enumerate(fitted):
        prob[fold == k] = predict(recipe.model(state), x[fold == k])
    fold_acc = [float(((prob[fold == k] >= 0.5) == y[fold == k]).mean()) for k in range(folds)]
    recipe_text = f"whosthat train eyes-cv --data {data_as_env(data)} --folds {folds} --factor {factor:g} {recipe.options()}"
    return {
        "recipe": recipe_text,
        "folds": folds,
        "fold_seed": CV_FOLD_SEED,
        "out_of_fold": eye_metrics(prob, y, 0.5, faces=faces),
        "fold_accuracy": fold_acc,
        "seconds": round(time.time() - t0, 1),
        "predictions": [round(float(p), 6) for p in prob],
    }
