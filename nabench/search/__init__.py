"""Searchers behind one ask/tell interface, budgets, the NA wrapper, protocols and the search loop.

Typical use::

    task = make_task("nb201")
    signal = SearchSignal.from_bench(bench, dataset=task.search_dataset, split=task.split,
                                     fidelity=task.fidelity, mode=task.signal)
    rng_search, rng_signal = (np.random.default_rng(s) for s in np.random.SeedSequence(0).spawn(2))
    searcher = registry.make("rea", Space(bench.order), rng_search)
    traj = run_search(searcher, Scorer(signal, rng_signal), task.budget)
"""

from nabench.search import registry
from nabench.search.base import Searcher
from nabench.search.budget import Budget, Ledger
from nabench.search.loop import Trajectory, run_search
from nabench.search.protocols import PROTOCOLS, ReportTarget, Task, make_task
from nabench.search.scoring import NeighborhoodScorer, Scorer
from nabench.search.signal import SearchSignal
from nabench.search.space import Space

__all__ = ["Budget", "Ledger", "NeighborhoodScorer", "PROTOCOLS", "ReportTarget", "Scorer", "SearchSignal",
           "Searcher", "Space", "Task", "Trajectory", "make_task", "registry", "run_search"]
