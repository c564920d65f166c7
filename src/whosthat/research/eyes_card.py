"""The model card of the eye-state model (`eye_state.md` beside `eye_state.onnx`), written by
`whosthat train eyes` (research.eyes) from its report: every number on the card comes from that run."""

from __future__ import annotations

from pathlib import Path

from whosthat.research.eyes import MAX_PARAMETERS


def write_card(report: dict, path: Path) -> None:
    """Write the card to `path`, every number taken from `report` (the training run's `eye_state.json`)."""
    from whosthat.liveness.mesh import EYE_PATCH_SCALE

    final = report["final"]
    t = final["test"]
    c = t["confusion"]
    refit = report["members"] > 0
    rows = "\n".join(
        f"| {v['name']} | {v['train_size'] if v['factor'] else '-'} | {v['best_epoch'] or '-'} | "
        f"{v['parameters']}{'' if v['eligible'] or refit else ' (over budget)'} | "
        f"{v['validation']['accuracy']:.4f} | {v['validation']['auc']:.4f} | {v['test']['accuracy']:.4f} | "
        f"{v['test']['auc']:.4f} |"
        for v in report["variants"]
    )
    s = report["split"]
    w = report["width"]
    drawn = (
        "The copies are drawn afresh every epoch (from the seed), so the network never sees the same copy twice."
        if report["augment"] == "online"
        else "The copies are drawn once (from the seed) and are the same in every epoch (`--augment fixed`)."
    )
    minutes = ", ".join(
        f"{v['name']} {v['seconds'] / 60:.0f} min" for v in report["variants"] if v.get("seconds")
    )
    if refit:
        minutes += f", final networks {final['seconds'] / 60:.0f} min"
    head = (
        "global average pool, dropout, one linear unit"
        if report["head"] == "gap"
        else "dropout, one linear unit on the whole 6x6 map (it keeps where a feature is: a lid line across the "
        "middle, an iris at the centre)"
    )
    extras = []
    if report["smoothing"]:
        extras.append(f"label smoothing {report['smoothing']:g}")
    if report["ema"]:
        extras.append(f"exponential moving average of the weights (decay {report['ema']:g} per step)")
    kept = "the last epoch kept" if refit else "best validation epoch kept"
    if refit:
        choice = f"""The augmentation factor is chosen on validation accuracy (last epoch): **{report["chosen"]}**. The
shipped model is then **{final["name"]}**: {final["members"]} network(s) (seeds {report["seed"]} to
{report["seed"] + final["members"] - 1}) trained with that factor on the training and validation faces
together ({final["train_size"]} patches per epoch) for exactly {report["epochs"]} epochs, and averaged; threshold 0.5
(nothing left to tune it on). Test columns above use threshold 0.5."""
    else:
        choice = f"""Test columns use threshold 0.5; the chosen model at its own threshold is scored below.
Chosen on validation accuracy: **{report["chosen"]}**."""
    f = t["faces"]
    path.write_text(f"""# eye-state-cnn (`eye_state.onnx`)

Closed-eye probability of a 24x24 gray eye patch. Used by the liveness challenge (blink detection),
fused with the eye aspect ratio from the MediaPipe face mesh.

- **Input** `patches` float32[N, 1, 24, 24]: gray eye patch resized to 24x24, standardised per patch
  (`whosthat.liveness.eyes.prepare_patches`). At serve time the patch is cut from the face mesh like
  the CEW patches: centred on the eye, eye line horizontal, side {EYE_PATCH_SCALE} x the eye's corner-to-corner width.
- **Output** `closed_prob` float32[N]; closed when >= {report["threshold"]:.3f} (metadata `whosthat_threshold`).
  The kiosk averages the two eyes of a face (and fuses that with the eye aspect ratio).
- **Architecture** a small CNN: 5 conv layers ({w}-{w}-{2 * w}-{2 * w}-{4 * w} channels, BatchNorm, ReLU, two max-pools),
  {head}; the output averages the patch and its mirror image (and the member networks);
  {report["parameters"]} parameters in all, {report["onnx_bytes"] / 1024:.0f} KiB.
- **Data** CEW eye patches (`$WHOSTHAT_DATA/cew_eyes`: closed eyes from the Closed Eyes In The Wild faces,
  open eyes from LFW faces; Song, Tan, Liu, Chen, Pattern Recognition 47(9), 2014). Not redistributed.
- **Split** {report["split_rule"]}; seed {report["seed"]}: train {s["train"]["patches"]} patches
  ({s["train"]["groups"]} faces/people), validation {s["validation"]["patches"]} ({s["validation"]["groups"]}),
  test {s["test"]["patches"]} ({s["test"]["groups"]}). The test faces were never seen in training or in any choice.
- **Training** AdamW, one-cycle LR 2e-3, batch 64, random mirror flips{", " + ", ".join(extras) if extras else ""},
  {report["epochs"]} epochs, {kept}; CPU, {report["threads"]} torch thread(s) per network,
  {report["train_seconds"] / 60:.0f} min in all on this shared 2-core machine ({minutes}).

## Augmentation comparison (the seed's x1 / x1.5 / x2 training sets)

Every epoch sees the original training patches plus augmented copies of none (x1), half (x1.5) or all
(x2) of them: mirror flip, +-12 deg rotation, 0.88-1.15 scale, +-2 px shift, gamma/contrast/brightness
change, sometimes blur or sensor noise. {drawn} Candidates above {MAX_PARAMETERS:,} parameters (about
1 ms per patch on one core) are not shipped.

| training set | patches per epoch | epoch | parameters | val accuracy | val AUC | test accuracy | test AUC |
|---|---|---|---|---|---|---|---|
{rows}

{choice}

## Held-out test faces (scored once, after every choice)

| | n | accuracy | AUC |
|---|---|---|---|
| per eye patch (threshold {report["threshold"]:.3f}) | {t["n"]} | **{t["accuracy"]:.4f}** | {t["auc"]:.4f} |
| per face (both eyes averaged, as the kiosk decides) | {f["n"]} | **{f["accuracy"]:.4f}** | - |

Confusion per patch (rows true, columns predicted): open {c["true_open_pred_open"]} / {c["true_open_pred_closed"]},
closed {c["true_closed_pred_open"]} / {c["true_closed_pred_closed"]}; {f["errors"]} face(s) wrong.

## Reproduce

```
{report["command"]} --out src/whosthat/models
```
Writes `eye_state.onnx`, `eye_state.json` (every number above) and this card. `--jobs 2` trains two
networks at a time (same result). Evaluate on any CEW-layout folder: `whosthat eval eyes --data DIR [--json]`;
the held-out faces again: `whosthat eval eyes --data $WHOSTHAT_DATA/cew_eyes --split test`.

## Limits
CEW closed eyes and LFW open eyes are photos from the web, not webcam frames; at the kiosk the model
is one of two signals (the other is the eye aspect ratio of the mesh). Glasses with reflections,
very low light and faces under about 90 px wide are outside what this data covers.
""")
