"""``nabench oneshot``: weight-sharing architecture search (DARTS, NA-DARTS, SDARTS-RS) on a supernet.

Named for what it runs (one-shot methods), apart from the package :mod:`nabench.search`, which holds
the tabular searchers that ``nabench run`` uses. ``nabench search`` is its former name and still works
(an alias, see :data:`nabench.cli.ALIASES`).

Examples::

    nabench oneshot --space 201 --algo na-darts --dataset cifar10 --epochs 50 --seed 0
    nabench oneshot --space darts --algo na-darts --dataset cifar10
    nabench oneshot --space 201 --algo darts-1st --dataset cifar100 --image-root /data --epochs 5

Writes ``config.json``, ``epochs.csv`` (one row per epoch: losses, throughput, the derived cell and,
in the NAS-Bench-201 space, its 12- and 200-epoch table accuracies), ``checkpoint.pt`` and
``result.json`` into ``--out``. Re-running an interrupted command resumes it from its last finished
epoch. torch is imported only when the command runs.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from nabench.commands.common import add_data_dir, add_image_root, default_image_root


def register(sub: argparse._SubParsersAction) -> None:
    from nabench.oneshot.config import AGGREGATES, ALGORITHMS, ALIASES, DATASETS, Neighborhood, SearchConfig

    d, hood = SearchConfig(), Neighborhood()
    p = sub.add_parser(
        "oneshot", help="weight-sharing search: DARTS, NA-DARTS, SDARTS-RS (alias: search, its former name)",
        description="Bi-level weight-sharing architecture search on the NAS-Bench-201 supernet or the DARTS "
                    "search network. After every epoch the discrete architecture is derived (NAS-Bench-201: "
                    "argmax per edge, looked up in the tabular store; DARTS: the genotype). Defaults are "
                    "DARTS's: SGD lr 0.025 cosine to 0.001, momentum 0.9, wd 3e-4, clip 5; alpha Adam lr "
                    "3e-4, betas (0.5, 0.999), wd 1e-3; batch 64; 50 epochs; search on the two halves of "
                    "the training set. `nabench search` is the former name of this command and still works.")
    p.add_argument("--space", default=d.space,
                   help="search space: 201 (NAS-Bench-201, default) or darts (the DARTS space; 301 is the same)")
    p.add_argument("--algo", default=d.algo, metavar="ALGO",
                   help=f"{', '.join(ALGORITHMS)} or {', '.join(f'{a} (= {b})' for a, b in ALIASES.items())} "
                        f"(default {d.algo})")
    p.add_argument("--dataset", default=d.dataset, help=f"{', '.join(DATASETS)} (default {d.dataset})")
    p.add_argument("--epochs", type=int, default=d.epochs, help=f"search epochs (default {d.epochs})")
    p.add_argument("--seed", type=int, default=d.seed, help="seed of every random choice (default 0)")
    add_image_root(p)
    p.add_argument("--download", action="store_true", help="download CIFAR-10/100 if missing (MD5-checked)")
    p.add_argument("--out", type=Path, default=None,
                   help="output folder (default runs/oneshot/<space>-<algo>-<dataset>-seed<seed>)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the search already in --out (default: resume an unfinished one, refuse a finished one)")
    add_data_dir(p)
    p.add_argument("--no-lookup", action="store_true",
                   help="do not look the derived cells up (NAS-Bench-201: the tabular store; DARTS space on cifar10: "
                        "the NAS-Bench-301 surrogate)")

    na = p.add_argument_group("NA-DARTS neighborhood: the space's own neighbors of the derived cell, named as "
                              "nabench run names them (see nabench.oneshot.neighbors)")
    na.add_argument("--radius", type=int, default=hood.radius,
                    help=f"neighbors within this many edits (a ball; default {hood.radius})")
    na.add_argument("--exact", action="store_true", help="only the neighbors at distance exactly --radius")
    na.add_argument("--k", "--neighbors", dest="k", default=hood.k,
                    help=f"neighbors sampled per alpha step, or 'all' (also 0) for the whole neighborhood, as nabench "
                         f"run spells it (default {hood.k})")
    na.add_argument("--mass-fraction", type=float, default=hood.fraction,
                    help=f"share of the way to each neighbor the relaxed neighbor moves (default {hood.fraction})")
    na.add_argument("--no-self", "--no-center", dest="no_self", action="store_true",
                    help="leave the current architecture out of the aggregate (default: included)")
    na.add_argument("--agg", "--aggregate", dest="agg", choices=AGGREGATES, default=hood.agg,
                    help=f"aggregate of the neighbor losses (default {hood.agg}; max = the worst case)")
    na.add_argument("--na-chunk", type=int, default=d.na_chunk,
                    help="architectures per batched pass (default 0: up to 8 for NAS-Bench-201 on CUDA, else 1)")

    opt = p.add_argument_group("optimization (DARTS defaults)")
    opt.add_argument("--order", type=int, choices=(1, 2), default=None,
                     help="1 = first order, 2 = unrolled second order (default: set by --algo)")
    opt.add_argument("--epsilon", type=float, default=d.epsilon,
                     help=f"SDARTS-RS perturbation radius in op-weight space (default {d.epsilon})")
    opt.add_argument("--batch-size", type=int, default=d.batch_size, help=f"default {d.batch_size}")
    opt.add_argument("--lr", type=float, default=d.lr, help=f"weight learning rate (default {d.lr})")
    opt.add_argument("--lr-min", type=float, default=d.lr_min, help=f"end of the cosine decay (default {d.lr_min})")
    opt.add_argument("--momentum", type=float, default=d.momentum, help=f"default {d.momentum}")
    opt.add_argument("--weight-decay", type=float, default=d.weight_decay, help=f"default {d.weight_decay}")
    opt.add_argument("--grad-clip", type=float, default=d.grad_clip, help=f"default {d.grad_clip}")
    opt.add_argument("--arch-lr", type=float, default=d.arch_lr, help=f"alpha Adam learning rate (default {d.arch_lr})")
    opt.add_argument("--arch-weight-decay", type=float, default=d.arch_weight_decay,
                     help=f"default {d.arch_weight_decay}")
    opt.add_argument("--channels", type=int, default=d.channels, help=f"initial channels (default {d.channels})")
    opt.add_argument("--cells", type=int, default=d.cells,
                     help="cells per stage for 201 (default 5), cells in the network for darts (default 8)")
    opt.add_argument("--steps-per-epoch", type=int, default=d.steps_per_epoch,
                     help="cap on iterations per epoch, for short runs (default 0: a full pass)")

    run = p.add_argument_group("running")
    run.add_argument("--device", default=None, help="cpu or cuda (default: cuda if available)")
    run.add_argument("--amp", choices=("auto", "bf16", "off"), default="auto",
                     help="bf16 autocast on CUDA (auto: on for first-order searches)")
    run.add_argument("--workers", type=int, default=None, help="data loader workers")
    run.add_argument("--graphs", action="store_true",
                     help="capture each search iteration in a CUDA graph (CUDA only; elsewhere eager, with a note)")
    p.set_defaults(func=_oneshot)


def _config(args: argparse.Namespace):
    from nabench.neighborhood import check_k
    from nabench.oneshot.config import Neighborhood, SearchConfig

    hood = Neighborhood(radius=args.radius, include_self=not args.no_self, k=check_k("--k", args.k, text=True),
                        agg=args.agg, exact=args.exact, fraction=args.mass_fraction)
    return SearchConfig(
        space=args.space, algo=args.algo, dataset=args.dataset, epochs=args.epochs, seed=args.seed,
        batch_size=args.batch_size, lr=args.lr, lr_min=args.lr_min, momentum=args.momentum,
        weight_decay=args.weight_decay, grad_clip=args.grad_clip, arch_lr=args.arch_lr,
        arch_weight_decay=args.arch_weight_decay, order=args.order, epsilon=args.epsilon, neighborhood=hood,
        na_chunk=args.na_chunk, channels=args.channels, cells=args.cells, steps_per_epoch=args.steps_per_epoch,
    ).resolved()


def _check_numbers(cfg: Any, workers: int | None, out: Path | None) -> None:
    """The numeric settings and --out, checked where they enter: NaN, infinite, negative or absurd values and
    an unwritable folder are one-line errors before any data or network is built (the config's own checks
    compare, and NaN passes comparisons)."""
    from nabench import validate as v

    for flag, value, lo, hi in (("--epochs", cfg.epochs, 1, v.MAX_EPOCHS), ("--seed", cfg.seed, 0, v.MAX_SEED),
                                ("--batch-size", cfg.batch_size, 1, v.MAX_BATCH_SIZE),
                                ("--channels", cfg.channels, 1, v.MAX_CHANNELS), ("--cells", cfg.cells, 0, v.MAX_CELLS),
                                ("--steps-per-epoch", cfg.steps_per_epoch, 0, None), ("--na-chunk", cfg.na_chunk, 0, 4096),
                                ("--workers", workers, 0, v.MAX_WORKERS)):
        if value is not None:
            v.integer(flag, value, minimum=lo, maximum=hi)
    v.number("--lr", cfg.lr, minimum=0.0, strict_min=True, maximum=v.MAX_LR)
    for flag, value in (("--lr-min", cfg.lr_min), ("--momentum", cfg.momentum), ("--weight-decay", cfg.weight_decay),
                        ("--grad-clip", cfg.grad_clip), ("--arch-lr", cfg.arch_lr),
                        ("--arch-weight-decay", cfg.arch_weight_decay)):
        v.number(flag, value, minimum=0.0)
    v.number("--epsilon", cfg.epsilon, minimum=0.0, maximum=1.0, strict_max=True)
    if out is not None:
        v.writable_dir("--out", out)


def _oneshot(args: argparse.Namespace) -> int:
    from nabench.errors import ConfigError
    from nabench.spaces import benchmark_name

    cfg = _config(args)
    _check_numbers(cfg, args.workers, args.out)
    bench = None
    benchmark = benchmark_name(cfg.space)
    if not args.no_lookup and (benchmark == "nb201" or cfg.dataset == "cifar10"):
        import nabench.tables  # DARTS space: the NB301 surrogate predicts CIFAR-10 only

        bench = nabench.tables.load(benchmark, data_dir=args.data_dir)
    import torch

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise ConfigError(f"unknown --device {device!r}; use cpu, cuda or cuda:N") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda was asked for but this torch build sees no GPU; use --device cpu")
    from nabench.oneshot.data import search_loaders
    from nabench.oneshot.runner import run_oneshot

    train, valid, n_classes = search_loaders(cfg.dataset, args.image_root or default_image_root(), cfg.batch_size,
                                             cfg.seed, workers=args.workers, download=args.download)
    out = args.out or Path("runs") / "oneshot" / f"{cfg.space}-{cfg.algo}-{cfg.dataset}-seed{cfg.seed}"
    result = run_oneshot(cfg, train, valid, num_classes=n_classes, device=dev, amp=args.amp, bench=bench,
                         out=out, overwrite=args.overwrite, graphs=args.graphs)
    print(f"final architecture: {result.arch}")
    last = result.rows[-1]
    if "test_200" in last:
        print(f"table (200 epochs): valid {last['valid_200']:.2f}%  test {last['test_200']:.2f}%  "
              f"(12 epochs: valid {last['valid_12']:.2f}%  test {last['test_12']:.2f}%)")
    if "valid_98" in last:
        print(f"NB301 surrogate: valid {last['valid_98']:.2f}% at 98 epochs ({last['valid_12']:.2f}% at 12; "
              "no test split: surrogate validation prediction)")
    print(f"results: {result.out}")
    return 0
