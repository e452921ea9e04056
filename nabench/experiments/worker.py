"""One run of one cell, in whatever process executes it (spawn-safe: module-level state, no closures).

A worker holds the space (any :class:`~nabench.spaces.base.SearchSpace`, pickled to it) and the
search signals (validation values and costs only, or the NB301 surrogate, which has no test split);
it never holds a tabular benchmark or any test split. A run's randomness comes from ``SeedSequence(seed)`` spawned into
two Generators, one for the searcher and one for the signal / neighbor sampling, so a run's result
depends on its seed only, not on the process or the order in which runs are executed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nabench.experiments.config import Cell
from nabench.search import registry
from nabench.search.base import Searcher
from nabench.search.loop import run_search
from nabench.search.na import NAOptions, NeighborhoodScorer
from nabench.search.scorer import Scorer
from nabench.search.signal import Signal
from nabench.spaces.base import SearchSpace

_STATE: dict[str, Any] = {}


def signal_key(cell: Cell) -> tuple[str, str, int, str]:
    """Which search signal a cell reads."""
    t = cell.task
    return (t.search_dataset, t.split, t.fidelity, t.signal)


def low_signal_key(cell: Cell) -> tuple[str, str, int, str] | None:
    """The signal an NA cell reads its neighbors from at ``--na-fidelity`` (the seed mean: at low
    fidelities the tables hold only means), or ``None``."""
    if cell.na is None or cell.na.fidelity is None:
        return None
    t = cell.task
    return (t.search_dataset, t.split, cell.na.fidelity, "mean")


def signal_keys(cell: Cell) -> list[tuple[str, str, int, str]]:
    """Every search signal a cell reads."""
    low = low_signal_key(cell)
    return [signal_key(cell)] + ([low] if low is not None else [])


def init(space: SearchSpace, signals: dict[tuple[str, str, int, str], Signal], cells: tuple[Cell, ...]) -> None:
    """Set up this process: the space, the signals and the cells."""
    _STATE["space"] = space
    _STATE["signals"] = signals
    _STATE["cells"] = cells


def release() -> None:
    """Drop the state of :func:`init` in a process that goes on to do other work."""
    _STATE.clear()


def rngs(seed: int) -> tuple[np.random.Generator, np.random.Generator]:
    """The searcher's and the scorer's Generators of a run."""
    a, b = np.random.SeedSequence(seed).spawn(2)
    return np.random.default_rng(a), np.random.default_rng(b)


def build(cell: Cell, seed: int) -> tuple[Searcher, Scorer]:
    """The searcher and scorer of one run (needs :func:`init` in this process)."""
    r_search, r_score = rngs(seed)
    signal = _STATE["signals"][signal_key(cell)]
    searcher = registry.make(cell.base, _STATE["space"], r_search, cell.params)
    if cell.neighborhood is None:
        return searcher, Scorer(signal, r_score)
    na = cell.na or NAOptions()
    low = low_signal_key(cell)
    return searcher, NeighborhoodScorer(signal, r_score, _STATE["space"], cell.neighborhood,
                                        cell.accounting or "query", na.mode, na.fraction, na.top,
                                        None if low is None else _STATE["signals"][low])


def execute(job: tuple[int, int, int]) -> dict[str, Any]:
    """Run ``(cell index, run, seed)`` and return its record (plain lists, JSON-able)."""
    i, run, seed = job
    cell = _STATE["cells"][i]
    tr = run_search(*build(cell, seed), cell.task.budget)
    return {
        "cell": cell.key, "run": run, "seed": seed,
        "arch": tr.arch.tolist(), "score": tr.score.tolist(), "raw": tr.raw.tolist(),
        "charged": tr.charged.tolist(), "time": tr.time.tolist(), "queries": tr.queries.tolist(),
        "candidates": tr.candidates.tolist(), "cells_read": tr.cells_read.tolist(),
        "incumbent": tr.incumbent.tolist(), "incumbent_score": tr.incumbent_score.tolist(),
        "stop": tr.stop, "wall_s": tr.wall_s,
    }
