"""How a plain searcher's candidate is scored: its own signal, read once per run and remembered.

A scorer is the only thing that reads the :class:`~nabench.search.signal.Signal`. It keeps, per run,
the value and cost read for each architecture (in dicts: per-run memory is sparse, never sized by
the space), so an architecture evaluated once (as a candidate or as a neighbor) keeps that value for
the rest of the run, as a trained network would. It reports which architectures a step *uses*; the
:class:`~nabench.search.budget.Ledger` decides what that costs. The NA wrapper is
:class:`nabench.search.na.NeighborhoodScorer`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nabench.search.signal import Signal


@dataclass(frozen=True)
class Evaluation:
    """One scored candidate: its score, its own signal (NaN if not read) and the archs it uses."""

    score: float
    raw: float
    uses: list[int]


class Scorer:
    """Scores candidates by their own signal; holds the run's memory of values and costs read."""

    def __init__(self, signal: Signal, rng: np.random.Generator) -> None:
        self._signal = signal
        self._rng = rng
        self._value: dict[int, float] = {}
        self._cost: dict[int, float] = {}

    @property
    def signal(self) -> Signal:
        """The signal read (validation split only)."""
        return self._signal

    def cost(self, archs: list[int]) -> float:
        """Training cost in seconds of ``archs`` (each already read), summed in index order."""
        if len(archs) == 1:
            return self._cost[archs[0]]
        return float(np.sum(np.array([self._cost[a] for a in archs], dtype=np.float64)))

    def read(self, archs: list[int]) -> list[float]:
        """The signal of ``archs``, drawn on first read (new ones in one batch, in index order) and remembered."""
        known = self._value
        fresh = sorted({a for a in archs if a not in known})
        if fresh:
            values, costs = self._signal.evaluate(np.array(fresh, dtype=np.int64), self._rng)
            for a, v, c in zip(fresh, np.asarray(values, dtype=np.float64).tolist(),
                               np.asarray(costs, dtype=np.float64).tolist()):
                known[a] = v
                self._cost[a] = c
        return [known[a] for a in archs]

    def evaluate(self, arch: int) -> Evaluation:
        """Score one candidate."""
        v = self.read([arch])[0]
        return Evaluation(v, v, [arch])
