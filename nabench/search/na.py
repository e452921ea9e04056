"""The NA wrapper: a candidate's score is the aggregate of the signal over its neighborhood.

Neighborhood-aware search is composition, not a copy of each searcher: any searcher paired with a
:class:`NeighborhoodScorer` becomes its NA variant, because the searcher only ever sees scores. The
neighborhood (radius as a ball, include-self, k sampled, dedup, aggregate) is a
:class:`~nabench.neighborhood.NeighborhoodSpec`, the vocabulary tabular NA and NA-DARTS share; its
members come from :func:`nabench.neighborhood.members_of` on the run's space (the vectorized NB201
tables there, the space's own ``neighbors`` elsewhere). A candidate's new neighbors are read in one
batch (one surrogate call on the DARTS space).

Accounting:

* ``"query"`` (query-matched, the default): every architecture whose signal is read, candidate or
  neighbor, is charged (once per run).
* ``"candidate"`` (candidate-matched): only candidates are charged; neighbors are read for free, so
  the NA searcher evaluates as many candidates as the plain one under the same budget.
"""

from __future__ import annotations

import numpy as np

from nabench import neighborhood as nh
from nabench.errors import ConfigError
from nabench.search.scorer import Evaluation, Scorer
from nabench.search.signal import Signal
from nabench.spaces.base import SearchSpace

ACCOUNTING: tuple[str, ...] = ("query", "candidate")


class NeighborhoodScorer(Scorer):
    """Scores a candidate by the aggregate of the signal over its neighborhood in ``space``."""

    def __init__(self, signal: Signal, rng: np.random.Generator, space: SearchSpace,
                 spec: nh.NeighborhoodSpec, accounting: str = "query") -> None:
        super().__init__(signal, rng)
        if accounting not in ACCOUNTING:
            raise ConfigError(f"unknown NA accounting {accounting!r}; choose 'query' (neighbors are charged, the "
                              "fair default) or 'candidate' (only candidates are charged)")
        if not isinstance(spec, nh.NeighborhoodSpec):
            raise ConfigError(f"the NA scorer needs a NeighborhoodSpec, got {type(spec).__name__}")
        self.space = space
        self.spec = spec
        self.accounting = accounting

    def evaluate(self, arch: int) -> Evaluation:
        idx, dist = nh.members_of(self.space, arch, self.spec, self._rng)
        members = idx.tolist()
        vals = self.read(members)
        score = float(nh.reduce(np.asarray(vals, dtype=np.float64)[None, :],
                                nh.Members(idx[None, :], dist[None, :], None), self.spec)[0])
        raw = vals[members.index(arch)] if arch in members else float("nan")
        return Evaluation(score, raw, members if self.accounting == "query" else [arch])
