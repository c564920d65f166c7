"""The training methods as LightningModules over the shared backbones.

Each module maps a batch `(x, labels)` from the n x m sampler to a loss, and exposes `forward(x)` ->
L2-normalised embeddings (what evaluation and ONNX export use). Validation embeds the images of the
data module's validation pairs and logs `val_acc` (best-threshold accuracy on those pairs, for
monitoring and tuning only) and `val_recall1`.

- `siamese_bce`: pairs from the batch, a linear layer on |e_a - e_b| -> same-person logit, BCE.
- `siamese_contrastive`: pairs from the batch, contrastive loss on the embedding distance.
- `group_loss`: Group Loss with classifier priors, after `warmup_epochs` of classifier-only training
  with the backbone frozen (Elezi et al. 2020, section 3.3).
- `arcface`: additive angular margin softmax.
Positive and negative pairs are weighted equally (the batch holds ~n times more negatives).
"""

from __future__ import annotations

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from whosthat.research import losses
from whosthat.research.backbones import build_backbone


class EmbeddingModule(L.LightningModule):
    method = "embedding"

    def __init__(
        self,
        backbone: str = "dlib_features",
        dim: int = 128,
        n_classes: int = 0,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        backbone_weights: str | None = None,
        backbone_kwargs: dict | None = None,
        input_spec: str = "features:dlib-resnet-v1",
        **method_kwargs,
    ):
        super().__init__()
        self.save_hyperparameters()
        self.backbone = build_backbone(backbone, dim, backbone_weights, **(backbone_kwargs or {}))
        self._val_outputs: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.backbone(x), dim=1)

    def configure_optimizers(self):
        opt = torch.optim.AdamW(self.parameters(), lr=self.hparams.lr, weight_decay=self.hparams.weight_decay)
        epochs = max(int(self.trainer.max_epochs or 1), 1) if self.trainer is not None else 1
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "epoch"}}

    def validation_step(self, batch, batch_idx):
        x, _ = batch
        self._val_outputs.append(self(x).detach().cpu())

    def on_validation_epoch_end(self):
        from whosthat.research.evaluation import pair_distances, recall_at_k
        from whosthat.vision.evaluation import best_threshold_with_accuracy

        if not self._val_outputs:
            return
        emb = torch.cat(self._val_outputs).numpy()
        self._val_outputs.clear()
        dm = getattr(self.trainer, "datamodule", None)
        if dm is None or getattr(dm, "val_pairs", None) is None or len(emb) != len(dm.val_labels):
            return  # sanity check or limited validation: not the whole set, nothing to score
        a, b, same = dm.val_pairs
        d = pair_distances(emb, a, b)
        ok = ~np.isnan(d)
        _, acc = best_threshold_with_accuracy(d[ok], same[ok])
        self.log("val_acc", acc, prog_bar=True, sync_dist=False)
        try:
            self.log("val_recall1", recall_at_k(emb, dm.val_labels, (1,))[1], sync_dist=False)
        except ValueError:
            pass

    def _log_losses(self, parts: dict[str, torch.Tensor], batch_size: int) -> torch.Tensor:
        for k, v in parts.items():
            self.log(f"train_{k}", v, prog_bar=(k == "loss"), batch_size=batch_size)
        return parts["loss"]


class SiameseModule(EmbeddingModule):
    """Siamese training on every pair of the n x m batch; `loss` is 'bce' or 'contrastive'."""

    def __init__(self, loss: str = "contrastive", margin: float = 1.0, **kwargs):
        super().__init__(loss=loss, margin=margin, **kwargs)
        if loss not in ("bce", "contrastive"):
            raise ValueError("loss must be 'bce' or 'contrastive'")
        self.method = f"siamese_{loss}"
        self.pair_head = losses.SiameseBCEHead(self.hparams.dim) if loss == "bce" else None

    def training_step(self, batch, batch_idx):
        x, y = batch
        e = self(x)
        i, j, same = losses.all_pairs(y)
        if self.pair_head is not None:
            logits = self.pair_head(e[i], e[j])
            per_pair = F.binary_cross_entropy_with_logits(logits, same.float(), reduction="none")
        else:
            per_pair = losses.contrastive_loss((e[i] - e[j]).norm(dim=1), same, self.hparams.margin)
        return self._log_losses({"loss": losses.balanced_mean(per_pair, same)}, len(y))


class GroupLossModule(EmbeddingModule):
    method = "group_loss"

    def __init__(
        self,
        temperature: float = 10.0,
        iterations: int = 1,
        anchors_per_class: int = 1,
        similarity: str = "pearson",
        ce_weight: float = 1.0,
        warmup_epochs: int = 1,
        **kwargs,
    ):
        super().__init__(
            temperature=temperature,
            iterations=iterations,
            anchors_per_class=anchors_per_class,
            similarity=similarity,
            ce_weight=ce_weight,
            warmup_epochs=warmup_epochs,
            **kwargs,
        )
        if self.hparams.n_classes < 2:
            raise ValueError("group_loss needs n_classes >= 2 (the training identities)")
        self.classifier = nn.Linear(self.hparams.dim, self.hparams.n_classes)
        self.criterion = losses.GroupLoss(temperature, iterations, anchors_per_class, similarity, ce_weight)

    def _warming_up(self) -> bool:
        return self.current_epoch < self.hparams.warmup_epochs

    def on_train_epoch_start(self):
        # warm-up: only the classifier learns, so the priors mean something before the dynamics use them
        for p in self.backbone.parameters():
            p.requires_grad_(not self._warming_up())
        self.backbone.train(not self._warming_up())

    def training_step(self, batch, batch_idx):
        x, y = batch
        raw = self.backbone(x)
        logits = self.classifier(F.normalize(raw, dim=1))
        if self._warming_up():
            parts = {"loss": F.cross_entropy(logits, y)}
        else:
            parts = self.criterion(raw, logits, y)
        return self._log_losses(parts, len(y))


class ArcFaceModule(EmbeddingModule):
    method = "arcface"

    def __init__(self, scale: float = 32.0, margin: float = 0.5, **kwargs):
        super().__init__(scale=scale, margin=margin, **kwargs)
        if self.hparams.n_classes < 2:
            raise ValueError("arcface needs n_classes >= 2 (the training identities)")
        self.arc = losses.ArcMarginProduct(self.hparams.dim, self.hparams.n_classes, scale, margin)

    def training_step(self, batch, batch_idx):
        x, y = batch
        logits = self.arc(self.backbone(x), y)
        return self._log_losses({"loss": F.cross_entropy(logits, y)}, len(y))


METHODS = {
    "siamese_bce": (SiameseModule, {"loss": "bce"}),
    "siamese_contrastive": (SiameseModule, {"loss": "contrastive"}),
    "group_loss": (GroupLossModule, {}),
    "arcface": (ArcFaceModule, {}),
}


def build_module(method: str, **kwargs) -> EmbeddingModule:
    from whosthat.errors import BadInputError

    if method not in METHODS:
        raise BadInputError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    cls, fixed = METHODS[method]
    return cls(**fixed, **kwargs)


def load_module(checkpoint) -> EmbeddingModule:
    """Rebuild the right module class from a Lightning checkpoint file (CPU)."""
    from pathlib import Path

    from whosthat.errors import BadInputError

    path = Path(checkpoint)
    if not path.is_file():
        raise BadInputError(f"checkpoint not found: {path}")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # not a torch file
        raise BadInputError(f"{path} is not a PyTorch Lightning checkpoint: {exc}") from exc
    hp = ckpt.get("hyper_parameters") if isinstance(ckpt, dict) else None
    if not hp or "backbone" not in hp:
        raise BadInputError(f"{path} is not a whosthat research checkpoint (no hyper_parameters)")
    method = "siamese_" + hp["loss"] if "loss" in hp else ("group_loss" if "temperature" in hp else "arcface")
    hp = {k: v for k, v in hp.items() if k != "loss"}
    hp["backbone_weights"] = None
    module = build_module(method, **hp)
    module.load_state_dict(ckpt["state_dict"])
    return module.eval()
