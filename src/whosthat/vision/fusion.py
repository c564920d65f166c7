"""Score-level fusion of several embedders as one more embedder: one template, one calibrated distance.

Each component m (dlib's ResNet, SFace) gives a unit vector u_m per face; for two faces its cosine is
c_m = u_m . v_m. Scores of different models live on different scales, so each is normalised on
training data (impostor mean -> 0, genuine mean -> 1) and the normalised scores are weighted:

    S = sum_m  weight_m * (c_m - impostor_mean_m) / (genuine_mean_m - impostor_mean_m)

With beta_m = weight_m / (genuine_mean_m - impostor_mean_m), B = sum_m beta_m and
K = sum_m beta_m * impostor_mean_m, the template

    x = concat_m( sqrt(beta_m / B) * u_m )          (unit length by construction)

gives x . y = (S + K) / B, so the squared Euclidean distance d^2 = 2 - 2 x . y and

    S = B * (1 - d^2 / 2) - K.

The fused score is thus a decreasing function of the Euclidean distance between fused templates: the
gallery's Euclidean search, `gallery.threshold` and every "distance <= threshold" rule work unchanged,
and the threshold in the card is a distance like any other embedder's. The normalisation and weights
are chosen on training data only (`whosthat calibrate-embedders`, docs/benchmarks.md) and stored in
the fused model's card (`src/whosthat/models/dlib+sface.json`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from whosthat.vision.embedders import (
    FUSED_EMBEDDER,
    embed_with_flip,
    finish,
    frame_raw,
    get_embedder,
    looks_at_frame,
    raw_features,
    read_card,
    unit_rows,
)


@dataclass(frozen=True)
class FusionPart:
    """One component: its embedder name, the mean cosine of impostor and of genuine training pairs,
    and its weight in the fused score."""

    name: str
    impostor_mean: float
    genuine_mean: float
    weight: float

    @property
    def beta(self) -> float:
        return self.weight / (self.genuine_mean - self.impostor_mean)

    def to_dict(self) -> dict:
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in asdict(self).items()}


class FusedEmbedder:
    """Several embedders on the same dlib chip, fused as the module docstring says.

    `raw(chips)` is the concatenation of the components' raw outputs (what caches store, independent
    of the weights); `finish(raw)` normalises and weighs them into the fused unit vector.
    """

    input_kind = "chip"

    def __init__(
        self,
        parts: list[FusionPart],
        *,
        name: str = FUSED_EMBEDDER,
        threshold: float | None = None,
        flip: bool = False,
        display_name: str | None = None,
    ):
        if not parts or any(p.weight < 0 or p.genuine_mean <= p.impostor_mean for p in parts):
            raise ValueError("fusion needs parts with weight >= 0 and genuine mean above impostor mean")
        self.name = name
        self.parts = list(parts)
        self.threshold = threshold
        self.flip = flip
        self.display_name = display_name or name
        self.components = [get_embedder(p.name) for p in self.parts]
        self.dims = [c.dim for c in self.components]
        self.dim = sum(self.dims)
        if any(c.input_kind != "chip" for c in self.components):
            raise ValueError("every fused component must take the pipeline's dlib chip")
        # one component placing its own input from the photo makes the fusion look at the photo
        self.frame_aware = any(looks_at_frame(c) for c in self.components)
        betas = np.array([p.beta for p in self.parts])
        self.B = float(betas.sum())
        self.K = float(sum(p.beta * p.impostor_mean for p in self.parts))
        self._scales = np.sqrt(betas / self.B).astype(np.float32)
        self.cache_key = f"{self.name}|" + "+".join(getattr(c, "cache_key", c.name) for c in self.components)

    @classmethod
    def from_card(cls, flip: bool = False, name: str = FUSED_EMBEDDER) -> FusedEmbedder:
        """The fusion described by the shipped card `NAME.json` (parts, threshold, display name)."""
        card = read_card(name)
        if not card.get("parts"):
            raise ValueError(f"{name}: no fusion card with parts (run `whosthat calibrate-embedders`)")
        parts = [
            FusionPart(**{k: p[k] for k in ("name", "impostor_mean", "genuine_mean", "weight")})
            for p in card["parts"]
        ]
        return cls(
            parts,
            name=name,
            threshold=card.get("threshold"),
            flip=flip,
            display_name=card.get("display_name"),
        )

    @classmethod
    def uncalibrated(cls, names: list[str], name: str = FUSED_EMBEDDER) -> FusedEmbedder:
        """The fusion before its calibration: equal weights, unnormalised cosines, no threshold. Its raw
        outputs (and so its cache rows) are those of the calibrated one; `whosthat calibrate-embedders`
        uses it to measure the components on the same chips."""
        return cls([FusionPart(n, 0.0, 1.0, 1.0 / len(names)) for n in names], name=name)

    def split(self, raw: np.ndarray) -> list[np.ndarray]:
        """The components' raw outputs from the concatenated raw output."""
        edges = np.cumsum([0, *self.dims])
        return [raw[..., a:b] for a, b in zip(edges[:-1], edges[1:], strict=True)]

    def raw(self, chips: np.ndarray) -> np.ndarray:
        chips = np.asarray(chips, np.uint8)
        if chips.ndim == 3:
            chips = chips[None]
        return np.concatenate([raw_features(c, chips) for c in self.components], axis=1).astype(np.float32)

    def raw_frame(self, rgb: np.ndarray, box, chip: np.ndarray, mirrored: bool) -> tuple[np.ndarray, dict]:
        """The components' raw outputs from the photo (those that place their own input from it do;
        the others take the chip), concatenated, and their notes merged (`embedders.frame_raw`)."""
        outs, notes = [], {}
        for c in self.components:
            raw, note = frame_raw(c, rgb, box, chip, mirrored)
            outs.append(raw)
            notes.update(note)
        return np.concatenate(outs, axis=1).astype(np.float32), notes

    def unit_parts(self, raw: np.ndarray) -> list[np.ndarray]:
        """Each component's template scaled to unit length (the u_m of the module docstring)."""
        return [unit_rows(finish(c, r)) for c, r in zip(self.components, self.split(raw), strict=True)]

    def finish(self, raw: np.ndarray) -> np.ndarray:
        parts = self.unit_parts(np.asarray(raw, np.float32))
        return np.concatenate([s * u for s, u in zip(self._scales, parts, strict=True)], axis=1)

    def embed(self, chips: np.ndarray) -> np.ndarray:
        return embed_with_flip(self, chips, self.flip)

    # The fused score and the distance are two views of one number.
    def score(self, cosines: np.ndarray) -> np.ndarray:
        """S from the components' cosines (float[..., n_parts])."""
        c = np.asarray(cosines, np.float64)
        return sum(
            p.weight * (c[..., i] - p.impostor_mean) / (p.genuine_mean - p.impostor_mean)
            for i, p in enumerate(self.parts)
        )

    def score_from_distance(self, distance: np.ndarray) -> np.ndarray:
        d = np.asarray(distance, np.float64)
        return self.B * (1 - d**2 / 2) - self.K

    def distance_from_score(self, score: float) -> float:
        return float(np.sqrt(max(0.0, 2 * (1 - (score + self.K) / self.B))))

    def card(self) -> dict:
        """What the card stores about the fusion itself (the parts and the constants B, K)."""
        return {
            "parts": [p.to_dict() for p in self.parts],
            "B": round(self.B, 6),
            "K": round(self.K, 6),
            "score": "S = sum_m weight_m * (cos_m - impostor_mean_m) / (genuine_mean_m - impostor_mean_m)",
            "template": "concat_m sqrt(beta_m / B) * u_m, beta_m = weight_m / (genuine_mean_m - "
            "impostor_mean_m), B = sum beta_m, u_m the unit vector of component m",
            "distance_to_score": "S = B * (1 - d^2 / 2) - K, K = sum_m beta_m * impostor_mean_m",
        }
