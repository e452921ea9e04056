"""The multi-seed runner: every (cell, run) of a grid, in worker processes, into a results folder.

Runs are independent jobs ``(cell, run, seed = grid.seed + run)``. With ``workers > 1`` they go to a
``spawn`` process pool (safe on every platform, and no state leaks from the parent); each worker gets
the space and the search signals once, at start. The parent is the only writer: it appends each
finished run to the log as it arrives, so a killed grid loses only the runs in flight. At the end
the parent makes the tidy tables from the log (see :mod:`.store`), looking up test accuracies of
the incumbents itself; test splits never reach a worker.
"""

from __future__ import annotations

import multiprocessing
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from nabench import __version__
from nabench.errors import ConfigError
from nabench.experiments import summary as summ
from nabench.experiments import worker
from nabench.experiments.config import Grid
from nabench.experiments.store import ResultsStore, write_atomic
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


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    compression = "gzip" if path.suffix == ".gz" else None
    data = df.to_csv(index=False, float_format="%.10g").encode()
    if compression:
        import gzip

        data = gzip.compress(data, compresslevel=6, mtime=0)
    write_atomic(path, data)


def signals_for(grid: Grid, bench: Any) -> dict[tuple[str, str, int, str], Signal]:
    """The search signals the grid's cells read (validation splits only), from ``bench``, whose space
    every cell must search (one benchmark per grid)."""
    out: dict[tuple[str, str, int, str], Signal] = {}
    for cell in grid.cells:
        t = cell.task
        if t.benchmark != bench.name:
            raise ConfigError(f"cell {cell.key} searches benchmark {t.benchmark}, but the grid runs on {bench.name}; "
                              "put cells of different spaces in different grids (--space)")
        k = worker.signal_key(cell)
        if k not in out:
            out[k] = make_signal(bench, dataset=t.search_dataset, split=t.split, fidelity=t.fidelity, mode=t.signal)
    return out


def run_grid(grid: Grid, out: str | Path, *, bench: Any = None, data_dir: Any = None, workers: int = 1,
             progress: bool = True, command: str | None = None, log: Callable[[str], None] = print) -> GridResult:
    """Run every unfinished (cell, run) of ``grid`` into ``out`` and write the tables."""
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigError(f"workers must be a positive integer, got {workers!r}")
    if bench is None:
        import nabench

        bench = nabench.load("nb201", data_dir)
    t0 = time.perf_counter()
    out = Path(out)
    with ResultsStore(out) as store:
        cells = {c.key: c.to_dict() for c in grid.cells}
        extra = {"nabench_version": __version__, "grid": {"name": grid.name, "runs": grid.runs, "seed": grid.seed},
                 "command": command or " ".join(sys.argv)}
        manifest = store.merge_manifest(cells, bench.checksum, extra)
        store.repair()
        done = store.done()
        index = {c.key: i for i, c in enumerate(grid.cells)}
        jobs = [(index[c.key], r, grid.seed + r) for c in grid.cells for r in range(grid.runs)
                if (c.key, r) not in done]
        skipped = len(grid.cells) * grid.runs - len(jobs)
        if skipped:
            log(f"resuming in {out}: {skipped} finished runs kept, {len(jobs)} to run")
        if jobs:
            _execute(grid, bench, jobs, store, workers, progress)
        evaluations, runs = summ.tables(store.records(), manifest["cells"], _lookup(bench))
        summary, paired = summ.summarize(runs), summ.paired(runs)
        _write_csv(evaluations, out / "evaluations.csv.gz")
        _write_csv(runs, out / "runs.csv")
        _write_csv(summary, out / "summary.csv")
        _write_csv(paired, out / "paired.csv")
        wall = time.perf_counter() - t0
        store.write_manifest(dict(manifest, complete=True, n_runs=int(runs[["protocol", "dataset", "searcher",
                                                                          "setting", "run"]].drop_duplicates().shape[0]),
                                  last_wall_s=round(wall, 3)))
    return GridResult(out, len(jobs), skipped, summary, paired, wall)


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
            pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=worker.init, initargs=initargs)
            try:
                futures = [pool.submit(worker.execute, job) for job in jobs]
                for fut in as_completed(futures):
                    store.append(fut.result())
                    bar.update()
            except BrokenProcessPool as e:
                raise RuntimeError(f"a worker process died ({e}); finished runs are kept, rerun to resume") from e
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
    finally:
        bar.close()
