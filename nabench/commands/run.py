"""``nabench run``: multi-seed searches on a benchmark, from flags or a TOML grid.

``nabench run --space 201`` alone runs RS against NA-RS, 20 seeds each, under the NAS-Bench-201
protocol (a few seconds) and prints the summary. ``--space 301`` runs on the DARTS space through the
NAS-Bench-301 surrogate (protocol ``nb301``: 100 queries, signal at epoch 12, report the epoch-98
prediction: no test split), ``--space sss`` on the NATS size space after importing its folder. The
space names the benchmark; the protocol must be one of that benchmark's
(:data:`nabench.search.protocols.BENCHMARK_PROTOCOLS`). Rerunning the same command resumes into the same
folder (the default ``--out`` is named after the grid's content).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from nabench.commands.common import add_data_dir
from nabench.errors import ConfigError

DEFAULT_SEARCHERS = ("rs", "na-rs")
DEFAULT_RUNS = 20
#: Flags that describe a grid, and so cannot be combined with --config.
GRID_FLAGS = ("protocol", "dataset", "searcher", "budget", "crossing", "charge", "signal", "fidelity", "max_steps",
              "radius", "agg", "q", "decay", "k", "dedup", "no_self", "exact", "accounting", "na_mode", "na_fraction",
              "na_top", "na_fidelity", "param")
#: NA mode flags -> their key in a setting's neighborhood table.
NA_FLAGS = {"na_mode": "mode", "na_fraction": "fraction", "na_top": "top", "na_fidelity": "fidelity"}


def register(sub: argparse._SubParsersAction) -> None:
    from nabench import benchmarks
    from nabench.search import registry

    benchmarks.ensure_loaded()  # installed benchmark plugins add spaces and protocols
    from nabench.search.protocols import BENCHMARK_PROTOCOLS, PROTOCOLS, TASK_DATASETS

    extra = "".join(f"; {b}: {', '.join(ps)}" for b, ps in BENCHMARK_PROTOCOLS.items() if b not in benchmarks.BUILTIN)

    p = sub.add_parser(
        "run", help="run searchers (RS, REA, BO, LS, REINFORCE and NA variants) over many seeds",
        description="Run searchers on the tabular benchmark under a protocol, many seeds each, in worker processes; "
                    "write tidy results (evaluations.csv.gz, runs.csv, summary.csv, paired.csv, manifest.json) and "
                    "print mean ± std of the final test accuracy. An interrupted run resumes when rerun with the same "
                    "--out. Example: nabench run --space 201 --searcher na-rs --dataset cifar10 --runs 500 --workers 2",
    )
    p.add_argument("--space", default=None, metavar="SPACE",
                   help="201 (NAS-Bench-201, default), 301 or darts (the DARTS space on the NAS-Bench-301 surrogate), "
                        "sss (the NATS size space, after `nabench data import` of an official sss folder), or the name "
                        "of a benchmark plugin" + "".join(f" ({n})" for n in benchmarks.plugins()))
    p.add_argument("--config", metavar="TOML", help="grid file (searchers x datasets x settings); see benchmarks/configs/")
    p.add_argument("--protocol", choices=PROTOCOLS,
                   help="201: nb201 (default), nats, queries; 301: nb301 (100 queries, default), nb301-300, nb301-time; "
                        "sss: sss (default), sss-queries" + extra + "; see nabench.search.protocols")
    p.add_argument("--dataset", action="append", metavar="D",
                   help=f"task dataset(s): {', '.join(TASK_DATASETS)} (repeat or comma-separate; default cifar10)")
    p.add_argument("--searcher", action="append", metavar="S",
                   help=f"searcher(s): {', '.join(registry.NAMES)}; with nabench[optuna] also "
                        f"{', '.join(n for n in registry.OPTIONAL if n not in registry.SEARCHERS)} and their na- "
                        "variants (repeat or comma-separate; default rs,na-rs)")
    p.add_argument("--runs", type=int, help=f"runs (seeds) per searcher and dataset (default {DEFAULT_RUNS})")
    p.add_argument("--seed", type=int, help="base seed: run r uses seed+r (default 0)")
    p.add_argument("--workers", type=int, help="worker processes (default: 1 for < 200 runs, else the CPUs this "
                                               "process may use: its affinity mask, capped by SLURM_CPUS_PER_TASK)")
    p.add_argument("--out", metavar="DIR", help="results folder (default nabench-runs/<grid name>-<hash>)")
    add_data_dir(p)
    g = p.add_argument_group("budget and signal (override the protocol)")
    g.add_argument("--budget", type=float, help="budget limit: simulated seconds, or queries for --protocol queries")
    g.add_argument("--crossing", choices=["drop", "keep"], help="what happens to the evaluation that crosses the budget")
    g.add_argument("--charge", choices=["every", "once"],
                   help="every: each proposal is charged, repeats included, and its signal read again (the official "
                        "NAS-Bench-201 / NATS-Bench rule; default of the nb201, nats and sss protocols); once: each "
                        "architecture is charged once per run (default of the query-budget protocols)")
    g.add_argument("--signal", choices=["mean", "random-seed"], help="seed mean, or one random seed per evaluation")
    g.add_argument("--fidelity", type=int, help="training epochs of the search signal: 12 or 200")
    g.add_argument("--max-steps", type=int, help="safety cap on steps per run (default 20000)")
    n = p.add_argument_group("neighborhood of NA searchers")
    n.add_argument("--radius", type=int, help="Hamming radius: 1 (default) or 2")
    n.add_argument("--agg", help="mean (default), median, min, quantile or weighted")
    n.add_argument("--q", type=float, help="quantile for --agg quantile")
    n.add_argument("--decay", type=float, help="weight decay**d for --agg weighted (default 0.5)")
    n.add_argument("--k", help="sample k neighbors per candidate, or 'all' (also 0) for the whole neighborhood "
                               "(default: all; the nb301 presets sample 8 of 120)")
    n.add_argument("--dedup", action="store_true", default=None, help="drop isomorphic duplicates")
    n.add_argument("--no-self", action="store_true", default=None, help="leave the candidate itself out")
    n.add_argument("--exact", action="store_true", default=None, help="only cells at distance exactly --radius")
    n.add_argument("--accounting", choices=["query", "candidate"],
                   help="query (default): neighbors are charged; candidate: only candidates are")
    n.add_argument("--na-mode", choices=["full", "history", "select"],
                   help="full (default): aggregate over the whole neighborhood, every neighbor read; history: over the "
                        "candidate and its neighbors already evaluated in the run (no extra cost); select: plain search "
                        "on 1 - f of the budget, then f on the neighborhoods of the top incumbents")
    n.add_argument("--na-fraction", type=float, help="share f of the budget --na-mode select spends on neighborhoods "
                                                      "(default 0.2)")
    n.add_argument("--na-top", type=int, help="incumbents whose neighborhoods --na-mode select reads (default 3)")
    n.add_argument("--na-fidelity", type=int, metavar="E",
                   help="read neighbors at the cheaper fidelity E and charge them at it (e.g. 12 around a 200-epoch "
                        "signal on NB201; any epoch below the signal's on the NB301 surrogate)")
    p.add_argument("--param", action="append", metavar="SEARCHER.NAME=VALUE",
                   help="a searcher hyperparameter, e.g. rea.population=20 (repeatable)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    la = p.add_argument_group("launcher (where the runs execute; also a [launcher] table in the grid file)")
    la.add_argument("--launcher", choices=["local", "submitit-local", "slurm"],
                    help="local (default): a process pool here; slurm: a Slurm job array through submitit, several "
                         "runs per array element; submitit-local: the same path through submitit's local executor")
    la.add_argument("--partition", help="Slurm partition")
    la.add_argument("--account", help="Slurm account")
    la.add_argument("--qos", help="Slurm quality of service")
    la.add_argument("--time", type=int, dest="time_min", metavar="MIN", help="time limit per array element, minutes "
                                                                              "(default 60)")
    la.add_argument("--cpus-per-task", type=int, help="CPUs (worker processes) per array element (default 1)")
    la.add_argument("--mem-gb", type=float, help="memory per array element, GB")
    la.add_argument("--runs-per-job", type=int, help="runs per array element (default 200)")
    la.add_argument("--array-parallelism", type=int, help="array elements running at once (default 64)")
    la.add_argument("--no-wait", action="store_false", dest="wait", default=None,
                    help="submit and return; rerun the same command later to write the tables")
    p.set_defaults(func=_run)


def _split(values: list[str] | None, default: tuple[str, ...]) -> list[str]:
    if not values:
        return list(default)
    return [v.strip() for item in values for v in item.split(",") if v.strip()]


def _parse_params(items: list[str] | None) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for item in items or []:
        name, eq, value = item.partition("=")
        searcher, dot, param = name.partition(".")
        if not eq or not dot or not searcher or not param:
            raise ConfigError(f"--param {item!r} must look like SEARCHER.NAME=VALUE, e.g. rea.population=20")
        try:
            parsed = json.loads(value)
        except (json.JSONDecodeError, RecursionError):  # not JSON: the text itself
            parsed = value
        out.setdefault(searcher.strip().lower(), {})[param.strip()] = parsed
    return out


#: Flags of the launcher, by their [launcher] key.
LAUNCHER_FLAGS = ("launcher", "partition", "account", "qos", "time_min", "cpus_per_task", "mem_gb", "runs_per_job",
                  "array_parallelism", "wait")


def check_flags(args: argparse.Namespace) -> None:
    """Check the numeric flags with their own names before anything else happens."""
    from nabench import validate

    if args.runs is not None:
        validate.integer("--runs", args.runs, minimum=1, maximum=validate.MAX_RUNS)
    if args.seed is not None:
        validate.seed("--seed", args.seed)
    if args.workers is not None:
        validate.integer("--workers", args.workers, minimum=1, maximum=validate.MAX_WORKERS)


def launcher_from_args(args: argparse.Namespace, grid: Any) -> Any:
    """The launcher: the grid file's [launcher] table, overridden by the flags."""
    from nabench.experiments.launch import OPTION_CHECKS, make_launcher

    opts = dict(grid.launcher)
    for k in LAUNCHER_FLAGS:
        if getattr(args, k, None) is not None:
            flag = "--time" if k == "time_min" else "--no-wait" if k == "wait" else f"--{k.replace('_', '-')}"
            opts[k] = OPTION_CHECKS[k](flag, getattr(args, k))
    return make_launcher(opts)


def benchmark_of(args: argparse.Namespace) -> str:
    """The benchmark ``--space`` names (``nb201`` when it is not given)."""
    from nabench.spaces import benchmark_name

    return benchmark_name(args.space or "201")


def grid_from_args(args: argparse.Namespace) -> Any:
    """The grid described by the command line (or the --config file)."""
    from nabench.experiments.config import grid_from_dict, load_grid
    from nabench.neighborhood import K_ALL, check_k
    from nabench.search.protocols import BENCHMARK_PROTOCOLS
    from nabench.spaces.base import TASKS

    if args.config:
        given = [f"--{f.replace('_', '-')}" for f in GRID_FLAGS if getattr(args, f, None) is not None]
        if given:
            raise ConfigError(f"{', '.join(given)} cannot be combined with --config; put them in the grid file")
        grid = load_grid(args.config)
        if args.space is not None and {c.task.benchmark for c in grid.cells} != {benchmark_of(args)}:
            raise ConfigError(f"--space {args.space} does not match the grid file, whose cells search "
                              f"{', '.join(sorted({c.task.benchmark for c in grid.cells}))}; drop --space")
        if args.runs is not None or args.seed is not None:
            from dataclasses import replace

            grid = replace(grid, runs=args.runs if args.runs is not None else grid.runs,
                           seed=args.seed if args.seed is not None else grid.seed)
        return grid
    setting: dict[str, Any] = {}
    for key in ("budget", "crossing", "charge", "signal", "fidelity", "max_steps"):
        if getattr(args, key) is not None:
            setting[key] = getattr(args, key)
    nb: dict[str, Any] = {}
    for key in ("radius", "agg", "q", "decay", "dedup", "exact", "accounting"):
        if getattr(args, key) is not None:
            nb[key] = getattr(args, key)
    if args.k is not None:
        nb["k"] = check_k("--k", args.k, text=True) or K_ALL
    for flag, key in NA_FLAGS.items():
        if getattr(args, flag) is not None:
            nb[key] = getattr(args, flag)
    if args.no_self:
        nb["include_self"] = False
    if nb:
        setting["neighborhood"] = nb
    params = _parse_params(args.param)
    if params:
        setting["params"] = params
    name = "custom" if setting else "default"
    bench_name = benchmark_of(args)
    protocol = args.protocol or BENCHMARK_PROTOCOLS[bench_name][0]
    if protocol not in BENCHMARK_PROTOCOLS[bench_name]:
        raise ConfigError(f"--protocol {protocol} does not apply to --space {args.space or '201'} ({bench_name}); "
                          f"its protocols are {', '.join(BENCHMARK_PROTOCOLS[bench_name])}")
    doc = {
        "name": protocol, "runs": args.runs if args.runs is not None else DEFAULT_RUNS,
        "seed": args.seed if args.seed is not None else 0,
        "settings": {name: setting},
        "experiment": [{"protocol": protocol, "datasets": _split(args.dataset, (next(iter(TASKS[bench_name])),)),
                        "searchers": _split(args.searcher, DEFAULT_SEARCHERS), "settings": [name]}],
    }
    return grid_from_dict(doc, "the command line")


def _run(args: argparse.Namespace) -> int:
    import nabench
    from nabench.experiments import run_grid
    from nabench.experiments.summary import format_paired, format_summary

    from nabench import validate
    from nabench.experiments.launch import default_workers

    check_flags(args)
    grid = grid_from_args(args)
    launcher = launcher_from_args(args, grid)
    workers = args.workers if args.workers is not None else default_workers(len(grid.cells) * grid.runs)
    out = Path(args.out) if args.out else Path("nabench-runs") / f"{grid.name}-{grid.fingerprint}"
    validate.writable_dir("--out", out)
    bench = nabench.load(grid.cells[0].task.benchmark, args.data_dir)
    result = run_grid(grid, out, bench=bench, workers=workers, progress=not args.no_progress, launcher=launcher)
    if result.pending:
        print(f"{result.pending} runs pending in {out}; rerun the same command when they have ended")
        return 0
    print(format_summary(result.summary, result.timings))
    paired = format_paired(result.paired)
    if paired:
        print(paired)
    print(f"results in {out}: evaluations.csv.gz, runs.csv, summary.csv, paired.csv, timings.csv, manifest.json "
          f"({result.ran} runs made, {result.skipped} resumed, {result.wall_s:.1f} s)")
    return 0
