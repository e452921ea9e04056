"""The multi-seed runner: every (cell, run) of a grid, in worker processes, into a results folder.

Runs are independent jobs ``(cell, run, seed = grid.seed + run)``. With ``workers > 1`` they go to a
``spawn`` process pool (safe on every platform, and no state leaks from the parent); each worker gets
the space and the search signals once, at start. The parent is the only writer: it appends each
finished run to the log as it arrives, so a killed grid loses only the runs in flight. At the end
the parent makes the tidy tables from the log (see :mod:`.store`), looking up test accuracies of
the incumbents itself; test splits never reach a worker.

Order of work, so that a mistake costs nothing: every argument, the output folder (writable, checked
without writing), the search signals and each cell's searcher are checked first; then the folder's
manifest and logs are checked against the grid (run keys: a changed seed, setting or store is refused,
see :mod:`.store`); only then is anything announced or written. The tables hold the requested runs
only, in the grid's cell order, so a resumed or extended folder gives the same bytes as a fresh one.

Workers die with the parent (:mod:`.lifeline`). ``launcher`` sends the missing runs elsewhere
(submitit's local executor or a Slurm job array, see :mod:`.launch`) instead of the local pool.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from nabench import __version__, validate
from nabench.errors import ConfigError, NabenchError
from nabench.experiments import lifeline
from nabench.experiments import summary as summ
from nabench.experiments import worker
from nabench.experiments.config import Grid
from nabench.atomic import write_bytes
from nabench.experiments.store import ResultsStore, run_key
from nabench.search import registry
from nabench.search.signal import Signal, make_signal


@dataclass(frozen=True)
class GridResult:
    """What a finished grid produced."""

    out: Path
    ran: int
    skipped: int
    summary: pd.DataFrame
    paired: pd.DataFrame
    wall_s: float
    timings: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(summ.TIMING_COLUMNS)))
    pending: int = 0


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    compression = "gzip" if path.suffix == ".gz" else None
    data = df.to_csv(index=False, float_format="%.10g").encode()
    if compression:
        import gzip

        data = gzip.compress(data, compresslevel=6, mtime=0)
    write_bytes(path, data)


def signals_for(grid: Grid, bench: Any) -> dict[tuple[str, str, int, str], Signal]:
    """The search signals the grid's cells read (validation splits only), from ``bench``, whose space
    every cell must search (one benchmark per grid)."""
    out: dict[tuple[str, str, int, str], Signal] = {}
    for cell in grid.cells:
        t = cell.task
        if t.benchmark != bench.name:
            raise ConfigError(f"cell {cell.key} searches benchmark {t.benchmark}, but the grid runs on {bench.name}; "
                              "put cells of different spaces in different grids (--space)")
        for k in worker.signal_keys(cell):  # the candidates' signal, and NA neighbors' at --na-fidelity
            if k not in out:
                out[k] = make_signal(bench, dataset=k[0], split=k[1], fidelity=k[2], mode=k[3])
    return out


def _preflight(grid: Grid, bench: Any) -> None:
    """Fail now, before anything is written, on what would fail in a worker: a search signal the store
    cannot give (e.g. per-seed values at fidelity 12), a searcher hyperparameter value it refuses."""
    signals = signals_for(grid, bench)
    space = bench.space
    for cell in grid.cells:
        registry.make(cell.base, space, np.random.default_rng(0), cell.params)
        budget, cost = cell.task.budget, getattr(signals[worker.signal_key(cell)], "cost", None)
        if budget.kind == "time" and cost is not None and budget.limit < np.nanmin(cost):
            raise ConfigError(f"the budget of {budget.limit:g} s of cell {cell.key} cannot pay for even the cheapest "
                              f"evaluation ({np.nanmin(cost):.1f} s); raise the budget")


def run_grid(grid: Grid, out: str | Path, *, bench: Any = None, data_dir: Any = None, workers: int = 1,
             progress: bool = True, command: str | None = None, log: Callable[[str], None] = print,
             launcher: Any = None) -> GridResult:
    """Run every unfinished run of ``grid`` into ``out`` and write the tables (see the module docstring).

    ``launcher``: ``None`` for the local process pool of ``workers`` processes, or a
    :class:`~nabench.experiments.launch.SubmititLauncher`. A launcher that does not wait for its jobs
    returns with ``pending`` > 0 and no tables; rerunning collects them and submits only what is missing.
    """
    from nabench.experiments import launch

    if not isinstance(grid, Grid):
        raise ConfigError(f"run_grid needs a Grid (from load_grid or grid_from_dict), got {type(grid).__name__}")
    workers = validate.integer("workers", workers, minimum=1, maximum=validate.MAX_WORKERS)
    validate.boolean("progress", progress)
    if launcher is not None and not isinstance(launcher, launch.SubmititLauncher):
        raise ConfigError(f"launcher must be None (the local pool) or a SubmititLauncher, got {launcher!r}")
    if not callable(log):
        raise ConfigError(f"log must be a callable taking one line of text (e.g. print), got {log!r}")
    if command is not None:
        validate.string("command", command)
    out = validate.writable_dir("--out", out)
    if bench is None:
        import nabench

        bench = nabench.load("nb201", data_dir)
    else:
        from nabench.spaces.base import Benchmark

        if not isinstance(bench, Benchmark):
            raise ConfigError(f"bench must be a benchmark (nabench.load(...)), got {type(bench).__name__}")
    _preflight(grid, bench)
    t0 = time.perf_counter()
    checksum = bench.checksum
    cells = {c.key: c.to_dict() for c in grid.cells}
    wanted = [(c.key, r, grid.seed + r, run_key(cells[c.key], grid.seed + r, checksum))
              for c in grid.cells for r in range(grid.runs)]
    with ResultsStore(out) as store:
        old = store.check_manifest(cells, checksum)
        found = store.resume(wanted, checksum)
        queued = launcher.in_flight(out, log, set(found)) if launcher is not None else set()
        index = {c.key: i for i, c in enumerate(grid.cells)}
        jobs = [(index[c], r, s) for c, r, s, k in wanted if k not in found and k not in queued]
        extra = {"nabench_version": __version__, "grid": {"name": grid.name, "runs": grid.runs, "seed": grid.seed},
                 "command": command or " ".join(sys.argv)}
        manifest = store.merged_manifest(old, cells, checksum, extra)
        how = f"with {workers} worker(s)" if launcher is None else f"through {launcher.describe()}"
        log(f"{len(grid.cells)} cell(s) x {grid.runs} runs {how} -> {out}")
        if found:
            log(f"resuming in {out}: {len(found)} finished runs kept, {len(jobs)} to run")
        store.write_manifest(manifest)
        store.repair()
        store.expect({(c, r): k for c, r, _, k in wanted}, checksum)
        pending = len(queued)
        if jobs and launcher is None:
            _execute(grid, bench, jobs, store, workers, progress)
        elif jobs:
            pending += launcher.run(grid, bench, out, jobs, {(c, r): k for c, r, _, k in wanted}, log)
        if pending:
            return GridResult(out, 0, len(found), pd.DataFrame(), pd.DataFrame(), time.perf_counter() - t0,
                              pending=pending)
        records = store.resume(wanted, checksum)
        missing = len(wanted) - len(records)
        if missing:
            raise NabenchError(f"{missing} of the grid's runs did not finish (see the launcher's logs); the finished "
                               f"runs are kept in {out}: rerun the same command to run the rest")
        ordered = [records[k] for *_, k in wanted]
        evaluations, runs = summ.tables(ordered, cells, _lookup(bench))
        timings = summ.timings(ordered, cells)
        summary, paired = summ.summarize(runs), summ.paired(runs)
        _write_csv(evaluations, out / "evaluations.csv.gz")
        _write_csv(runs, out / "runs.csv")
        _write_csv(summary, out / "summary.csv")
        _write_csv(paired, out / "paired.csv")
        _write_csv(timings, out / "timings.csv")
        wall = time.perf_counter() - t0
        store.write_manifest(dict(manifest, complete=True, n_runs=len(ordered), last_wall_s=round(wall, 3)))
    return GridResult(out, len(jobs), len(found), summary, paired, wall, timings)


def _lookup(bench: Any) -> summ.ReportLookup:
    """Report values of the incumbents only (a batched query: table gather, or one surrogate call)."""
    return lambda ds, split, fid, archs: bench.accuracy(archs, dataset=ds, split=split, fidelity=fid)


def _execute(grid: Grid, bench: Any, jobs: list[tuple[int, int, int]], store: ResultsStore, workers: int,
             progress: bool) -> None:
    from tqdm import tqdm

    initargs = (bench.space, signals_for(grid, bench), grid.cells)
    bar = tqdm(total=len(jobs), unit="run", desc="runs", disable=not progress, file=sys.stderr, smoothing=0.05)
    try:
        if workers == 1:
            worker.init(*initargs)
            try:
                for job in jobs:
                    store.append(worker.execute(job))
                    bar.update()
            finally:
                worker.release()
        else:
            ctx = multiprocessing.get_context("spawn")
            pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=lifeline.start,
                                       initargs=(os.getpid(), lifeline.parent_plugins(), worker.init, *initargs))
            try:
                futures = [pool.submit(worker.execute, job) for job in jobs]
                for fut in as_completed(futures):
                    store.append(fut.result())
                    bar.update()
            except BrokenProcessPool:
                raise NabenchError("a worker process died (killed, or out of memory?); the runs finished so far are "
                                   "kept: rerun the same command to resume") from None
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
    finally:
        bar.close()
