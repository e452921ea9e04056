"""How a plain searcher's candidate is scored: its own signal, with the run's memory of what was read.

A scorer is the only thing that reads the :class:`~nabench.search.signal.Signal`. It keeps, per run,
the value and cost last read for each architecture (in dicts: per-run memory is sparse, never sized
by the space). Whether a repeated read goes back to the signal follows the budget's charging rule,
set by the loop through :meth:`Scorer.begin`:

* ``once``: an architecture evaluated once (as a candidate or as a neighbor) keeps that value for the
  rest of the run, as a trained network would;
* ``every``: each read draws the signal again, as the official NAS-Bench-201 / NATS-Bench code does
  (``get_more_info(..., is_random=True)`` per query): a fresh seed per read where the signal is
  per-seed (``mode="random-seed"``). A seed-mean or surrogate signal is deterministic, so its
  re-read equals the remembered value and the memory answers it (same numbers, no surrogate call).

It reports which architectures a step *uses* (:class:`Evaluation`); the
:class:`~nabench.search.budget.Ledger` decides what that costs. The NA wrapper is
:class:`nabench.search.na.NeighborhoodScorer`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from nabench.search.signal import Signal


@dataclass(frozen=True)
class Evaluation:
    """One scored step: its score, the candidate's own signal (NaN if not read), the archs it charges.

    ``uses``: cells read at the signal's fidelity that the ledger prices; ``low``: cells read at the
    NA neighbor fidelity; ``read``: how many cell values the score used (from the signal or the
    run's memory), the *cells read* count of the trajectory.
    """

    score: float
    raw: float
    uses: list[int]
    low: tuple[int, ...] = ()
    read: int = 1


class Scorer:
    """Scores candidates by their own signal; holds the run's memory of values and costs read."""

    def __init__(self, signal: Signal, rng: np.random.Generator) -> None:
        self._signal = signal
        self._rng = rng
        self._value: dict[int, float] = {}
        self._cost: dict[int, float] = {}
        self._reread = False
        self._new: list[int] = []  # the archs the last read added to the memory

    @property
    def signal(self) -> Signal:
        """The signal read (validation split only)."""
        return self._signal

    def begin(self, budget: Any) -> None:
        """Prepare a run under ``budget`` (a :class:`~nabench.search.budget.Budget`): its charging rule
        decides whether repeated reads go back to a per-seed signal (see the module docstring)."""
        self._reread = budget.charge == "every" and self._signal.mode != "mean"

    def cost(self, archs: list[int]) -> float:
        """Training cost in seconds of ``archs`` (each already read), summed in index order."""
        if len(archs) == 1:
            return self._cost[archs[0]]
        return float(np.sum(np.array([self._cost[a] for a in archs], dtype=np.float64)))

    def price(self, ledger: Any, ev: Evaluation) -> Any:
        """What ``ev`` costs in ``ledger`` (a :class:`~nabench.search.budget.Ledger`): a
        :class:`~nabench.search.budget.Price`."""
        return ledger.price(ev.uses, self.cost)

    def known(self, arch: int) -> float | None:
        """The value this run last read for ``arch`` at the signal's fidelity (``None``: never read)."""
        return self._value.get(arch)

    def read(self, archs: list[int]) -> list[float]:
        """The signal of ``archs``: new ones (all of them when re-reading) drawn in one batch in index
        order, the rest from memory."""
        known = self._value
        fresh = sorted(set(archs)) if self._reread else sorted({a for a in archs if a not in known})
        self._new = [a for a in fresh if a not in known]
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
