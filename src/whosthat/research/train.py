"""Train a method on LFW with the fold protocol and evaluate it on the held-out fold.

`train_fold` trains one model on the people of the nine folds other than `test_fold` and measures,
on the pairs of `test_fold` only, the accuracy at the threshold chosen on the other folds' pairs;
plus recall@k (full gallery and the seed's 8 x 3 batches) and NMI over the test fold's people.
`train_folds` repeats that for several test folds: over all ten it is the LFW 10-fold protocol with
every test fold's people unseen in training.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from whosthat.datasets import lfw
from whosthat.research.data import ArraySource, LFWDataModule
from whosthat.research.evaluation import (
    batch_recall_at_k,
    nmi,
    pair_distances,
    plot_training_curves,
    recall_at_k,
)
from whosthat.vision.evaluation import held_out_fold_accuracy, plot_roc, verification_roc

DEFAULT_DIMS = {"dlib_features": 128, "small_cnn": 128, "inception_resnet_v1": 512, "bn_inception": 512}


@dataclass
class TrainConfig:
    method: str = "group_loss"
    backbone: str = "dlib_features"
    dim: int | None = None
    epochs: int = 10
    lr: float = 1e-3
    weight_decay: float = 0.0
    n_classes: int = 24
    m_per_class: int = 2
    min_images: int = 2
    val_fold: int | None = None  # 0-based; None: the fold before the test fold; -1: no validation fold
    image_size: int | None = None  # resize prepared crops (e.g. 112 -> 64 for the small CNN on a CPU)
    seed: int = 0
    accelerator: str = "cpu"
    devices: int | str = 1
    strategy: str = "auto"
    num_nodes: int = 1
    precision: str = "32-true"
    limit_train_batches: int | float | None = None
    num_workers: int = 0
    backbone_weights: str | None = None
    backbone_kwargs: dict = field(default_factory=dict)
    method_kwargs: dict = field(default_factory=dict)
    progress: bool = True
    command: str = ""  # the command line that produced the run, for the report and the model card

    def resolved_dim(self) -> int:
        return self.dim or DEFAULT_DIMS.get(self.backbone, 128)


def single_thread_for_small_models(backbone: str, accelerator: str) -> None:
    """A 128-D head's ops are far too small to split across threads: on a busy CPU, two threads spent
    ~25x more CPU per step spinning than one thread computing (measured: 207 vs 7.6 ms per Group Loss step)."""
    import torch

    if backbone == "dlib_features" and accelerator in ("cpu", "auto"):
        torch.set_num_threads(1)


def validation_fold(cfg: TrainConfig, test_fold: int) -> int | None:
    """The fold left out of training whose pairs choose the threshold (and drive tuning): `cfg.val_fold`,
    by default the fold before the test fold (fold 10 -> 9, fold 1 -> 10); -1 means none (threshold
    from all other folds, whose people the model was trained on)."""
    if cfg.val_fold is None:
        return (test_fold - 1) % 10
    return None if cfg.val_fold < 0 else cfg.val_fold


def input_spec(cfg: TrainConfig, source: ArraySource) -> str:
    """The ONNX `whosthat_input` string for models trained on this source."""
    if source.kind == "features":
        return "features:dlib-resnet-v1"
    size = source.data.shape[1]
    kind = "simple" if "simple" in source.meta.get("meta_transform", "") else "rotation"
    return f"image:{size}:{kind}"


def resize_source(source: ArraySource, size: int) -> ArraySource:
    import cv2

    if source.kind != "images" or source.data.shape[1] == size:
        return source
    data = np.stack([cv2.resize(im, (size, size), interpolation=cv2.INTER_AREA) for im in source.data])
    return ArraySource(source.paths, data, source.found, source.meta)


def embed_source(
    module, source: ArraySource, batch_size: int = 256, device: str = "cpu", only: np.ndarray | None = None
) -> np.ndarray:
    """L2-normalised embeddings [N, dim] of every row of the source, or of the rows in `only` (NaN rows
    where found is False or not asked for)."""
    import torch

    from whosthat.research.data import to_tensor

    module = module.to(device).eval()
    out = np.full((len(source.paths), module.hparams.dim), np.nan, np.float32)
    rows = np.flatnonzero(source.found)
    if only is not None:
        rows = np.intersect1d(rows, only)
    with torch.no_grad():
        for start in range(0, len(rows), batch_size):
            r = rows[start : start + batch_size]
            x = source.data[r]
            x = to_tensor(x) if source.kind == "images" else torch.from_numpy(np.asarray(x, np.float32))
            out[r] = module(x.to(device)).float().cpu().numpy()
    return out


def evaluate_fold(
    embeddings: np.ndarray,
    source: ArraySource,
    root: Path,
    test_fold: int,
    seed: int = 0,
    threshold_folds: list[int] | None = None,
) -> dict:
    """Metrics of one model on test fold `test_fold` (0-based): pair accuracy with the threshold from
    the other folds, ROC AUC, recall@1/2/4/8 over the fold's people (full gallery and 8 x 3 batches), NMI."""
    pairs = lfw.read_pairs(root, "pairs.txt")
    index = source.index()

    def row(p: str) -> int:
        r = index.get(p, -1)
        return r if r >= 0 and source.found[r] else -1

    a = np.array([row(p.path_a) for p in pairs])
    b = np.array([row(p.path_b) for p in pairs])
    same = np.array([p.same for p in pairs])
    folds = np.array([p.fold for p in pairs])
    d = pair_distances(embeddings, a, b)
    if threshold_folds:
        # threshold from pairs of people the model never saw (a validation fold): the training folds'
        # pairs are of trained-on people, whose distances shrink, so their threshold can be far too tight
        keep = np.isin(folds, threshold_folds) | (folds == test_fold)
        acc, thr = held_out_fold_accuracy(d[keep], same[keep], folds[keep], test_fold)
    else:
        acc, thr = held_out_fold_accuracy(d, same, folds, test_fold)
    acc_train_folds, thr_train_folds = held_out_fold_accuracy(d, same, folds, test_fold)
    test = folds == test_fold
    scored = test & ~np.isnan(d)
    auc = verification_roc(d[scored], same[scored]).auc if len(np.unique(same[scored])) == 2 else None
    people = set(lfw.read_people_folds(root, "people.txt")[test_fold])
    persons = np.array([p.split("/")[0] for p in source.paths])
    rows = np.flatnonzero(np.isin(persons, list(people)) & source.found)
    labels = np.unique(persons[rows], return_inverse=True)[1]
    counts = np.bincount(labels)
    multi = counts[labels] >= 2

    def optional(fn):
        try:
            return fn()
        except ValueError:  # too few identities for this metric (tiny runs)
            return None

    result = {
        "test_fold": test_fold + 1,
        "accuracy": acc,
        "threshold": thr,
        "threshold_folds": [k + 1 for k in threshold_folds] if threshold_folds else "all other folds",
        "accuracy_threshold_all_other_folds": acc_train_folds,
        "threshold_all_other_folds": thr_train_folds,
        "auc": auc,
        "recall_at": optional(
            lambda: {str(k): v for k, v in recall_at_k(embeddings[rows], labels, (1, 2, 4, 8)).items()}
        ),
        "recall1_batch_8x3": optional(
            lambda: batch_recall_at_k(embeddings[rows], labels, 8, 3, (1,), rounds=5, seed=seed)[1]
        ),
        "nmi": optional(lambda: nmi(embeddings[rows][multi], labels[multi], seed=seed)),
        "test_pairs": int(test.sum()),
        "test_images": int(len(rows)),
    }
    return result, (d[test], same[test])


def evaluation_rows(source: ArraySource, root: Path, test_fold: int, val_fold: int | None) -> np.ndarray:
    """Rows `evaluate_fold` reads: the images of the test fold's people and of the pairs that choose
    the threshold (the validation fold's, or all pairs). Image models embed only these."""
    pairs = lfw.read_pairs(root, "pairs.txt")
    folds = {test_fold, val_fold} if val_fold is not None else set(range(10))
    wanted = {q for p in pairs if p.fold in folds for q in (p.path_a, p.path_b)}
    people = set(lfw.read_people_folds(root, "people.txt")[test_fold])
    return np.array(
        [i for i, p in enumerate(source.paths) if p in wanted or p.split("/")[0] in people], dtype=np.int64
    )


def load_training_source(
    backbone: str, features: Path | None = None, crops: Path | None = None, image_size: int | None = None
) -> tuple[ArraySource, list[np.ndarray] | None]:
    from whosthat.research.backbones import is_image_backbone
    from whosthat.research.prepare import default_crops_path, load_features

    if not is_image_backbone(backbone):
        src, plain, flipped = load_features(features)
        return src, [plain, flipped]
    src = ArraySource.load(crops or default_crops_path(112, "rotation"))
    if image_size:
        src = resize_source(src, image_size)
    return src, None


def train_fold(
    cfg: TrainConfig,
    source: ArraySource,
    root: Path,
    test_fold: int,
    out_dir: Path,
    feature_views: list[np.ndarray] | None = None,
) -> tuple[object, dict]:
    """Train on every fold but `test_fold` (and `cfg.val_fold`), evaluate on `test_fold`; write logs,
    checkpoint, plots and `metrics.json` under out_dir/fold<k+1>."""
    import lightning as L
    from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

    from whosthat.research.modules import build_module

    L.seed_everything(cfg.seed + test_fold, workers=True, verbose=False)
    single_thread_for_small_models(cfg.backbone, cfg.accelerator)
    fold_dir = Path(out_dir) / f"fold{test_fold + 1}"
    fold_dir.mkdir(parents=True, exist_ok=True)
    val_fold = validation_fold(cfg, test_fold)
    dm = LFWDataModule(
        source,
        root,
        test_fold=test_fold,
        val_fold=val_fold,
        min_images=cfg.min_images,
        n_classes=cfg.n_classes,
        m_per_class=cfg.m_per_class,
        num_workers=cfg.num_workers,
        seed=cfg.seed,
        feature_views=feature_views,
    )
    dm.setup()
    module = build_module(
        cfg.method,
        backbone=cfg.backbone,
        dim=cfg.resolved_dim(),
        n_classes=dm.num_train_classes,
        lr=cfg.lr,
        weight_decay=cfg.weight_decay,
        backbone_weights=cfg.backbone_weights,
        backbone_kwargs=cfg.backbone_kwargs,
        input_spec=input_spec(cfg, source),
        **cfg.method_kwargs,
    )
    csv_logger = CSVLogger(str(fold_dir), name="logs", version="")
    loggers = [csv_logger]
    try:
        loggers.append(TensorBoardLogger(str(fold_dir), name="tensorboard", version=""))
    except ModuleNotFoundError:  # tensorboard is optional
        pass
    from whosthat.research.sampler import ClassBalancedBatchSampler

    batches = len(ClassBalancedBatchSampler(dm.train_labels, cfg.n_classes, cfg.m_per_class, cfg.seed))
    trainer = L.Trainer(
        max_epochs=cfg.epochs,
        accelerator=cfg.accelerator,
        devices=cfg.devices,
        strategy=cfg.strategy,
        num_nodes=cfg.num_nodes,
        precision=cfg.precision,
        logger=loggers,
        enable_checkpointing=False,
        num_sanity_val_steps=0,
        use_distributed_sampler=False,
        enable_progress_bar=cfg.progress,
        enable_model_summary=False,
        log_every_n_steps=max(1, min(10, batches // 2)),
        limit_train_batches=cfg.limit_train_batches if cfg.limit_train_batches is not None else 1.0,
    )
    t0 = time.time()
    trainer.fit(module, dm)
    train_seconds = time.time() - t0
    ckpt = fold_dir / "model.ckpt"
    trainer.save_checkpoint(str(ckpt))  # every rank must call it (it holds a barrier); rank 0 writes
    if trainer.global_rank != 0:
        return module, {}
    emb = embed_source(module, source, only=evaluation_rows(source, root, test_fold, val_fold))
    result, (d_test, same_test) = evaluate_fold(
        emb, source, root, test_fold, cfg.seed, threshold_folds=[val_fold] if val_fold is not None else None
    )
    result.update(
        {
            "train_seconds": round(train_seconds, 1),
            "train_identities": dm.num_train_classes,
            "train_images": int(len(dm.train_indices)),
            "checkpoint": str(ckpt),
        }
    )
    metrics_csv = Path(csv_logger.log_dir) / "metrics.csv"
    if metrics_csv.is_file():
        plot_training_curves(metrics_csv, fold_dir / "training_curves.png")
    if result["auc"] is not None:
        plot_roc(
            {f"{cfg.method} on {cfg.backbone}": verification_roc(d_test, same_test)},
            fold_dir / "roc.png",
            title=f"LFW fold {test_fold + 1} (held out)",
        )
    (fold_dir / "metrics.json").write_text(json.dumps(result, indent=2))
    return module, result


def hardware() -> str:
    import platform

    import torch

    if torch.cuda.is_available():
        return f"{torch.cuda.get_device_name(0)} x{torch.cuda.device_count()}"
    return f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def _mean(values) -> float:
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else float("nan")


def summarise(results: list[dict]) -> dict:
    accs = [r["accuracy"] for r in results]
    return {
        "folds": [r["test_fold"] for r in results],
        "accuracy": float(np.mean(accs)),
        "accuracy_std": float(np.std(accs)),
        "auc": _mean(r["auc"] for r in results),
        "recall1": _mean((r["recall_at"] or {}).get("1") for r in results),
        "recall1_batch_8x3": _mean(r["recall1_batch_8x3"] for r in results),
        "nmi": _mean(r["nmi"] for r in results),
        "train_seconds": float(np.sum([r.get("train_seconds", 0.0) for r in results])),
    }


def train_folds(
    cfg: TrainConfig,
    root: Path,
    test_folds: list[int],
    out_dir: Path,
    features: Path | None = None,
    crops: Path | None = None,
) -> dict:
    """Train one model per test fold; write and return {config, hardware, per_fold, summary}."""
    source, views = load_training_source(cfg.backbone, features, crops, cfg.image_size)
    results = []
    for k in test_folds:
        _, r = train_fold(cfg, source, root, k, out_dir, views)
        if r:
            results.append(r)
            print(f"whosthat: fold {k + 1}: accuracy {r['accuracy']:.4f}, AUC {r['auc']}", file=sys.stderr)
    if not results:
        return {}
    report = {
        "command": cfg.command,
        "config": asdict(cfg),
        "hardware": hardware(),
        "input": input_spec(cfg, source),
        "per_fold": results,
        "summary": summarise(results),
    }
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    (Path(out_dir) / "report.json").write_text(json.dumps(report, indent=2))
    return report


def baseline_folds(
    root: Path, test_folds: list[int], features: Path | None = None, normalise: bool = False
) -> dict:
    """The plain frozen dlib descriptors (flip-averaged, as served) evaluated with exactly the same protocol."""
    from whosthat.research.evaluation import l2_normalize
    from whosthat.research.prepare import load_features

    source, _, _ = load_features(features)
    emb = l2_normalize(source.data) if normalise else source.data.copy()
    emb[~source.found] = np.nan
    results = [evaluate_fold(emb, source, root, k, threshold_folds=[(k - 1) % 10])[0] for k in test_folds]
    return {
        "config": {
            "method": "none (dlib-resnet-v1 descriptors)",
            "normalise": normalise,
            "threshold": "from the pairs of the fold before the test fold, as for trained models",
        },
        "hardware": hardware(),
        "per_fold": results,
        "summary": summarise(results),
    }
