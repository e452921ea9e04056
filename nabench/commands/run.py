"""``nabench run``: multi-seed searches on the tabular benchmark, from flags or a TOML grid.

``nabench run --space 201`` alone runs RS against NA-RS, 20 seeds each, under the NAS-Bench-201
protocol (a few seconds) and prints the summary. Rerunning the same command resumes into the same
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
GRID_FLAGS = ("protocol", "dataset", "searcher", "budget", "crossing", "signal", "fidelity", "max_steps", "radius",
              "agg", "q", "decay", "k", "dedup", "no_self", "exact", "accounting", "param")


def register(sub: argparse._SubParsersAction) -> None:
    from nabench.search import registry
    from nabench.search.protocols import PROTOCOLS, TASK_DATASETS

    p = sub.add_parser(
        "run", help="run searchers (RS, REA, BO, LS, REINFORCE and NA variants) over many seeds",
        description="Run searchers on the tabular benchmark under a protocol, many seeds each, in worker processes; "
                    "write tidy results (evaluations.csv.gz, runs.csv, summary.csv, paired.csv, manifest.json) and "
                    "print mean ± std of the final test accuracy. An interrupted run resumes when rerun with the same "
                    "--out. Example: nabench run --space 201 --searcher na-rs --dataset cifar10 --runs 500 --workers 2",
    )
    p.add_argument("--space", default="201", choices=["201", "nb201"], help="search space (NAS-Bench-201 cells)")
    p.add_argument("--config", metavar="TOML", help="grid file (searchers x datasets x settings); see benchmarks/configs/")
    p.add_argument("--protocol", choices=PROTOCOLS, help="nb201 (default), nats or queries; see nabench.search.protocols")
    p.add_argument("--dataset", action="append", metavar="D",
                   help=f"task dataset(s): {', '.join(TASK_DATASETS)} (repeat or comma-separate; default cifar10)")
    p.add_argument("--searcher", action="append", metavar="S",
                   help=f"searcher(s): {', '.join(registry.NAMES)} (repeat or comma-separate; default rs,na-rs)")
    p.add_argument("--runs", type=int, help=f"runs (seeds) per searcher and dataset (default {DEFAULT_RUNS})")
    p.add_argument("--seed", type=int, help="base seed: run r uses seed+r (default 0)")
    p.add_argument("--workers", type=int, help="worker processes (default: 1 for < 200 runs, else all cores)")
    p.add_argument("--out", metavar="DIR", help="results folder (default nabench-runs/<grid name>-<hash>)")
    add_data_dir(p)
    g = p.add_argument_group("budget and signal (override the protocol)")
    g.add_argument("--budget", type=float, help="budget limit: simulated seconds, or queries for --protocol queries")
    g.add_argument("--crossing", choices=["drop", "keep"], help="what happens to the evaluation that crosses the budget")
    g.add_argument("--signal", choices=["mean", "random-seed"], help="seed mean, or one random seed per evaluation")
    g.add_argument("--fidelity", type=int, help="training epochs of the search signal: 12 or 200")
    g.add_argument("--max-steps", type=int, help="safety cap on steps per run (default 20000)")
    n = p.add_argument_group("neighborhood of NA searchers")
    n.add_argument("--radius", type=int, help="Hamming radius: 1 (default) or 2")
    n.add_argument("--agg", help="mean (default), median, min, quantile or weighted")
    n.add_argument("--q", type=float, help="quantile for --agg quantile")
    n.add_argument("--decay", type=float, help="weight decay**d for --agg weighted (default 0.5)")
    n.add_argument("--k", type=int, help="sample k neighbors per candidate (default: all)")
    n.add_argument("--dedup", action="store_true", default=None, help="drop isomorphic duplicates")
    n.add_argument("--no-self", action="store_true", default=None, help="leave the candidate itself out")
    n.add_argument("--exact", action="store_true", default=None, help="only cells at distance exactly --radius")
    n.add_argument("--accounting", choices=["query", "candidate"],
                   help="query (default): neighbors are charged; candidate: only candidates are")
    p.add_argument("--param", action="append", metavar="SEARCHER.NAME=VALUE",
                   help="a searcher hyperparameter, e.g. rea.population=20 (repeatable)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
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
        except json.JSONDecodeError:
            parsed = value
        out.setdefault(searcher.strip().lower(), {})[param.strip()] = parsed
    return out


def grid_from_args(args: argparse.Namespace) -> Any:
    """The grid described by the command line (or the --config file)."""
    from nabench.experiments.config import grid_from_dict, load_grid

    if args.config:
        given = [f"--{f.replace('_', '-')}" for f in GRID_FLAGS if getattr(args, f, None) is not None]
        if given:
            raise ConfigError(f"{', '.join(given)} cannot be combined with --config; put them in the grid file")
        grid = load_grid(args.config)
        if args.runs is not None or args.seed is not None:
            from dataclasses import replace

            grid = replace(grid, runs=args.runs if args.runs is not None else grid.runs,
                           seed=args.seed if args.seed is not None else grid.seed)
        return grid
    setting: dict[str, Any] = {}
    for key in ("budget", "crossing", "signal", "fidelity", "max_steps"):
        if getattr(args, key) is not None:
            setting[key] = getattr(args, key)
    nb: dict[str, Any] = {}
    for key in ("radius", "agg", "q", "decay", "k", "dedup", "exact", "accounting"):
        if getattr(args, key) is not None:
            nb[key] = getattr(args, key)
    if args.no_self:
        nb["include_self"] = False
    if nb:
        setting["neighborhood"] = nb
    params = _parse_params(args.param)
    if params:
        setting["params"] = params
    name = "custom" if setting else "default"
    protocol = args.protocol or "nb201"
    doc = {
        "name": protocol, "runs": args.runs if args.runs is not None else DEFAULT_RUNS,
        "seed": args.seed if args.seed is not None else 0,
        "settings": {name: setting},
        "experiment": [{"protocol": protocol, "datasets": _split(args.dataset, ("cifar10",)),
                        "searchers": _split(args.searcher, DEFAULT_SEARCHERS), "settings": [name]}],
    }
    return grid_from_dict(doc, "the command line")


def _run(args: argparse.Namespace) -> int:
    import nabench
    from nabench.experiments import run_grid
    from nabench.experiments.summary import format_paired, format_summary

    grid = grid_from_args(args)
    total = len(grid.cells) * grid.runs
    workers = args.workers
    if workers is None:
        workers = 1 if total < 200 else max(1, os.cpu_count() or 1)
    out = Path(args.out) if args.out else Path("nabench-runs") / f"{grid.name}-{grid.fingerprint}"
    bench = nabench.load("nb201", args.data_dir)
    print(f"{len(grid.cells)} cell(s) x {grid.runs} runs with {workers} worker(s) -> {out}")
    result = run_grid(grid, out, bench=bench, workers=workers, progress=not args.no_progress)
    print(format_summary(result.summary))
    paired = format_paired(result.paired)
    if paired:
        print(paired)
    print(f"results in {out}: evaluations.csv.gz, runs.csv, summary.csv, paired.csv, manifest.json "
          f"({result.ran} runs made, {result.skipped} resumed, {result.wall_s:.1f} s)")
    return 0
