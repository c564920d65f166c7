"""Command-line verbs of recognition across populations: eval nuaa / celeba / populations,
calibrate-embedders (thresholds and the fusion's weights into the model cards), calibrate-sface (the
SFace crop from the dlib chip, and its check against YuNet's alignment on LFW View 1)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from whosthat.errors import BadInputError

JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output on stdout")]
DataOpt = Annotated[
    Path | None,
    typer.Option("--data", help="dataset folder, or the folder holding it (default WHOSTHAT_DATA)"),
]
ModelsOpt = Annotated[
    str | None,
    typer.Option(
        "--models",
        help="comma-separated built-in embedders (default: dlib-resnet-v1,sface-2021dec,dlib+sface)",
    ),
]
PartOpt = Annotated[
    str,
    typer.Option(
        "--part",
        help="report (held-out identities: the reported numbers) or tune (where thresholds are chosen)",
    ),
]
FlipOpt = Annotated[
    bool | None,
    typer.Option("--flip/--no-flip", help="mirror test-time augmentation (default: WHOSTHAT_FLIP_TTA)"),
]


def _names(models: str | None) -> tuple[str, ...]:
    from whosthat.vision.embedder_calibration import BUILT_IN

    names = tuple(m.strip() for m in (models or ",".join(BUILT_IN)).split(",") if m.strip())
    unknown = [n for n in names if n not in BUILT_IN]
    if unknown:
        raise BadInputError(
            f"--models: {', '.join(unknown)} not measurable here; choose from {', '.join(BUILT_IN)}"
        )
    return names


def _flip(flip: bool | None) -> bool:
    from whosthat.config import get_settings

    return get_settings().flip_tta if flip is None else flip


def _log(message: str) -> None:
    typer.echo(f"whosthat: {message}", err=True)


def _rates_table(result: dict) -> list[str]:
    lines = [
        "| embedder | population | threshold | FMR (false / impostor pairs) | FMR 95% upper | FNMR (misses / genuine pairs) | TAR@FMR=1e-3 | LFW View 2 accuracy |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, by_pop in result["rates"].items():
        for pop, r in by_pop.items():
            acc = r.get("view2_accuracy", {})
            acc_text = (
                f"{100 * acc['accuracy_mean']:.2f}% ± {100 * acc['accuracy_std']:.2f}"
                if "accuracy_mean" in acc
                else ""
            )
            lines.append(
                f"| {name} | {pop} | {r['threshold']:.4f} | {r['fmr']:.2e} ({r['false_matches']:,} / {r['impostor_pairs']:,}) | "
                f"{r['fmr_upper_95']:.1e} | {r['fnmr']:.4f} ({r['false_non_matches']:,} / {r['genuine_pairs']:,}) | "
                f"{100 * r['tar_at_fmr_1e-3']:.2f}% | {acc_text} |"
            )
    return lines


LfwFoldsOpt = Annotated[
    int,
    typer.Option("--lfw-folds", min=2, max=10, help="LFW report part: the first N folds of View 2 (quicker)"),
]


def _run_report(
    populations: tuple[str, ...], data, models, part, flip, out, as_json, lfw_folds: int = 10
) -> None:
    from whosthat.config import get_settings
    from whosthat.vision.embedder_calibration import report_rates
    from whosthat.vision.populations import PARTS

    if part not in PARTS:
        raise BadInputError(f"--part must be one of {', '.join(PARTS)}")
    result = report_rates(
        data, _names(models), populations, part=part, flip=_flip(flip), lfw_folds=lfw_folds, log=_log
    )
    result["command"] = "whosthat " + " ".join(sys.argv[1:])
    out = out or get_settings().home / "reports" / f"recognition-{'-'.join(populations)}-{part}"
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(result, indent=2))
    sets = [
        f"- {s['population']} {s['part']}: {s['images']} photos of {s['identities']} identities "
        f"({s['no_face']} without a face, left out); {s['genuine_pairs']:,} genuine pairs, "
        f"{s['impostor_pairs']:,} impostor pairs between {s['impostor_identity_pairs']:,} pairs of identities. "
        + " ".join(s["notes"])
        for s in result["sets"].values()
    ]
    md = [
        f"# Recognition, {part} parts of {', '.join(populations)}",
        "",
        *sets,
        "",
        *_rates_table(result),
        "",
    ]
    (out / "report.md").write_text("\n".join(md))
    if as_json:
        sys.stdout.write(json.dumps(result) + "\n")
    else:
        typer.echo("\n".join(md))
        _log(f"report: {out}/report.md, {out}/report.json")


def eval_nuaa_command(
    data: DataOpt = None,
    models: ModelsOpt = None,
    part: PartOpt = "report",
    flip: FlipOpt = None,
    out: Annotated[Path | None, typer.Option("--out", help="report folder")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Recognition on NUAA's live webcam frames: cross-session genuine pairs, cross-subject impostor
    pairs, on the subjects held out from threshold choice; FMR and FNMR at each embedder's threshold."""
    _run_report(("nuaa",), data, models, part, flip, out, as_json)


def eval_celeba_command(
    data: DataOpt = None,
    models: ModelsOpt = None,
    part: PartOpt = "report",
    flip: FlipOpt = None,
    out: Annotated[Path | None, typer.Option("--out", help="report folder")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Recognition on CelebA's in-the-wild photos, on the identities held out from threshold choice."""
    _run_report(("celeba",), data, models, part, flip, out, as_json)


def eval_populations_command(
    data: DataOpt = None,
    models: ModelsOpt = None,
    part: PartOpt = "report",
    flip: FlipOpt = None,
    out: Annotated[Path | None, typer.Option("--out", help="report folder")] = None,
    lfw_folds: LfwFoldsOpt = 10,
    as_json: JsonOpt = False,
) -> None:
    """LFW, NUAA and CelebA together (the table of docs/benchmarks.md): per embedder and population,
    FMR and FNMR at the default threshold, TAR at FMR 1e-3, and LFW View 2 accuracy."""
    from whosthat.vision.populations import POPULATIONS

    _run_report(POPULATIONS, data, models, part, flip, out, as_json, lfw_folds)


def calibrate_embedders_command(
    data: DataOpt = None,
    target_fmr: Annotated[
        float, typer.Option("--target-fmr", help="the false-match rate each population must keep")
    ] = 1e-3,
    safety: Annotated[
        float, typer.Option("--safety", help="thresholds are set at target-fmr / safety on the tune parts")
    ] = 2.0,
    flip: FlipOpt = None,
    write: Annotated[
        bool, typer.Option("--write/--dry-run", help="write the model cards (src/whosthat/models)")
    ] = True,
    as_json: JsonOpt = False,
) -> None:
    """Choose the fusion's normalisation and weight and each built-in embedder's threshold (and a 1:N
    margin) on the tune parts of LFW, NUAA and CelebA; write them into the model cards."""
    from whosthat.vision.embedder_calibration import calibrate_embedders, write_cards

    if not 0 < target_fmr < 1 or safety < 1:
        raise BadInputError("--target-fmr must be in (0, 1) and --safety at least 1")
    result = calibrate_embedders(data, target_fmr=target_fmr, safety=safety, flip=_flip(flip), log=_log)
    command = "whosthat " + " ".join(sys.argv[1:])
    if write:
        for path in write_cards(result, command):
            _log(f"wrote {path}")
    printable = {k: v for k, v in result.items() if k != "fusion_embedder"}
    if as_json:
        sys.stdout.write(json.dumps(printable, default=float) + "\n")
        return
    f = result["fusion"]
    typer.echo(f"fusion weight (dlib) {f['weight_dlib']:.2f}; normalisation {f['normalisation']}")
    for name, card in result["embedders"].items():
        fnmr = ", ".join(f"{p} {r['fnmr']:.4f}" for p, r in card["tune_rates"].items())
        typer.echo(
            f"{name}: threshold {card['threshold']:.4f} (per population {card['threshold_by_population']}); "
            f"tune FNMR {fnmr}; margin {card['margin']['recommended']}"
        )


def calibrate_sface_command(
    data: Annotated[Path, typer.Option("--data", help="LFW folder (pairs files + lfw-deepfunneled/)")],
    images: Annotated[int, typer.Option(help="how many photos to fit on")] = 600,
    seed: int = 0,
    compare: Annotated[
        bool, typer.Option("--compare/--no-compare", help="also compare with YuNet's alignment on LFW View 1")
    ] = True,
    write: Annotated[
        bool, typer.Option("--write/--dry-run", help="write src/whosthat/models/sface_chip_alignment.json")
    ] = True,
    as_json: JsonOpt = False,
) -> None:
    """Fit the fixed map from the dlib chip to SFace's 112x112 crop on LFW photos no pair uses, and
    measure on LFW View 1 how SFace does with it against YuNet's own five points."""
    import random

    from whosthat.vision import lfw, sface

    lfw_dir = lfw.lfw_root(data)
    root = lfw_dir / lfw.IMAGES_DIR
    pair_files = ("pairs.txt", "pairsDevTrain.txt", "pairsDevTest.txt")
    used = {x for name in pair_files for p in lfw.read_pairs(lfw_dir, name) for x in (p.path_a, p.path_b)}
    pool = sorted(set(str(p.relative_to(root)) for p in root.glob("*/*.jpg")) - used)
    random.Random(seed).shuffle(pool)
    matrix, used_count = sface.fit_chip_map([root / f for f in pool[:images]])
    result = {
        "matrix": [[round(float(v), 6) for v in row] for row in matrix],
        "maps": "dlib chip pixels (150x150, dlib.get_face_chip padding 0.25) -> SFace crop pixels (112x112)",
        "fitted_on": f"{used_count} LFW deep-funneled images that no pair of View 1 or View 2 uses "
        f"({images} drawn with seed {seed}; the rest had no central face for YuNet or the pipeline)",
        "statistic": "similarity (Umeyama) from the median YuNet 5 points in chip coordinates onto ArcFace's "
        "112x112 template",
        "command": f"whosthat calibrate-sface --data {data} --images {images} --seed {seed}",
    }
    if write:
        sface.CHIP_MAP_FILE.write_text(json.dumps(result, indent=2) + "\n")
        sface.chip_map.cache_clear()
        _log(f"wrote {sface.CHIP_MAP_FILE}")
    if compare:
        result["view1"] = compare_alignments(lfw_dir)
    if as_json:
        sys.stdout.write(json.dumps(result) + "\n")
        return
    typer.echo(json.dumps({k: v for k, v in result.items() if k != "view1"}, indent=2))
    for name, acc in result.get("view1", {}).items():
        typer.echo(f"LFW View 1 pairsDevTest (10-fold), SFace {name}: {100 * acc:.2f}%")


def compare_alignments(lfw_dir: Path) -> dict:
    """LFW View 1 accuracy of SFace aligned (a) by the chip map on the pipeline's dlib chip, (b) by YuNet's
    own five points on the photo, plain and with the mirror."""
    from whosthat.vision import lfw
    from whosthat.vision.embedder_calibration import fused_raw, lfw_view1_accuracy
    from whosthat.vision.embedders import unit_rows
    from whosthat.vision.populations import pair_distances, pair_set
    from whosthat.vision.sface import yunet_sface_features

    ps = pair_set("lfw", "tune", lfw_dir)
    root = lfw_dir / lfw.IMAGES_DIR
    index = {str(f): k for k, f in enumerate(ps.files)}
    dev_test = lfw.read_pairs(lfw_dir, "pairsDevTest.txt")
    imp = np.array(
        [[index[str(root / p.path_a)], index[str(root / p.path_b)]] for p in dev_test if not p.same]
    )
    out = {}
    for flip in (False, True):
        chip = unit_rows(fused_raw(ps, flip, progress=False)[:, 128:])
        plain, mirrored = yunet_sface_features(ps.files)
        yunet = unit_rows((plain + mirrored) / 2 if flip else plain)
        for name, tpl in (("chip map", chip), ("YuNet points", yunet)):
            acc = lfw_view1_accuracy(pair_distances(tpl, ps.genuine), pair_distances(tpl, imp))
            out[f"{name}{', flip' if flip else ''}"] = acc
    return out
