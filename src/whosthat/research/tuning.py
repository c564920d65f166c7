"""Hyper-parameter search with Optuna.

The objective trains on the people of every fold except the test fold and the validation fold, and
returns the best-threshold pair accuracy on the validation fold (ties broken by its ROC AUC); the
test fold is never loaded. The study lives in any SQLAlchemy URL (SQLite file by default), so several
machines pointing at one database share the search.
"""

from __future__ import annotations

import json
from pathlib import Path

SEARCH_SPACES = {
    "group_loss": lambda t: {
        "lr": t.suggest_float("lr", 1e-4, 3e-2, log=True),
        "weight_decay": t.suggest_float("weight_decay", 1e-6, 1e-2, log=True),
        "method_kwargs": {
            "temperature": t.suggest_float("temperature", 1.0, 30.0, log=True),
            "iterations": t.suggest_int("iterations", 1, 3),
            "anchors_per_class": t.suggest_int("anchors_per_class", 1, 2),
            "ce_weight": t.suggest_float("ce_weight", 0.1, 2.0, log=True),
            "warmup_epochs": t.suggest_int("warmup_epochs", 0, 2),
        },
    },
    "arcface": lambda t: {
        "lr": t.suggest_float("lr", 1e-4, 3e-2, log=True),
        "weight_decay": t.suggest_float("weight_decay", 1e-6, 1e-2, log=True),
        "method_kwargs": {
            "scale": t.suggest_float("scale", 8.0, 64.0, log=True),
            "margin": t.suggest_float("margin", 0.1, 0.6),
        },
    },
    "siamese_contrastive": lambda t: {
        "lr": t.suggest_float("lr", 1e-4, 3e-2, log=True),
        "weight_decay": t.suggest_float("weight_decay", 1e-6, 1e-2, log=True),
        "method_kwargs": {"margin": t.suggest_float("margin", 0.3, 1.6)},
    },
    "siamese_bce": lambda t: {
        "lr": t.suggest_float("lr", 1e-4, 3e-2, log=True),
        "weight_decay": t.suggest_float("weight_decay", 1e-6, 1e-2, log=True),
        "method_kwargs": {},
    },
}


def validation_score(module, source, root: Path, val_fold: int) -> tuple[float, float]:
    """(best-threshold accuracy, AUC) on the pairs of `val_fold`."""
    import numpy as np

    from whosthat.datasets import lfw
    from whosthat.research.evaluation import pair_distances
    from whosthat.research.train import embed_source
    from whosthat.vision.evaluation import best_threshold_with_accuracy, verification_roc

    emb = embed_source(module, source)
    index = source.index()
    pairs = [p for p in lfw.read_pairs(root, "pairs.txt") if p.fold == val_fold]

    def row(p: str) -> int:
        r = index.get(p, -1)
        return r if r >= 0 and source.found[r] else -1

    d = pair_distances(
        emb, np.array([row(p.path_a) for p in pairs]), np.array([row(p.path_b) for p in pairs])
    )
    same = np.array([p.same for p in pairs])
    ok = ~np.isnan(d)
    _, acc = best_threshold_with_accuracy(d[ok], same[ok])
    acc = acc * ok.mean()  # pairs without a face count as wrong
    return acc, verification_roc(d[ok], same[ok]).auc


def tune(
    method: str,
    backbone: str,
    root: Path,
    trials: int,
    test_fold: int,
    val_fold: int,
    epochs: int,
    storage: str,
    study_name: str,
    features: Path | None,
    crops: Path | None,
    out_dir: Path,
    batch_classes: int = 24,
    batch_images: tuple[int, ...] = (2, 3),
) -> dict:
    import lightning as L
    import optuna

    from whosthat.research.data import LFWDataModule
    from whosthat.research.modules import build_module
    from whosthat.research.train import (
        TrainConfig,
        input_spec,
        load_training_source,
        single_thread_for_small_models,
    )

    source, views = load_training_source(backbone, features, crops)
    single_thread_for_small_models(backbone, "cpu")

    def objective(trial: optuna.Trial) -> float:
        space = SEARCH_SPACES[method](trial)
        m = (
            trial.suggest_categorical("m_per_class", list(batch_images))
            if len(batch_images) > 1
            else batch_images[0]
        )
        cfg = TrainConfig(
            method=method,
            backbone=backbone,
            epochs=epochs,
            lr=space["lr"],
            n_classes=batch_classes,
            weight_decay=space["weight_decay"],
            m_per_class=m,
            method_kwargs=space["method_kwargs"],
            progress=False,
        )
        L.seed_everything(trial.number, verbose=False)
        dm = LFWDataModule(
            source,
            root,
            test_fold=test_fold,
            val_fold=val_fold,
            n_classes=cfg.n_classes,
            m_per_class=cfg.m_per_class,
            seed=trial.number,
            feature_views=views,
        )
        dm.setup()
        module = build_module(
            method,
            backbone=backbone,
            dim=cfg.resolved_dim(),
            n_classes=dm.num_train_classes,
            lr=cfg.lr,
            weight_decay=cfg.weight_decay,
            input_spec=input_spec(cfg, source),
            **cfg.method_kwargs,
        )
        trainer = L.Trainer(
            max_epochs=epochs,
            accelerator="cpu",
            devices=1,
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            num_sanity_val_steps=0,
            limit_val_batches=0,
            use_distributed_sampler=False,
        )
        trainer.fit(module, dm)
        acc, auc = validation_score(module, source, root, val_fold)
        trial.set_user_attr("val_auc", auc)
        return acc + 1e-3 * auc  # AUC only breaks ties between equal accuracies (one pair = 1/600)

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        study_name=study_name, storage=storage, direction="maximize", load_if_exists=True
    )
    study.optimize(objective, n_trials=trials, show_progress_bar=True)
    best = study.best_trial
    result = {
        "study": study_name,
        "storage": storage,
        "trials": len(study.trials),
        "best_value": best.value,
        "best_params": best.params,
        "best_val_auc": best.user_attrs.get("val_auc"),
        "test_fold": test_fold + 1,
        "val_fold": val_fold + 1,
        "epochs": epochs,
    }
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    (Path(out_dir) / "best.json").write_text(json.dumps(result, indent=2))
    return result
