"""Webcam-like augmentation of 24x24 gray eye patches, for training the eye-state model (research.eyes).

The seed's comparison trains on the originals plus augmented copies of none (x1), half (x1.5) or all
(x2) of them: mirror flip, +-12 degree rotation, 0.88-1.15 scale, +-2 px shift, gamma, contrast and
brightness change, sometimes blur or sensor noise. Every draw comes from the generator passed in, so a
seed gives the same copies.
"""

from __future__ import annotations

import numpy as np

from whosthat.liveness.eyes import PATCH_SIZE


def augment(patch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One webcam-like variant of a 24x24 gray eye patch."""
    import cv2

    p = patch.astype(np.float32)
    if rng.random() < 0.5:
        p = p[:, ::-1]
    angle = rng.uniform(-12, 12)
    scale = rng.uniform(0.88, 1.15)
    m = cv2.getRotationMatrix2D((PATCH_SIZE / 2, PATCH_SIZE / 2), angle, scale)
    m[:, 2] += rng.uniform(-2, 2, size=2)
    p = cv2.warpAffine(np.ascontiguousarray(p), m, (PATCH_SIZE, PATCH_SIZE), borderMode=cv2.BORDER_REFLECT)
    gamma = rng.uniform(0.7, 1.4)
    p = 255.0 * (np.clip(p, 0, 255) / 255.0) ** gamma
    p = (p - p.mean()) * rng.uniform(0.7, 1.3) + p.mean() + rng.uniform(-25, 25)
    r = rng.random()
    if r < 0.25:
        p = cv2.GaussianBlur(p, (3, 3), rng.uniform(0.5, 1.2))
    elif r < 0.5:
        p = p + rng.normal(0, rng.uniform(2, 8), p.shape)
    return np.clip(p, 0, 255).astype(np.uint8)


def augmented_copies(x: np.ndarray, factor: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(augmented copies, their indices into x) of round((factor-1) N) patches, drawn without repeats first."""
    n_extra = int(round((factor - 1.0) * len(x)))
    if n_extra <= 0:
        return np.zeros((0, PATCH_SIZE, PATCH_SIZE), np.uint8), np.zeros(0, np.int64)
    idx = np.concatenate([rng.permutation(len(x)) for _ in range(int(np.ceil(n_extra / len(x))))])[:n_extra]
    return np.stack([augment(x[i], rng) for i in idx]), idx


def augmented_training_set(x: np.ndarray, y: np.ndarray, factor: float, seed: int):
    """The originals plus one fixed draw of augmented copies (the seed's recipe; `train_one` redraws them
    every epoch instead)."""
    extra, idx = augmented_copies(x, factor, np.random.default_rng(seed))
    return np.concatenate([x, extra]), np.concatenate([y, y[idx]])
