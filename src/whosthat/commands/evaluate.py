"""`whosthat eval lfw|eyes|pad|baseline`: a model on a dataset, metrics and plots in a report.

    whosthat eval lfw --data DIR [--view 1] [--json]       the face pipeline on LFW's protocol (vision.lfw_eval)
    whosthat eval eyes --data DIR [--split test] [--json]   the eye-state model on CEW-layout patches
    whosthat eval pad --data DIR [--subjects ...] [--json]  the print-attack model on NUAA-layout frames
    whosthat eval baseline [--test-fold K] [--json]         dlib descriptors under the research protocol
    whosthat eval nuaa|celeba|populations [--data DIR] [--part report|tune] [--models ...] [--json]
                                                            recognition per population (vision.populations):
                                                            FMR and FNMR at each built-in embedder's threshold

`eval lfw`, `eval eyes` and `eval pad` run the shipped (ONNX) models and need no torch; `eval baseline`
runs the research block's protocol and needs the [train] extra.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from whosthat.commands.faces import DetectorOpt, ModelOpt
from whosthat.commands.options import (
    DatasetOpt,
    FlipOpt,
    FoldsOpt,
    JsonOpt,
    LfwDataOpt,
    ModelFileOpt,
    PopulationDataOpt,
    data_root,
    echo_json,
    emit,
    flip_setting,
    fold_indices,
    lfw_folder,
    log,
    need_folder,
    need_torch,
)
from whosthat.errors import BadInputError


def eval_lfw_command(
    data: Annotated[Path, typer.Option("--data", help="LFW folder (pairs.txt + lfw-deepfunneled/)")],
    out: Annotated[Path | None, typer.Option("--out", help="report folder")] = None,
    model: ModelOpt = None,
    detector: DetectorOpt = None,
    flip: Annotated[
        bool | None,
        typer.Option(
            "--flip/--no-flip", help="mirror test-time augmentation (the plain variant is reported too)"
        ),
    ] = None,
    limit_folds: Annotated[
        int,
        typer.Option(
            min=2,
            max=10,
            help="evaluate only the first N folds (quick checks; at least 2: each fold's threshold is "
            "chosen on the others)",
        ),
    ] = 10,
    view: Annotated[
        int,
        typer.Option(
            "--view",
            min=1,
            max=2,
            help="2: pairs.txt, 10 folds (the reported number); 1: threshold on pairsDevTrain, accuracy on "
            "pairsDevTest (for choosing settings without looking at View 2)",
        ),
    ] = 2,
    jitter: Annotated[
        int,
        typer.Option(
            "--jitter",
            min=0,
            max=100,
            help="average N jittered copies of each chip (dlib's num_jitters; replaces --flip; N x the cost)",
        ),
    ] = 0,
    cache: Annotated[
        Path | None,
        typer.Option(
            "--cache",
            help="folder of the embedding cache (default $WHOSTHAT_HOME/cache): re-runs and other variants "
            "of the same photos take seconds",
        ),
    ] = None,
    yunet: Annotated[
        bool,
        typer.Option(
            "--yunet",
            help="with a fused model: also SFace on YuNet's own crop, alone and fused with dlib per fold",
        ),
    ] = False,
    view1_weight: Annotated[
        bool,
        typer.Option(
            "--view1-weight/--no-view1-weight",
            help="with a fused model: also the fusion with its weight chosen on View 1 (embeds View 1's photos)",
        ),
    ] = True,
    as_json: JsonOpt = False,
) -> None:
    """LFW View 2, official 10-fold protocol: accuracy (threshold from 9 folds), AUC, TAR@FAR, ROC plot.
    `--view 1` evaluates on LFW's development split instead, for choosing settings. With `--model
    dlib+sface` each component alone and the fusion chosen per fold (normalisation, weight, threshold
    on the nine training folds) are reported too."""
    from whosthat.vision.lfw_eval import evaluate_lfw

    command = "whosthat eval lfw " + " ".join(sys.argv[3:]) if len(sys.argv) > 3 else "whosthat eval lfw"
    result = evaluate_lfw(
        data,
        out,
        model,
        detector,
        flip,
        limit_folds,
        view,
        jitter,
        command=command,
        cache_dir=cache,
        yunet=yunet,
        view1_weight=view1_weight,
    )
    if as_json:
        echo_json(result.report)
    else:
        typer.echo(result.markdown)
        folder = result.folder
        typer.echo(f"report: {folder}/report.md, {folder}/report.json, ROC: {folder}/roc.png", err=True)


def eval_eyes_command(
    data: DatasetOpt,
    model: ModelFileOpt = None,
    out: Annotated[Path | None, typer.Option("--out", help="write report.json and roc.png here")] = None,
    split: Annotated[
        str, typer.Option(help="all, or train/validation/test of `train eyes`' face split")
    ] = "all",
    seed: Annotated[int, typer.Option(help="the split's seed (as given to `train eyes`)")] = 0,
    as_json: JsonOpt = False,
) -> None:
    """Accuracy, AUC and confusion matrix of the eye-state model on any CEW-layout folder."""
    need_folder(data)
    from whosthat.research.eyes_evaluation import evaluate_eyes

    report = evaluate_eyes(data, model, out, split=split, seed=seed)
    if as_json:
        echo_json(report)
        return
    c = report["confusion"]
    typer.echo(
        f"model {report['model']}  data {data} ({report['split']})  n={report['n']} (closed {report['n_closed']})"
    )
    typer.echo(
        f"accuracy {report['accuracy']:.4f}  AUC {report['auc']:.4f}  threshold {report['threshold']:.3f}"
    )
    typer.echo("confusion (rows true, cols predicted)   open   closed")
    typer.echo(
        f"  open                                {c['true_open_pred_open']:5d}  {c['true_open_pred_closed']:6d}"
    )
    typer.echo(
        f"  closed                              {c['true_closed_pred_open']:5d}  {c['true_closed_pred_closed']:6d}"
    )
    f = report["faces"]
    typer.echo(
        f"per face (eyes of one face averaged, as the kiosk decides): {f['n']} faces, accuracy "
        f"{f['accuracy']:.4f} ({f['errors']} wrong)"
    )


def eval_pad_command(
    data: DatasetOpt,
    model: Annotated[
        Path | None,
        typer.Option(
            "--model",
            help="ONNX print-attack model: takes the place of the shipped model of its kind (MiniFASNet or "
            "the NUAA CNN); with --subjects, the one model scored",
        ),
    ] = None,
    subjects: Annotated[
        str | None,
        typer.Option(
            help="comma-separated subject ids: score only them, with one model (--model, default the "
            "configured one) at its own threshold, instead of the protocol"
        ),
    ] = None,
    retinaface: Annotated[
        Path | None,
        typer.Option(
            "--retinaface",
            help="folder of MiniFASNet's RetinaFace detector: also check the mapped face-mesh boxes against it",
        ),
    ] = None,
    attempt_frames: Annotated[
        int, typer.Option(min=1, max=100, help="consecutive frames fused per attempt")
    ] = 8,
    jpeg_quality: Annotated[
        int | None,
        typer.Option(
            min=10, max=100, help="re-encode every frame as JPEG at this quality first (the kiosk: 85)"
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="write report.json, report.md and roc.png here")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Print-attack detection on a NUAA-layout folder: APCER, BPCER and ACER (ISO/IEC 30107-3) of MiniFASNet,
    the NUAA CNN and their fusion, thresholds chosen on training-side subjects, reported per subject and
    session on subjects (and sessions) outside every training set (research.pad_evaluation)."""
    need_folder(data)
    if retinaface is not None and not retinaface.is_dir():
        raise BadInputError(f"--retinaface {retinaface}: not a folder")
    from whosthat.research.pad_evaluation import evaluate_model, evaluate_pad, report_markdown

    if subjects:
        report = evaluate_model(data, model, {s.strip() for s in subjects.split(",") if s.strip()}, out)
        if as_json:
            echo_json(report)
            return
        typer.echo(
            f"model {report['model']}  data {data}  live {report['n_live']}  attacks {report['n_attack']}"
            f"  no face {report['no_face']}"
        )
        typer.echo(
            f"threshold {report['threshold']:.3f}  APCER {report['apcer']:.4f}  BPCER {report['bpcer']:.4f}"
            f"  ACER {report['acer']:.4f}  AUC {report['auc']:.4f}"
        )
        return
    from whosthat.liveness.pad import MiniFASNetDetector, open_pad_model

    kind = (
        None
        if model is None
        else ("minifasnet" if isinstance(open_pad_model(model), MiniFASNetDetector) else "nuaa_model")
    )
    report = evaluate_pad(
        data,
        out,
        retinaface=retinaface,
        attempt_frames=attempt_frames,
        jpeg_quality=jpeg_quality,
        **({kind: model} if kind else {}),
    )
    if as_json:
        echo_json(report)
    else:
        typer.echo(report_markdown(report))


def eval_baseline_command(
    data: LfwDataOpt = None,
    test_fold: FoldsOpt = None,
    features: Annotated[Path | None, typer.Option(help="prepared dlib features .npz")] = None,
    normalise: Annotated[
        bool, typer.Option("--normalise/--raw", help="L2-normalise the descriptors first")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """The plain dlib descriptors under the research protocol (same folds, thresholds and metrics as `whosthat train`)."""
    need_torch()
    from whosthat.research.train import baseline_folds

    report = baseline_folds(lfw_folder(data), fold_indices(test_fold), features, normalise)
    s = report["summary"]
    emit(
        report,
        as_json,
        [
            f"dlib-resnet-v1 descriptors, folds {s['folds']}: accuracy {s['accuracy']:.4f} +- "
            f"{s['accuracy_std']:.4f}, AUC {s['auc']:.4f}, recall@1 {s['recall1']:.4f} "
            f"(8x3 batches {s['recall1_batch_8x3']:.4f}), NMI {s['nmi']:.4f}"
        ],
    )


# -- recognition across populations (vision.populations, vision.embedder_calibration) --------------

DataOpt = Annotated[
    Path | None,
    typer.Option("--data", help="dataset folder, or the folder holding it (default WHOSTHAT_DATA)"),
]
ModelsOpt = Annotated[
    str | None,
    typer.Option(
        "--models",
        help="comma-separated built-in embedders (default: dlib-resnet-v1,sface-2021dec,dlib+sface,"
        "sface-2021dec-yunet,dlib+sface-yunet)",
    ),
]
PartOpt = Annotated[
    str,
    typer.Option(
        "--part",
        help="report (held-out identities: the reported numbers) or tune (where thresholds are chosen)",
    ),
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


def rates_table(result: dict) -> list[str]:
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
            pop = f"{pop} (in-sample)" if r.get("in_sample") else pop
            lines.append(
                f"| {name} | {pop} | {r['threshold']:.4f} | {r['fmr']:.2e} ({r['false_matches']:,} / {r['impostor_pairs']:,}) | "
                f"{r['fmr_upper_95']:.1e} | {r['fnmr']:.4f} ({r['false_non_matches']:,} / {r['genuine_pairs']:,}) | "
                f"{100 * r['tar_at_fmr_1e-3']:.2f}% | {acc_text} |"
            )
    return lines


LfwFoldsOpt = Annotated[
    list[int] | None,
    typer.Option(
        "--lfw-fold", help="LFW report part: only this View 2 fold, 1..10 (repeatable; default all ten)"
    ),
]


GalleryOpt = Annotated[
    str,
    typer.Option(
        "--gallery",
        help="photo: both photos of a pair embedded from the photo; chip: the first one as `whosthat reembed` "
        "embeds a kept chip (SFace's crop from the chip map), to measure a gallery moved from chips",
    ),
]


def _run_report(
    populations: tuple[str, ...],
    data,
    models,
    part,
    flip,
    out,
    as_json,
    lfw_folds: list[int] | None = None,
    gallery: str = "photo",
) -> None:
    from whosthat.config import get_settings
    from whosthat.vision.embedder_calibration import GALLERY_SIDES, report_rates
    from whosthat.vision.populations import PARTS

    if part not in PARTS:
        raise BadInputError(f"--part must be one of {', '.join(PARTS)}")
    if gallery not in GALLERY_SIDES:
        raise BadInputError(f"--gallery must be one of {', '.join(GALLERY_SIDES)}")
    result = report_rates(
        data_root(data),
        _names(models),
        populations,
        part=part,
        flip=flip_setting(flip),
        lfw_folds=tuple(fold_indices(lfw_folds)),
        gallery=gallery,
        log=log,
    )
    result["command"] = "whosthat " + " ".join(sys.argv[1:])
    suffix = "" if gallery == "photo" else f"-gallery-{gallery}"
    out = out or get_settings().home / "reports" / f"recognition-{'-'.join(populations)}-{part}{suffix}"
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
        f"# Recognition, {part} parts of {', '.join(populations)}"
        + (
            " (first photo of each pair from its kept chip, as `whosthat reembed` moves a gallery)"
            if gallery == "chip"
            else ""
        ),
        "",
        *sets,
        "",
        *rates_table(result),
        "",
    ]
    (out / "report.md").write_text("\n".join(md))
    if as_json:
        sys.stdout.write(json.dumps(result) + "\n")
    else:
        typer.echo("\n".join(md))
        log(f"report: {out}/report.md, {out}/report.json")


def eval_nuaa_command(
    data: PopulationDataOpt = None,
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
    data: PopulationDataOpt = None,
    models: ModelsOpt = None,
    part: PartOpt = "report",
    flip: FlipOpt = None,
    out: Annotated[Path | None, typer.Option("--out", help="report folder")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Recognition on CelebA's in-the-wild photos, on the identities held out from threshold choice."""
    _run_report(("celeba",), data, models, part, flip, out, as_json)


def eval_populations_command(
    data: PopulationDataOpt = None,
    models: ModelsOpt = None,
    part: PartOpt = "report",
    flip: FlipOpt = None,
    out: Annotated[Path | None, typer.Option("--out", help="report folder")] = None,
    lfw_folds: LfwFoldsOpt = None,
    gallery: GalleryOpt = "photo",
    as_json: JsonOpt = False,
) -> None:
    """LFW, NUAA and CelebA together (the table of docs/benchmarks.md): per embedder and population,
    FMR and FNMR at the default threshold, TAR at FMR 1e-3, and LFW View 2 accuracy. `--gallery chip`:
    the first photo of each pair embedded from its kept chip, as `whosthat reembed` moves a gallery."""
    from whosthat.vision.populations import POPULATIONS

    _run_report(POPULATIONS, data, models, part, flip, out, as_json, lfw_folds, gallery)


def eval_open_set_command(
    data: PopulationDataOpt = None,
    models: ModelsOpt = None,
    part: PartOpt = "report",
    flip: FlipOpt = None,
    lfw_folds: LfwFoldsOpt = None,
    populations: Annotated[
        str, typer.Option("--populations", help="comma-separated: lfw, nuaa, celeba")
    ] = "lfw,nuaa,celeba",
    as_json: JsonOpt = False,
) -> None:
    """1:N open set per population (gallery.calibrate.open_set_rates): half the identities enrolled
    (one photo each), the rest strangers; at each embedder's threshold, without a margin and with its
    card's margin: genuine probes recognised / wrong person / ambiguous / not recognised, and strangers
    accepted (FPIR)."""
    from whosthat.gallery.calibrate import open_set_rates
    from whosthat.gallery.threshold import match_margin
    from whosthat.vision import populations as pops
    from whosthat.vision.embedder_calibration import component_raws, components_of, templates
    from whosthat.vision.embedders import get_embedder

    if part not in pops.PARTS:
        raise BadInputError(f"--part must be one of {', '.join(pops.PARTS)}")
    wanted = tuple(p.strip() for p in populations.split(",") if p.strip())
    unknown = [p for p in wanted if p not in pops.POPULATIONS]
    if unknown:
        raise BadInputError(f"--populations: unknown {', '.join(unknown)}; choose from lfw, nuaa, celeba")
    root, names, use_flip = data_root(data), _names(models), flip_setting(flip)
    result: dict = {"part": part, "command": "whosthat " + " ".join(sys.argv[1:]), "rates": {}}
    for population in wanted:
        ps = pops.pair_set(population, part, root, lfw_folds=tuple(fold_indices(lfw_folds)))
        raw = component_raws(ps, use_flip, components_of(names))
        for name in names:
            embedder = get_embedder(name)
            margin = match_margin(embedder)
            rates = open_set_rates(templates(name, raw), ps.identities, embedder.threshold, (0.0, margin))
            result["rates"].setdefault(name, {})[population] = rates
    if as_json:
        sys.stdout.write(json.dumps(result) + "\n")
        return
    lines = [
        "| embedder | population | gallery / genuine probes / stranger probes | margin | correct | wrong person | ambiguous | not recognised | strangers accepted (FPIR) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, by_pop in result["rates"].items():
        for population, r in by_pop.items():
            if "by_margin" not in r:
                continue
            for m in r["by_margin"].values():
                lines.append(
                    f"| {name} | {population} | {r['gallery']} / {r['genuine_probes']} / {r['stranger_probes']} | "
                    f"{m['margin']:.4f} | {m['genuine_correct']:.4f} | {m['genuine_wrong_person']:.4f} | "
                    f"{m['genuine_ambiguous']:.4f} | {m['genuine_not_recognised']:.4f} | "
                    f"{m['stranger_accepted']} ({m['fpir']:.2e}) |"
                )
    typer.echo("\n".join(lines))
