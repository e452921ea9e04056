"""``nabench train``: train NAS-Bench-201 cells or a DARTS genotype from scratch with a named recipe.

Examples::

    nabench train --arch 6111 --dataset cifar10 --preset nb201-200 --download
    nabench train --arch 6111 --arch 13714 --seeds 0,1,2 --pack 6 --dataset cifar10 --preset nb201-200
    nabench train --genotype darts-v2 --dataset cifar10 --preset darts-cifar
    nabench train --from-run OUT --top 20 --seeds 0,1 --pack 8 --dataset cifar10 --preset nb201-200
    torchrun --nproc-per-node 8 -m nabench.cli train --genotype darts-v2 --dataset imagenet \\
        --preset darts-imagenet --image-root /data/imagenet

One network and one seed: ``--out`` is the run folder. Several (``--arch`` repeated, ``--seeds``, or
``--from-run``): ``--out`` is the parent of one folder per network and seed, and ``--pack K`` trains K
NAS-Bench-201 networks at once as one batched computation. Re-running the same command resumes: finished
networks are skipped, interrupted ones continue from their checkpoints. torch is imported only when the
command runs. ``--image-root`` (former name ``--data-root``) is the image datasets, ``--data-dir`` the tables
(needed for an ARCH given as an index and for the farm's benchmark column).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from nabench.commands.common import add_data_dir, add_image_root, default_image_root


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train", help="train final architectures (NAS-Bench-201 cells or a DARTS genotype), or a run's winners",
        description="Train networks from scratch with a named recipe, evaluate them on the test split, and write "
                    "checkpoint.pt, metrics.csv and final.json per network. Re-running resumes. Launch with "
                    "torchrun for several GPUs or nodes (one network); --pack K batches K NAS-Bench-201 networks "
                    "on one device; --from-run trains the final cells of a search-run folder and tabulates them "
                    "beside the benchmark.")
    net = p.add_mutually_exclusive_group()
    net.add_argument("--arch", action="append", default=None, metavar="ARCH",
                     help="NAS-Bench-201 cell: official index (0..15624) or string |op~0|+|op~0|op~1|+|...|; "
                          "repeat for several cells")
    net.add_argument("--genotype", help="DARTS genotype: darts-v2, darts-v1 or a Genotype(normal=[...], ...) literal")
    net.add_argument("--from-run", type=Path, default=None, metavar="RUN_DIR",
                     help="train the final architectures of this search-run folder (nabench run --out RUN_DIR)")
    p.add_argument("--dataset", help="cifar10, cifar100, ImageNet16-120 or imagenet")
    p.add_argument("--preset", help="training recipe (see --list-presets)")
    p.add_argument("--list-presets", action="store_true", help="print the presets and their settings, then exit")
    add_image_root(p)
    add_data_dir(p)
    p.add_argument("--download", action="store_true", help="download CIFAR-10/100 if missing (MD5-checked)")
    p.add_argument("--out", type=Path, default=None,
                   help="run folder, or the parent folder when training several networks (default runs/train/..., "
                        "RUN_DIR/trained with --from-run)")
    p.add_argument("--epochs", type=int, default=None, help="override the preset's epochs")
    p.add_argument("--batch-size", type=int, default=None, help="override the global batch size")
    p.add_argument("--lr", type=float, default=None, help="override the learning rate")
    p.add_argument("--seed", type=int, default=0, help="run seed (weights, data order, augmentation, drop-path)")
    p.add_argument("--seeds", default=None, help="several run seeds, comma-separated (each network trains once per seed)")
    p.add_argument("--data-seed", type=int, default=None,
                   help="seed of the data order and augmentation alone (default: from the run seed); networks "
                        "packed with one --data-seed read each batch once for all of them")
    p.add_argument("--pack", type=int, default=1,
                   help="train up to K NAS-Bench-201 networks at once as one batched computation (default 1)")
    p.add_argument("--graphs", action="store_true",
                   help="capture the training step in a CUDA graph (CUDA only; elsewhere the eager step, with a note)")
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
    farm = p.add_argument_group("training farm (--from-run)")
    farm.add_argument("--top", type=int, default=None, help="train only the K distinct cells with the best final signal")
    farm.add_argument("--launcher", default="local",
                      help="local (default: this machine, one process per GPU), slurm (a submitit job array), "
                           "submitit-local or submitit-debug (the submitit path on this machine)")
    farm.add_argument("--partition", default=None, help="Slurm partition")
    farm.add_argument("--account", default=None, help="Slurm account")
    farm.add_argument("--qos", default=None, help="Slurm quality of service")
    farm.add_argument("--time", type=int, dest="time_min", default=60, metavar="MIN",
                      help="Slurm time limit per job, minutes (default 60)")
    farm.add_argument("--gpus-per-job", type=int, default=1,
                      help="GPUs per Slurm job; more than 1 runs torchrun inside the job (default 1)")
    farm.add_argument("--cpus-per-task", type=int, default=8, help="CPUs per Slurm job (default 8)")
    farm.add_argument("--mem-gb", type=int, default=32, help="memory per Slurm job in GB (default 32)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the final summary (or summaries) as JSON")
    p.set_defaults(func=_train)


def resolve_arch(text: str, data_dir: Any = None) -> str:
    """An ARCH as ``query`` takes it (official index or cell string) as a cell string.

    An index goes through :func:`nabench.spaces.parse_arch`, the CLI's one ARCH parser, on the benchmark's space
    (its order is the benchmark's own list, so it needs the tables); a string is parsed and validated without them.
    """
    from nabench.spaces import nb201, parse_arch

    arch = text.strip()
    if arch.startswith("|"):
        return nb201.to_str(nb201.parse(arch))
    nb201.parse_index(arch)  # a malformed or out-of-range index is refused before the tables load
    import nabench

    space = nabench.load("nb201", data_dir).space
    return space.format(parse_arch(space, arch))


def _seeds(args: argparse.Namespace) -> list[int]:
    from nabench import validate
    from nabench.errors import ConfigError

    if args.seeds is None:
        return [validate.seed("--seed", args.seed)]
    try:
        seeds = [validate.int_string("--seeds", s.strip(), signed=True) for s in args.seeds.split(",") if s.strip()]
    except ConfigError as e:
        raise ConfigError(f"--seeds takes comma-separated integers (digits 0-9), e.g. --seeds 0,1,2; {e}") from None
    if not seeds or len(set(seeds)) != len(seeds):
        raise ConfigError(f"--seeds needs distinct integers, e.g. --seeds 0,1,2; got {args.seeds!r}")
    return [validate.seed("--seeds", s) for s in seeds]


def _check_numbers(args: argparse.Namespace) -> None:
    """The numeric flags and --out, checked before anything loads (NaN, negative or absurd values and an
    unwritable folder are one-line errors)."""
    from nabench import validate as v

    for flag, value, lo, hi in (("--epochs", args.epochs, 1, v.MAX_EPOCHS),
                                ("--batch-size", args.batch_size, 1, v.MAX_BATCH_SIZE),
                                ("--workers", args.workers, 0, v.MAX_WORKERS), ("--eval-every", args.eval_every, 0, None),
                                ("--channels", args.channels, 1, v.MAX_CHANNELS), ("--cells", args.cells, 1, v.MAX_CELLS),
                                ("--top", args.top, 1, None)):
        if value is not None:
            v.integer(flag, value, minimum=lo, maximum=hi)
    if args.lr is not None:
        v.number("--lr", args.lr, minimum=0.0, strict_min=True, maximum=v.MAX_LR)
    if args.data_seed is not None:
        v.seed("--data-seed", args.data_seed)
    if args.out is not None:
        v.writable_dir("--out", args.out)  # before any dataset loads or network trains


def _train(args: argparse.Namespace) -> int:
    from nabench import validate
    from nabench.errors import ConfigError
    from nabench.train.recipes import RECIPES, get_recipe

    if args.list_presets:
        for name, recipe in RECIPES.items():
            settings = {k: v for k, v in recipe.as_dict().items() if k not in ("name", "source")}
            print(f"{name}: {json.dumps(settings)}\n    source: {recipe.source}")
        return 0
    missing = [flag for flag, value in (("--dataset", args.dataset), ("--preset", args.preset)) if not value]
    if args.arch is None and args.genotype is None and args.from_run is None:
        missing.append("--arch, --genotype or --from-run")
    if missing:
        raise ConfigError(f"missing {', '.join(missing)}; e.g. nabench train --arch 6111 --dataset cifar10 "
                          "--preset nb201-200")
    get_recipe(args.preset)
    _check_numbers(args)
    pack = validate.integer("--pack", args.pack, minimum=1, maximum=1024)
    seeds = _seeds(args)
    from nabench.train.run import Network, RunConfig, run, run_many

    config = RunConfig(
        dataset=args.dataset, preset=args.preset, arch=None, genotype=args.genotype,
        data_root=args.image_root or default_image_root(), out=args.out, epochs=args.epochs,
        batch_size=args.batch_size, lr=args.lr, seed=seeds[0], compile=args.compile, download=args.download,
        workers=args.workers, device=args.device, train_split=args.train_split, eval_split=args.eval_split,
        eval_every=args.eval_every, progress=not args.no_progress, deterministic=args.deterministic,
        sync_bn=args.sync_bn, layers=args.cells, channels=args.channels, data_seed=args.data_seed,
        graphs=args.graphs,
    )
    if args.from_run is not None:
        return _farm(args, config, seeds, pack)
    archs = [resolve_arch(a, args.data_dir) for a in args.arch] if args.arch else [None]
    if len(archs) == 1 and len(seeds) == 1 and pack == 1:
        from dataclasses import replace

        summary = run(replace(config, arch=archs[0]))
        if int(os.environ.get("RANK", "0")) != 0:
            return 0
        _print([summary], args.json)
        return 0
    if len(set(archs)) != len(archs):
        raise ConfigError("the same --arch is given twice; give each cell once (use --seeds for repeats)")
    from nabench.train.networks import network_spec

    parent = args.out or Path("runs") / "train" / f"{args.dataset}-{args.preset}"
    nets = []
    for arch in archs:
        spec = network_spec(args.dataset, arch, args.genotype, layers=args.cells, channels=args.channels)
        nets.extend(Network(arch, args.genotype, s, parent / f"{spec.short_id}-seed{s}") for s in seeds)
    _print(run_many(config, nets, pack=pack), args.json)
    return 0


def _farm(args: argparse.Namespace, config: Any, seeds: list[int], pack: int) -> int:
    from nabench.train.farm import SlurmSettings, run_farm

    slurm = SlurmSettings(partition=args.partition, account=args.account, qos=args.qos, time_min=args.time_min,
                          gpus_per_job=args.gpus_per_job,
                          cpus_per_task=args.cpus_per_task, mem_gb=args.mem_gb)
    table = run_farm(args.from_run, config, seeds, farm_dir=args.out, top=args.top, pack=pack,
                     launcher=args.launcher, slurm=slurm, data_dir=args.data_dir)
    if args.json:
        print(table.to_json(orient="records", indent=2))
    else:
        cols = ["arch", "seed", "test_acc", "benchmark_acc", "n_runs"]
        print(table[cols].to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    return 0


def _print(summaries: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        print(json.dumps(summaries[0] if len(summaries) == 1 else summaries, indent=2, default=str))
        return
    for summary in summaries:
        print(f"run folder: {summary['out']}")
        if "test_acc" in summary:
            print(f"test: top-1 {summary['test_acc']:.2f}%  top-5 {summary['test_top5']:.2f}%  "
                  f"loss {summary['test_loss']:.4f}  ({int(summary['test_images'])} images)")
        print(f"params: {summary['params'] / 1e6:.6f} M  epochs: {summary['epochs']}  "
              f"train time: {summary['train_time_s']:.1f} s")
