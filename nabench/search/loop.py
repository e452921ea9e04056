"""The search loop: ask, score, charge, tell, until the budget is spent (see :mod:`.budget` for the rules).

The loop is the only place that joins a searcher, a scorer and a ledger. It returns a
:class:`Trajectory` of plain arrays: what was evaluated, what it scored, what it cost, and the
incumbent after each step (the best score so far; the earliest on ties). Test accuracies are not
here: the runner looks them up from the incumbents afterwards. Archs are ints in every space
(:mod:`nabench.spaces.base`), so a trajectory is the same int64 arrays for NB201 and DARTS.

The loop runs with BLAS limited to one thread: the searchers' matrices (BO's GP) are small, and
multithreaded BLAS on them is many times slower than one thread, besides oversubscribing the cores
when several runs go in parallel.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from nabench.errors import ConfigError
from nabench.search.base import Searcher
from nabench.search.budget import Budget, Ledger
from nabench.search.scorer import Scorer


@dataclass(frozen=True)
class Trajectory:
    """One run, one entry per step (an evaluated candidate)."""

    arch: np.ndarray
    score: np.ndarray
    raw: np.ndarray
    charged: np.ndarray
    time: np.ndarray
    queries: np.ndarray
    incumbent: np.ndarray
    incumbent_score: np.ndarray
    stop: str
    wall_s: float

    def __len__(self) -> int:
        return len(self.arch)

    @property
    def final(self) -> int:
        """The architecture the search returns."""
        return int(self.incumbent[-1])


@lru_cache(maxsize=1)
def _threadpools() -> Any:
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def run_search(searcher: Searcher, scorer: Scorer, budget: Budget) -> Trajectory:
    """Drive ``searcher`` with ``scorer`` until ``budget`` is spent."""
    with _threadpools().limit(limits=1, user_api="blas"):
        return _loop(searcher, scorer, budget)


def _loop(searcher: Searcher, scorer: Scorer, budget: Budget) -> Trajectory:
    t0 = time.perf_counter()
    ledger = Ledger(budget)
    cols: dict[str, list] = {k: [] for k in ("arch", "score", "raw", "charged", "time", "queries", "inc", "inc_s")}
    best_a, best_s = -1, -np.inf
    stop = "budget"
    while ledger.open():
        if len(cols["arch"]) >= budget.max_steps:
            stop = "max_steps"
            break
        arch = searcher.ask()
        ev = scorer.evaluate(arch)
        new, seconds, queries = ledger.price(ev.uses, scorer.cost)
        if ledger.crosses(seconds, queries) and budget.crossing == "drop":
            if not cols["arch"]:
                need = f"{seconds:.1f} s" if budget.kind == "time" else f"{queries} queries"
                raise ConfigError(f"the budget of {budget.limit:g} {'s' if budget.kind == 'time' else 'queries'} "
                                  f"cannot pay for even the first evaluation (it needs {need}); raise the budget")
            stop = "crossing"
            break
        ledger.charge(new, seconds)
        searcher.tell(arch, ev.score)
        if ev.score > best_s:
            best_a, best_s = arch, ev.score
        for k, v in (("arch", arch), ("score", ev.score), ("raw", ev.raw), ("charged", queries),
                     ("time", ledger.time), ("queries", ledger.queries), ("inc", best_a), ("inc_s", best_s)):
            cols[k].append(v)
    return Trajectory(
        arch=np.array(cols["arch"], dtype=np.int64), score=np.array(cols["score"], dtype=np.float64),
        raw=np.array(cols["raw"], dtype=np.float64), charged=np.array(cols["charged"], dtype=np.int64),
        time=np.array(cols["time"], dtype=np.float64), queries=np.array(cols["queries"], dtype=np.int64),
        incumbent=np.array(cols["inc"], dtype=np.int64), incumbent_score=np.array(cols["inc_s"], dtype=np.float64),
        stop=stop, wall_s=time.perf_counter() - t0,
    )
