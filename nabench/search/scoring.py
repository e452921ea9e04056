"""How a candidate's score is made: its own signal, or (the NA wrapper) the aggregate over its neighborhood.

A scorer is the only thing that reads the :class:`~nabench.search.signal.SearchSignal`. It keeps, per
run, the value read for each architecture, so an architecture evaluated once (as a candidate or as a
neighbor) keeps that value for the rest of the run, as a trained network would. It reports which
architectures a step *uses*; the :class:`~nabench.search.budget.Ledger` decides what that costs.

Neighborhood-aware search is composition, not a copy of each searcher: any searcher paired with a
:class:`NeighborhoodScorer` becomes its NA variant, because the searcher only ever sees scores.
Accounting:

* ``"query"`` (query-matched, the default): every architecture whose signal is read, candidate or
  neighbor, is charged (once per run).
* ``"candidate"`` (candidate-matched): only candidates are charged; neighbors are read for free, so
  the NA searcher evaluates as many candidates as the plain one under the same budget.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nabench import neighborhood as nh
from nabench.errors import ConfigError
from nabench.search.signal import SearchSignal
from nabench.spaces.nb201 import OfficialOrder

ACCOUNTING: tuple[str, ...] = ("query", "candidate")


@dataclass(frozen=True)
class Evaluation:
    """One scored candidate: its score, its own signal (NaN if not read) and the archs it uses."""

    score: float
    raw: float
    uses: np.ndarray


class Scorer:
    """Scores candidates by their own signal; holds the run's memory of values read."""

    def __init__(self, signal: SearchSignal, rng: np.random.Generator) -> None:
        self._signal = signal
        self._rng = rng
        self._known = np.full(len(signal.cost), np.nan)

    @property
    def cost(self) -> np.ndarray:
        """Training cost per architecture (seconds)."""
        return self._signal.cost

    def read(self, archs: np.ndarray) -> np.ndarray:
        """The signal of ``archs``, drawn on first read and remembered for the run."""
        vals = self._known[archs]
        todo = np.isnan(vals)
        if todo.any():
            fresh = np.unique(archs[todo])
            self._known[fresh] = self._signal.draw(fresh, self._rng)
            vals = self._known[archs]
        return vals

    def evaluate(self, arch: int) -> Evaluation:
        """Score one candidate."""
        a = np.array([arch])
        v = float(self.read(a)[0])
        return Evaluation(v, v, a)


class NeighborhoodScorer(Scorer):
    """The NA wrapper: a candidate's score is the aggregate of the signal over its neighborhood."""

    def __init__(self, signal: SearchSignal, rng: np.random.Generator, order: OfficialOrder,
                 spec: nh.NeighborhoodSpec, accounting: str = "query") -> None:
        super().__init__(signal, rng)
        if accounting not in ACCOUNTING:
            raise ConfigError(f"unknown NA accounting {accounting!r}; choose 'query' (neighbors are charged, the "
                              "fair default) or 'candidate' (only candidates are charged)")
        self._order = order
        self.spec = spec
        self.accounting = accounting

    def evaluate(self, arch: int) -> Evaluation:
        mem = nh.members(self._order, self.spec, rows=[arch], rng=self._rng)
        idx = mem.index[0] if mem.mask is None else mem.index[0][mem.mask[0]]
        dist = np.broadcast_to(mem.distance, mem.index.shape)[0]
        if mem.mask is not None:
            dist = dist[mem.mask[0]]
        vals = self.read(idx)
        score = float(nh.reduce(vals[None, :], nh.Members(idx[None, :], dist[None, :], None), self.spec)[0])
        own = idx == arch
        raw = float(vals[own][0]) if own.any() else float("nan")
        uses = idx if self.accounting == "query" else np.array([arch])
        return Evaluation(score, raw, uses)
