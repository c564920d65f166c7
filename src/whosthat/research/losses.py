"""Losses for face embeddings: contrastive, Siamese binary cross-entropy, Group Loss, ArcFace.

All take a batch of embeddings [B, D] and integer labels [B] as produced by the n x m sampler.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def all_pairs(labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Indices (i, j), i < j, of every pair in the batch and whether the two share a label."""
    i, j = torch.triu_indices(len(labels), len(labels), offset=1, device=labels.device)
    return i, j, labels[i] == labels[j]


def balanced_mean(values: torch.Tensor, same: torch.Tensor) -> torch.Tensor:
    """(mean over positive pairs + mean over negative pairs) / 2, so the ~1:n class ratio of a batch does not swamp positives."""
    parts = [values[mask].mean() for mask in (same, ~same) if mask.any()]
    return torch.stack(parts).mean()


def contrastive_loss(distances: torch.Tensor, same: torch.Tensor, margin: float = 1.0) -> torch.Tensor:
    """Hadsell, Chopra, LeCun 2006, per pair: same -> d^2 / 2, different -> max(0, margin - d)^2 / 2 (not averaged)."""
    same = same.to(distances.dtype)
    return 0.5 * same * distances.pow(2) + 0.5 * (1 - same) * F.relu(margin - distances).pow(2)


class SiameseBCEHead(nn.Module):
    """Scores a pair from |e_a - e_b| (element-wise) with a linear layer: a logit that the two are the same person."""

    def __init__(self, dim: int):
        super().__init__()
        self.fc = nn.Linear(dim, 1)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return self.fc((a - b).abs()).squeeze(-1)


def pearson_similarity(x: torch.Tensor) -> torch.Tensor:
    """Pearson correlation between rows (centre each row, then cosine), as in the Group Loss code."""
    x = x - x.mean(dim=1, keepdim=True)
    x = F.normalize(x, dim=1, eps=1e-12)
    return x @ x.t()


def replicator_dynamics(W: torch.Tensor, X: torch.Tensor, iterations: int = 1) -> torch.Tensor:
    """Discrete replicator dynamics: X <- X * (W X), rows renormalised to sum to 1, `iterations` times.

    W [B, B] non-negative with a zero diagonal (how much sample j supports sample i), X [B, C] the
    current class probabilities of each sample. A sample's probability for class c grows with the
    support it gets from samples that believe in c. A sample with no support for any of its classes
    (no positive similarity in the batch) keeps its probabilities instead of dividing 0 by 0.
    """
    for _ in range(iterations):
        num = X * (W @ X)
        total = num.sum(dim=1, keepdim=True)
        X = torch.where(total > 0, num / total.clamp_min(1e-12), X)
    return X


class GroupLoss(nn.Module):
    """The Group Loss (Elezi, Vascon, Torcinovich, Pelillo, Leal-Taixe, ECCV 2020).

    For a batch: W = ReLU(similarity of embeddings) with a zero diagonal; priors X0 = softmax(logits / T)
    from the classifier, except for the anchors (a few labelled samples per class in the batch), whose
    rows are one-hot on their label; refine X with replicator dynamics over W; the loss is the negative
    log-likelihood of the true labels under the refined X. The paper adds the classifier's
    cross-entropy (weight `ce_weight`) and starts with a classification-only warm-up (in the module).
    """

    def __init__(
        self,
        temperature: float = 10.0,
        iterations: int = 1,
        anchors_per_class: int = 1,
        similarity: str = "pearson",
        ce_weight: float = 1.0,
    ):
        super().__init__()
        if similarity not in ("pearson", "cosine"):
            raise ValueError("similarity must be 'pearson' or 'cosine'")
        self.temperature, self.iterations = temperature, iterations
        self.anchors_per_class, self.similarity = anchors_per_class, similarity
        self.ce_weight = ce_weight

    def similarity_matrix(self, embeddings: torch.Tensor) -> torch.Tensor:
        if self.similarity == "pearson":
            S = pearson_similarity(embeddings)
        else:
            e = F.normalize(embeddings, dim=1)
            S = e @ e.t()
        W = F.relu(S)
        return W - torch.diag_embed(torch.diagonal(W))

    def anchor_mask(self, labels: torch.Tensor) -> torch.Tensor:
        """The first `anchors_per_class` occurrences of each label in the batch are anchors (batch order is random)."""
        mask = torch.zeros_like(labels, dtype=torch.bool)
        seen: dict[int, int] = {}
        for i, y in enumerate(labels.tolist()):
            if seen.get(y, 0) < self.anchors_per_class:
                mask[i] = True
                seen[y] = seen.get(y, 0) + 1
        return mask

    def priors(self, logits: torch.Tensor, labels: torch.Tensor, anchors: torch.Tensor) -> torch.Tensor:
        X = F.softmax(logits / self.temperature, dim=1)
        onehot = F.one_hot(labels, logits.shape[1]).to(X.dtype)
        return torch.where(anchors[:, None], onehot, X)

    def forward(
        self, embeddings: torch.Tensor, logits: torch.Tensor, labels: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        anchors = self.anchor_mask(labels)
        W = self.similarity_matrix(embeddings)
        X = replicator_dynamics(W, self.priors(logits, labels, anchors), self.iterations)
        group = F.nll_loss(torch.log(X + 1e-12), labels)
        ce = F.cross_entropy(logits, labels)
        return {"loss": group + self.ce_weight * ce, "group_loss": group, "ce_loss": ce}


class ArcMarginProduct(nn.Module):
    """ArcFace logits (Deng et al., CVPR 2019): s * cos(theta + m) for the true class, s * cos(theta) for the rest."""

    def __init__(self, dim: int, n_classes: int, scale: float = 32.0, margin: float = 0.5):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_classes, dim))
        nn.init.xavier_uniform_(self.weight)
        self.scale, self.margin = scale, margin
        self.cos_m, self.sin_m = math.cos(margin), math.sin(margin)
        # beyond theta = pi - m, cos(theta + m) stops decreasing; use the linear fallback from insightface
        self.th, self.mm = math.cos(math.pi - margin), math.sin(math.pi - margin) * margin

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        cos = F.linear(F.normalize(embeddings), F.normalize(self.weight)).clamp(-1 + 1e-7, 1 - 1e-7)
        if labels is None:
            return self.scale * cos
        sin = torch.sqrt(1.0 - cos * cos)
        cos_m = cos * self.cos_m - sin * self.sin_m
        cos_m = torch.where(cos > self.th, cos_m, cos - self.mm)
        onehot = F.one_hot(labels, cos.shape[1]).to(cos.dtype)
        return self.scale * (onehot * cos_m + (1 - onehot) * cos)
