"""Fast single-GPU training from scratch on prepared LFW crops: the whole data set lives on the GPU,
augmentation runs there too, mixed precision (bf16). Same fold protocol and metrics as `whosthat train`.

    python -m whosthat.research.gpu_train --crops lfw-crops-112-rotation.npz --data /path/to/lfw \
        --backbone inception_resnet_v1 --method arcface --epochs 60 --folds 10 --budget-s 420 --out runs/irv1

Folds are 1..10; they run in the order given until `--budget-s` seconds of training would be exceeded
(a fold is only started when the previous fold's time still fits). Writes per fold metrics.json,
training_curves.png, roc.png, a CSV log and a checkpoint `whosthat export` reads; and report.json.
The LFW root needs only pairs.txt and people.txt (the images are in the crops file).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import time
from pathlib import Path

import numpy as np


def gpu_augment(x):
    """uint8 [B, S, S, 3] on the device -> normalised float [B, 3, S, S]: random flip, random scale/shift
    (scale 0.85-1.0, up to 6% shift), brightness/contrast jitter."""
    import torch
    import torch.nn.functional as F

    b = x.shape[0]
    img = x.permute(0, 3, 1, 2).float() / 255.0
    flip = torch.rand(b, device=x.device) < 0.5
    img = torch.where(flip[:, None, None, None], img.flip(3), img)
    scale = torch.empty(b, device=x.device).uniform_(0.85, 1.0)
    shift = torch.empty(b, 2, device=x.device).uniform_(-0.06, 0.06)
    theta = torch.zeros(b, 2, 3, device=x.device)
    theta[:, 0, 0] = scale
    theta[:, 1, 1] = scale
    theta[:, :, 2] = shift
    grid = F.affine_grid(theta, img.shape, align_corners=False)
    img = F.grid_sample(img, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    bright = torch.empty(b, 1, 1, 1, device=x.device).uniform_(-0.1, 0.1)
    contrast = torch.empty(b, 1, 1, 1, device=x.device).uniform_(0.8, 1.2)
    mean = img.mean(dim=(1, 2, 3), keepdim=True)
    img = ((img - mean) * contrast + mean + bright).clamp(0, 1)
    return (img - 0.5) / 0.5


def embed_all(backbone, data, device, batch: int = 1024) -> np.ndarray:
    import torch
    import torch.nn.functional as F

    backbone.eval()
    out = []
    with (
        torch.no_grad(),
        torch.autocast(
            "cuda" if device.type == "cuda" else "cpu", dtype=torch.bfloat16, enabled=device.type == "cuda"
        ),
    ):
        for start in range(0, data.shape[0], batch):
            x = data[start : start + batch].permute(0, 3, 1, 2).float() / 255.0
            x = (x - 0.5) / 0.5
            e = backbone(x)
            out.append(F.normalize(e.float(), dim=1).cpu())
    backbone.train()
    return torch.cat(out).numpy()


def train_one_fold(args, source, root: Path, test_fold: int, data_gpu, device, out_dir: Path) -> dict:
    import torch

    from whosthat.research.data import LFWDataModule
    from whosthat.research.evaluation import plot_training_curves
    from whosthat.research.modules import build_module
    from whosthat.research.sampler import ClassBalancedBatchSampler
    from whosthat.research.train import evaluate_fold
    from whosthat.vision.evaluation import plot_roc, verification_roc

    torch.manual_seed(args.seed + test_fold)
    fold_dir = out_dir / f"fold{test_fold + 1}"
    fold_dir.mkdir(parents=True, exist_ok=True)
    val_fold = args.val_fold - 1 if args.val_fold else None
    dm = LFWDataModule(
        source,
        root,
        test_fold=test_fold,
        val_fold=val_fold,
        min_images=args.min_images,
        n_classes=args.batch_classes,
        m_per_class=args.batch_images,
        seed=args.seed,
    )
    dm.setup()
    size = source.data.shape[1]
    method_kwargs = {"scale": args.scale, "margin": args.margin} if args.method == "arcface" else {}
    module = build_module(
        args.method,
        backbone=args.backbone,
        dim=args.dim,
        n_classes=dm.num_train_classes,
        lr=args.lr,
        weight_decay=args.weight_decay,
        input_spec=f"image:{size}:rotation",
        backbone_kwargs={"dropout": args.dropout},
        **method_kwargs,
    )
    module = module.to(device).to(memory_format=torch.channels_last)
    params = [p for p in module.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, lr=args.lr, momentum=0.9, weight_decay=args.weight_decay, nesterov=True)
    sampler = ClassBalancedBatchSampler(
        dm.train_labels, args.batch_classes, args.batch_images, seed=args.seed
    )
    steps_per_epoch = len(sampler)
    plan = {"epochs": args.epochs}  # shrunk after the first epoch when --fold-time-s says so

    def lr_factor(s: int) -> float:
        total = steps_per_epoch * plan["epochs"]
        warmup = max(1, int(0.05 * total))
        if s < warmup:
            return (s + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * min(1.0, (s - warmup) / max(1, total - warmup))))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_factor)
    if (
        args.sanity_eval
    ):  # the untrained network through the whole evaluation: fails fast, and a floor to compare with
        emb0 = embed_all(module.backbone, data_gpu, device)
        emb0[~source.found] = np.nan
        r0, _ = evaluate_fold(emb0, source, root, test_fold, args.seed)
        print(
            f"fold {test_fold + 1} untrained: accuracy {r0['accuracy']:.4f} AUC {r0['auc']}",
            file=sys.stderr,
            flush=True,
        )
        (fold_dir / "untrained.json").write_text(json.dumps(r0, indent=2))
    rows = torch.as_tensor(dm.train_indices, device=device)
    labels = torch.as_tensor(dm.train_labels, device=device)
    log = [("step", "epoch", "train_loss", "lr", "margin")]
    t0 = time.time()
    step = 0
    epoch = 0
    while epoch < plan["epochs"]:
        sampler.set_epoch(epoch)
        if (
            args.method == "arcface"
        ):  # margin ramps up over the first quarter: hard margins stall from scratch
            m = args.margin * min(1.0, (epoch + 1) / max(1, plan["epochs"] // 4))
            arc = module.arc
            arc.margin, arc.cos_m, arc.sin_m = m, math.cos(m), math.sin(m)
            arc.th, arc.mm = math.cos(math.pi - m), math.sin(math.pi - m) * m
        for batch in sampler:
            idx = torch.as_tensor(batch, device=device)
            x = gpu_augment(data_gpu[rows[idx]]).contiguous(memory_format=torch.channels_last)
            y = labels[idx]
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
                features = module.backbone(x)
            loss = _head_loss(module, args.method, features.float(), y)  # margins and softmax in float32
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            if step % 20 == 0 or step == 1:
                log.append(
                    (
                        step,
                        epoch,
                        float(loss.detach()),
                        sched.get_last_lr()[0],
                        getattr(getattr(module, "arc", None), "margin", 0.0),
                    )
                )
            if args.max_steps and step >= args.max_steps:
                break
        if args.max_steps and step >= args.max_steps:
            break
        if epoch == 0 and args.fold_time_s:
            if device.type == "cuda":
                torch.cuda.synchronize()
            per_epoch = time.time() - t0
            plan["epochs"] = max(2, min(args.epochs, int(args.fold_time_s / max(per_epoch, 1e-3))))
            print(
                f"first epoch {per_epoch:.1f} s ({steps_per_epoch} steps): training {plan['epochs']} epochs",
                file=sys.stderr,
                flush=True,
            )
        epoch += 1
    epoch -= 1
    if device.type == "cuda":
        torch.cuda.synchronize()
    train_seconds = time.time() - t0
    with (fold_dir / "metrics.csv").open("w", newline="") as f:
        csv.writer(f).writerows(log)
    emb = embed_all(module.backbone, data_gpu, device)
    emb[~source.found] = np.nan
    result, (d_test, same_test) = evaluate_fold(
        emb, source, root, test_fold, args.seed, threshold_folds=[val_fold] if val_fold is not None else None
    )
    result.update(
        {
            "train_seconds": round(train_seconds, 1),
            "train_identities": dm.num_train_classes,
            "train_images": int(len(dm.train_indices)),
            "epochs": epoch + 1,
            "steps": step,
        }
    )
    (fold_dir / "metrics.json").write_text(json.dumps(result, indent=2))
    plot_training_curves(fold_dir / "metrics.csv", fold_dir / "training_curves.png")
    if result["auc"] is not None:
        plot_roc(
            {f"{args.method} on {args.backbone}": verification_roc(d_test, same_test)},
            fold_dir / "roc.png",
            title=f"LFW fold {test_fold + 1} (held out)",
        )
    if args.save_checkpoint:
        torch.save(
            {
                "hyper_parameters": dict(module.hparams),
                "state_dict": {k: v.cpu() for k, v in module.state_dict().items()},
            },
            fold_dir / "model.ckpt",
        )
    print(
        f"fold {test_fold + 1}: accuracy {result['accuracy']:.4f} AUC {result['auc']} "
        f"recall@1 {(result['recall_at'] or {}).get('1')} in {train_seconds:.0f} s ({step} steps)",
        file=sys.stderr,
        flush=True,
    )
    return result


def _head_loss(module, method: str, raw, y):
    import torch.nn.functional as F

    from whosthat.research import losses

    if method == "arcface":
        return F.cross_entropy(module.arc(raw, y), y)
    if method == "group_loss":
        return module.criterion(raw, module.classifier(F.normalize(raw, dim=1)), y)["loss"]
    e = F.normalize(raw, dim=1)
    i, j, same = losses.all_pairs(y)
    if module.pair_head is not None:
        per = F.binary_cross_entropy_with_logits(module.pair_head(e[i], e[j]), same.float(), reduction="none")
    else:
        per = losses.contrastive_loss((e[i] - e[j]).norm(dim=1), same, module.hparams.margin)
    return losses.balanced_mean(per, same)


def main(argv: list[str] | None = None) -> dict:
    import torch

    from whosthat.research.data import ArraySource
    from whosthat.research.train import hardware, summarise

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--crops", type=Path, required=True)
    ap.add_argument("--data", type=Path, required=True, help="LFW folder with pairs.txt and people.txt")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--backbone", default="inception_resnet_v1")
    ap.add_argument(
        "--method", default="arcface", choices=["arcface", "group_loss", "siamese_contrastive", "siamese_bce"]
    )
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--weight-decay", type=float, default=5e-4)
    ap.add_argument("--dropout", type=float, default=0.2)
    ap.add_argument("--scale", type=float, default=32.0)
    ap.add_argument("--margin", type=float, default=0.4)
    ap.add_argument("--batch-classes", type=int, default=64)
    ap.add_argument("--batch-images", type=int, default=4)
    ap.add_argument("--min-images", type=int, default=2)
    ap.add_argument("--folds", type=int, nargs="+", default=[10])
    ap.add_argument("--budget-s", type=float, default=420.0, help="training seconds for all folds together")
    ap.add_argument(
        "--max-steps", type=int, default=0, help="stop each fold after this many steps (smoke tests)"
    )
    ap.add_argument(
        "--fold-time-s",
        type=float,
        default=0.0,
        help="fit the number of epochs (at most --epochs) to this many training seconds per fold",
    )
    ap.add_argument(
        "--val-fold",
        type=int,
        default=0,
        help="fold (1..10) left out of training whose pairs choose the threshold (0: all other folds)",
    )
    ap.add_argument("--sanity-eval", action="store_true", help="evaluate the untrained network first")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--save-checkpoint", action="store_true")
    args = ap.parse_args(argv)

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    t0 = time.time()
    source = ArraySource.load(args.crops)
    data_gpu = torch.as_tensor(source.data, device=device)
    print(
        f"loaded {len(source.paths)} crops {tuple(source.data.shape)} in {time.time() - t0:.1f} s on {hardware()}",
        file=sys.stderr,
        flush=True,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    results, spent, longest = [], 0.0, 0.0
    for fold in args.folds:
        if results and spent + longest * 1.15 > args.budget_s:
            print(f"stopping before fold {fold}: {spent:.0f} s spent of {args.budget_s:.0f}", file=sys.stderr)
            break
        start = time.time()
        results.append(train_one_fold(args, source, args.data, fold - 1, data_gpu, device, args.out))
        longest = max(longest, time.time() - start)
        spent += time.time() - start
    report = {
        "command": "python -m whosthat.research.gpu_train "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "hardware": hardware(),
        "torch": torch.__version__,
        "config": {k: str(v) for k, v in vars(args).items()},
        "per_fold": results,
        "summary": summarise(results),
    }
    (args.out / "report.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report["summary"]), flush=True)
    return report


if __name__ == "__main__":
    main()
