"""Searchers behind one ask/tell interface, budgets, the NA wrapper, protocols and the search loop.

Every piece takes the declared interfaces of :mod:`nabench.spaces.base` (a ``SearchSpace``, a
benchmark's signal), so the same code searches NAS-Bench-201, the DARTS space (NB301 surrogate) and
the NATS size space. Typical use::

    import numpy as np
    import nabench
    from nabench.search import Scorer, make_signal, make_search_task, registry, run_search

    bench = nabench.load("nb201")               # or nabench.load("nb301")
    task = make_search_task("nb201")            # or make_search_task("nb301")
    signal = make_signal(bench, dataset=task.search_dataset, split=task.split, fidelity=task.fidelity,
                         mode=task.signal)
    rng_search, rng_signal = (np.random.default_rng(s) for s in np.random.SeedSequence(0).spawn(2))
    searcher = registry.make("rea", bench.space, rng_search)
    traj = run_search(searcher, Scorer(signal, rng_signal), task.budget)
"""

from nabench.search import registry
from nabench.search.base import Searcher
from nabench.search.budget import Budget, Ledger
from nabench.search.loop import Trajectory, run_search
from nabench.search.na import NeighborhoodScorer
from nabench.search.protocols import PROTOCOLS, ReportTarget, SearchTask, make_search_task
from nabench.search.scorer import Scorer
from nabench.search.signal import SearchSignal, Signal, SurrogateSignal, make_signal
from nabench.spaces.nb201 import NB201Space

#: The NB201 space (the name existing scripts use).
Space = NB201Space
#: Add a user's Searcher subclass (and its ``na-`` variant); see :mod:`nabench.search.registry`.
register = registry.register

__all__ = ["Budget", "Ledger", "NB201Space", "NeighborhoodScorer", "PROTOCOLS", "ReportTarget", "Scorer",
           "SearchSignal", "SearchTask", "Searcher", "Signal", "Space", "SurrogateSignal", "Trajectory", "make_signal",
           "make_search_task", "register", "registry", "run_search"]

registry.load_entry_points()  # last: installed plugins may import this package
