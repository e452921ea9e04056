"""The search loop: ask, score, charge, tell, until the budget is spent (see :mod:`.budget` for the rules).

The loop is the only place that joins a searcher, a scorer and a ledger. It returns a
:class:`Trajectory` of plain arrays: what was evaluated, what it scored, what it cost, and the
incumbent after each step (the best score so far; the earliest on ties). Test accuracies are not
here: the runner looks them up from the incumbents afterwards. Archs are ints in every space
(:mod:`nabench.spaces.base`), so a trajectory is the same int64 arrays for NB201 and DARTS.

With an NA scorer in mode ``select`` (:mod:`nabench.search.na`) the loop runs in two phases: the
plain search until ``1 - fraction`` of the budget is spent (the crossing rule applied at that limit;
a dropped crossing step is forgotten), then one step per neighbor of the top incumbents
(:meth:`~nabench.search.na.NeighborhoodScorer.plan`) until the whole budget is spent (crossing rule
as usual) or every planned neighbor is read. A phase-2 step records the neighbor read as ``arch``,
its value as ``raw``, its incumbent's new aggregate as ``score``; it proposes no candidate. The
incumbent of phase 2 is the best planned incumbent by aggregate.

The loop runs with BLAS limited to one thread: the searchers' matrices (BO's GP) are small, and
multithreaded BLAS on them is many times slower than one thread, besides oversubscribing the cores
when several runs go in parallel.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from nabench.errors import ConfigError
from nabench.search.base import Searcher
from nabench.search.budget import Budget, Ledger
from nabench.search.scorer import Scorer

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Trajectory:
    """One run, one entry per step (an evaluated candidate, or a select phase-2 neighbor).

    Three cumulative counts are kept apart: ``candidates`` (proposals of the searcher, repeats
    included), ``cells_read`` (cell values the scores used, from the signal or the run's memory) and
    ``queries`` (cells charged by the ledger; ``charged`` is the per-step increment). ``time`` is
    the simulated seconds spent.
    """

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
    candidates: np.ndarray | None = None
    cells_read: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.arch)

    @property
    def final(self) -> int:
        """The architecture the search returns."""
        return int(self.incumbent[-1])

    def __repr__(self) -> str:
        if not len(self):
            return f"Trajectory(0 steps, stop={self.stop!r})"
        return (f"Trajectory({len(self)} steps, final={self.final}, score={self.incumbent_score[-1]:.4g}, "
                f"time={self.time[-1]:.6g} s, charged={int(self.queries[-1])}, stop={self.stop!r})")

    def to_frame(self) -> "pd.DataFrame":
        """One row per step: the per-step arrays as columns (``step`` from 0), for analysis and plots."""
        import pandas as pd

        cols = {"step": np.arange(len(self)), "arch": self.arch, "score": self.score, "raw": self.raw,
                "charged": self.charged, "time": self.time, "queries": self.queries,
                "incumbent": self.incumbent, "incumbent_score": self.incumbent_score}
        for name in ("candidates", "cells_read"):
            if getattr(self, name) is not None:
                cols[name] = getattr(self, name)
        return pd.DataFrame(cols)


@lru_cache(maxsize=1)
def _threadpools() -> Any:
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def run_search(searcher: Searcher, scorer: Scorer, budget: Budget) -> Trajectory:
    """Drive ``searcher`` with ``scorer`` until ``budget`` is spent."""
    with _threadpools().limit(limits=1, user_api="blas"):
        return _loop(searcher, scorer, budget)


_COLS = ("arch", "score", "raw", "charged", "time", "queries", "inc", "inc_s", "cand", "read")


def _loop(searcher: Searcher, scorer: Scorer, budget: Budget) -> Trajectory:
    t0 = time.perf_counter()
    ledger = Ledger(budget)
    scorer.begin(budget)
    select = getattr(scorer, "mode", None) == "select"
    limit = scorer.phase_limit(budget) if select else budget.limit  # type: ignore[attr-defined]
    cols: dict[str, list] = {k: [] for k in _COLS}
    best_a, best_s = -1, -np.inf
    n_cand = n_read = 0
    stop = "budget"

    def record(arch: int, score: float, raw: float, charged: int, inc: int, inc_s: float) -> None:
        for k, v in zip(_COLS, (arch, score, raw, charged, ledger.time, ledger.queries, inc, inc_s, n_cand, n_read)):
            cols[k].append(v)

    while ledger.open(limit):
        if len(cols["arch"]) >= budget.max_steps:
            stop = "max_steps"
            break
        arch = searcher.ask()
        ev = scorer.evaluate(arch)
        price = scorer.price(ledger, ev)
        if ledger.crosses(price, limit) and budget.crossing == "drop":
            if not cols["arch"]:
                need = f"{price.seconds:.1f} s" if budget.kind == "time" else f"{price.units:g} queries"
                raise ConfigError(f"the budget of {limit:g} {'s' if budget.kind == 'time' else 'queries'} "
                                  f"cannot pay for even the first evaluation (it needs {need}); raise the budget")
            if select:
                scorer.forget_last()  # type: ignore[attr-defined]
            stop = "crossing"
            break
        ledger.charge(price)
        searcher.tell(arch, ev.score)
        n_cand += 1
        n_read += ev.read
        if ev.score > best_s:
            best_a, best_s = arch, ev.score
        record(arch, ev.score, ev.raw, price.cells, best_a, best_s)
    if select and stop != "max_steps":
        stop = _refine(scorer, ledger, budget, cols, best_a, best_s)
    return Trajectory(
        arch=np.array(cols["arch"], dtype=np.int64), score=np.array(cols["score"], dtype=np.float64),
        raw=np.array(cols["raw"], dtype=np.float64), charged=np.array(cols["charged"], dtype=np.int64),
        time=np.array(cols["time"], dtype=np.float64), queries=np.array(cols["queries"], dtype=np.int64),
        incumbent=np.array(cols["inc"], dtype=np.int64), incumbent_score=np.array(cols["inc_s"], dtype=np.float64),
        stop=stop, wall_s=time.perf_counter() - t0,
        candidates=np.array(cols["cand"], dtype=np.int64), cells_read=np.array(cols["read"], dtype=np.int64),
    )


def _refine(scorer: Any, ledger: Ledger, budget: Budget, cols: dict[str, list], best_a: int, best_s: float) -> str:
    """Phase 2 of mode ``select``: read the planned neighbors of the top incumbents (see the module)."""
    best: dict[int, float] = {}
    for a in cols["arch"]:
        v = scorer.known(a)
        if v is not None:
            best[a] = v
    tops = sorted(best, key=lambda a: -best[a])[: scorer.top]  # stable: earliest first among ties
    n_cand = cols["cand"][-1] if cols["cand"] else 0
    n_read = cols["read"][-1] if cols["read"] else 0
    for owner, nb in scorer.plan(tops):
        if not ledger.open():
            return "budget"
        if len(cols["arch"]) >= budget.max_steps:
            return "max_steps"
        if scorer.known_neighbor(nb):
            continue
        ev = scorer.read_neighbor(owner, nb)
        price = scorer.price(ledger, ev)
        if ledger.crosses(price) and budget.crossing == "drop":
            return "crossing"
        ledger.charge(price)
        n_read += ev.read
        agg = [scorer.aggregate(t) for t in tops]
        i = int(np.argmax(agg))
        inc, inc_s = (tops[i], agg[i]) if np.isfinite(agg[i]) else (best_a, best_s)
        cols["cand"].append(n_cand)
        cols["read"].append(n_read)
        for k, v in zip(("arch", "score", "raw", "charged", "time", "queries", "inc", "inc_s"),
                        (nb, ev.score, ev.raw, price.cells, ledger.time, ledger.queries, inc, inc_s)):
            cols[k].append(v)
    return "budget" if not ledger.open() else "complete"
