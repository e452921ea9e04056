"""``nabench train``: train a NAS-Bench-201 cell or a DARTS genotype from scratch with a named recipe.

Examples::

    nabench train --arch "|nor_conv_3x3~0|+|...|" --dataset cifar10 --preset nb201-200 --download
    nabench train --genotype darts-v2 --dataset cifar10 --preset darts-cifar
    torchrun --nproc-per-node 8 -m nabench.cli train --genotype darts-v2 --dataset imagenet \\
        --preset darts-imagenet --data-root /data/imagenet

Re-running the same command resumes the run from its last checkpoint. torch is imported only when the
command runs.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path


def _default_data_root() -> Path:
    return Path(os.environ.get("NABENCH_DATASETS", Path.home() / ".cache" / "nabench" / "datasets"))


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train", help="train a final architecture (NAS-Bench-201 cell or DARTS genotype)",
        description="Train a network from scratch with a named recipe, evaluate it on the test split, and "
                    "write checkpoint.pt, metrics.csv and final.json into --out. Re-running resumes. "
                    "Launch with torchrun for several GPUs or nodes.")
    net = p.add_mutually_exclusive_group()
    net.add_argument("--arch", help="NAS-Bench-201 cell string |op~0|+|op~0|op~1|+|op~0|op~1|op~2|")
    net.add_argument("--genotype", help="DARTS genotype: darts-v2, darts-v1 or a Genotype(normal=[...], ...) literal")
    p.add_argument("--dataset", help="cifar10, cifar100, ImageNet16-120 or imagenet")
    p.add_argument("--preset", help="training recipe (see --list-presets)")
    p.add_argument("--list-presets", action="store_true", help="print the presets and their settings, then exit")
    p.add_argument("--data-root", type=Path, default=None,
                   help="folder holding the datasets (default $NABENCH_DATASETS or ~/.cache/nabench/datasets)")
    p.add_argument("--download", action="store_true", help="download CIFAR-10/100 if missing (MD5-checked)")
    p.add_argument("--out", type=Path, default=None, help="run folder (default runs/train/<dataset>-<preset>-...)")
    p.add_argument("--epochs", type=int, default=None, help="override the preset's epochs")
    p.add_argument("--batch-size", type=int, default=None, help="override the global batch size")
    p.add_argument("--lr", type=float, default=None, help="override the learning rate")
    p.add_argument("--seed", type=int, default=0, help="run seed (weights, data order, augmentation, drop-path)")
    p.add_argument("--compile", action="store_true", help="torch.compile the network")
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda if available)")
    p.add_argument("--workers", type=int, default=None, help="data loader workers per process")
    p.add_argument("--train-split", default="train", help="train (default) or search-train")
    p.add_argument("--eval-split", default="test", help="test (default) or search-valid")
    p.add_argument("--eval-every", type=int, default=0, help="also evaluate every N epochs (0: only at the end)")
    p.add_argument("--channels", type=int, default=None,
                   help="initial channels (default: 16 for NAS-Bench-201, 36 DARTS CIFAR, 48 DARTS ImageNet)")
    p.add_argument("--cells", type=int, default=None,
                   help="cells per stage for NAS-Bench-201 (default 5), total cells for DARTS (default 20 / 14)")
    p.add_argument("--deterministic", action="store_true", help="deterministic kernels (bitwise resume on CUDA)")
    p.add_argument("--sync-bn", action="store_true", help="synchronize BatchNorm across GPUs under DDP")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the final summary as JSON")
    p.set_defaults(func=_train)


def _train(args: argparse.Namespace) -> int:
    from nabench.errors import ConfigError
    from nabench.train.recipes import RECIPES, get_recipe

    if args.list_presets:
        for name, recipe in RECIPES.items():
            settings = {k: v for k, v in recipe.as_dict().items() if k not in ("name", "source")}
            print(f"{name}: {json.dumps(settings)}\n    source: {recipe.source}")
        return 0
    missing = [flag for flag, value in (("--dataset", args.dataset), ("--preset", args.preset)) if not value]
    if args.arch is None and args.genotype is None:
        missing.append("--arch or --genotype")
    if missing:
        raise ConfigError(f"missing {', '.join(missing)}; e.g. nabench train --arch '|nor_conv_3x3~0|+|...|' "
                          "--dataset cifar10 --preset nb201-200")
    get_recipe(args.preset)
    from nabench.train.run import RunConfig, run

    config = RunConfig(
        dataset=args.dataset, preset=args.preset, arch=args.arch, genotype=args.genotype,
        data_root=args.data_root or _default_data_root(), out=args.out, epochs=args.epochs,
        batch_size=args.batch_size, lr=args.lr, seed=args.seed, compile=args.compile, download=args.download,
        workers=args.workers, device=args.device, train_split=args.train_split, eval_split=args.eval_split,
        eval_every=args.eval_every, progress=not args.no_progress, deterministic=args.deterministic,
        sync_bn=args.sync_bn, layers=args.cells, channels=args.channels,
    )
    summary = run(config)
    if int(os.environ.get("RANK", "0")) != 0:
        return 0
    if args.json:
        print(json.dumps(summary, indent=2, default=str))
    else:
        print(f"run folder: {summary['out']}")
        if "test_acc" in summary:
            print(f"test: top-1 {summary['test_acc']:.2f}%  top-5 {summary['test_top5']:.2f}%  "
                  f"loss {summary['test_loss']:.4f}  ({int(summary['test_images'])} images)")
        print(f"params: {summary['params'] / 1e6:.6f} M  epochs: {summary['epochs']}  "
              f"train time: {summary['train_time_s']:.1f} s")
    return 0
