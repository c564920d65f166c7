"""The model card of the print-attack model (`pad.md` beside `pad.onnx`), written by `whosthat train pad`
(research.pad) from its report: every number on the card comes from that run."""

from __future__ import annotations

from pathlib import Path

from whosthat.liveness.pad import CROP_SCALE


def write_card(report: dict, path: Path) -> None:
    """The model card beside pad.onnx, every number taken from `report` (this training run)."""

    def row(name, r):
        return (
            f"| {name} | {r['n_live']} / {r['n_attack']} | {r['threshold']:.3f} | {r['apcer']:.4f} | "
            f"{r['bpcer']:.4f} | {r['acer']:.4f} | {r['auc']:.4f} |"
        )

    c = report["candidates"]
    folds = "\n".join(
        row(
            f"CNN, test subjects {', '.join(r['test_subjects'])} (threshold from "
            f"{', '.join(r['validation_subjects'])})",
            r,
        )
        for r in report["cnn_cross_subject_folds"]
    )
    unseen = (
        row("CNN, test subjects, sessions it never trained on", c["cnn"]["test_unseen_sessions"]) + "\n"
        if "test_unseen_sessions" in c["cnn"]
        else ""
    )
    m = report["cnn_cross_subject_mean"]
    sp = report["split"]
    path.write_text(f"""# pad-nuaa-cnn (`pad.onnx`)

Print-attack (presentation attack) detector: probability that a face crop shows a printed photo
rather than a live face. One signal of the liveness challenge (`WHOSTHAT_PAD_MODE` off / warn / enforce).

- **Input** `crops` float32[N, 3, 64, 64], RGB in [-1, 1]: the MediaPipe face box made square around its
  centre, enlarged x{CROP_SCALE} and resized to 64x64 (`whosthat.liveness.pad.face_crop`).
- **Output** `attack_prob` float32[N]; attack when >= {report["threshold"]:.3f} (metadata `whosthat_threshold`),
  the equal-error threshold on the *validation* subjects.
- **Architecture** 4 conv blocks (16-32-48-64 channels, BatchNorm, ReLU, max-pool), global average pool,
  dropout, one linear unit; {report.get("parameters", 0)} parameters, {report.get("onnx_bytes", 0) / 1024:.0f} KiB.
- **Data** NUAA Photograph Imposter Database (Tan, Li, Liu, Jiang, ECCV 2010), raw webcam frames of the
  official training lists in `$WHOSTHAT_DATA/nuaa` (ClientRaw = live, ImposterRaw = printed photos), every
  second frame; the official test split is kept back. Not redistributed.
- **Split** {report["split_rule"]}, seed {report["seed"]}: train subjects {", ".join(sp["train"])};
  validation {", ".join(sp["validation"])} (threshold and model choice); test {", ".join(sp["test"])}
  (scored once, at the end). Frames where the detector found no face (left out): {report["no_face"]}.
- **Training** AdamW, one-cycle LR 2e-3, batch 32, {report["epochs"]} epochs, flips and gain/bias jitter, CPU.

## Results (ISO/IEC 30107-3: APCER = attacks accepted, BPCER = live rejected, ACER = mean)

| model, subjects scored | live / attack frames | threshold | APCER | BPCER | ACER | AUC |
|---|---|---|---|---|---|---|
{row("CNN, validation subjects", c["cnn"]["validation"])}
{row("**CNN, test subjects (shipped)**", c["cnn"]["test"])}
{unseen}{row("LBP + logistic regression, validation", c["lbp_logreg"]["validation"])}
{row("LBP + logistic regression, test", c["lbp_logreg"]["test"])}
{folds}

Mean over the {len(report["cnn_cross_subject_folds"])} cross-subject folds of the CNN recipe: APCER {m["apcer"]:.4f},
BPCER {m["bpcer"]:.4f}, ACER {m["acer"]:.4f}. Chosen on validation ACER: **{report["chosen"]}**.

## Reproduce

```
{report["command"]} --out src/whosthat/models
whosthat eval pad --data $WHOSTHAT_DATA/nuaa --subjects {",".join(sp["test"])} --model src/whosthat/models/pad.onnx     # the test subjects
```

## Limits (read before enforcing)
NUAA has 9 subjects in these lists, one webcam, one printer, one room per session: near-perfect numbers
here say the model separates *these* prints from *these* live captures, not that it generalises to other
cameras, printers, screens (replay attacks are not in NUAA at all) or lighting. Kiosk frames come through
the browser's JPEG encoding. Trained on one NUAA session only (`whosthat train pad --sessions 01`), the
same recipe lets printed photos of a session it never saw through (`whosthat eval pad --model ...`,
docs/models.md), so the kiosk's print-attack signal is `pad-minifasnet`, not this model; choose this one
(`WHOSTHAT_PAD_MODEL=pad-nuaa-cnn`) only after checking it on the site's own camera.
""")
