"""Simulated search budgets and the per-run ledger that charges each distinct architecture once.

Rules (explicit, because published numbers depend on them):

* A budget is simulated training time in seconds (``kind="time"``; an architecture costs its
  training time at the signal's fidelity) or a count of distinct architectures (``kind="queries"``).
* An architecture is charged the first time its signal is read in a run; reading it again (a
  repeated candidate, a neighbor shared by two neighborhoods) is free, because it has been trained.
* A search continues while the amount spent is below the limit. The step whose charge would take
  it past the limit is the *crossing* step:

  - ``crossing="drop"`` (NAS-Bench-201's RS and REA code): the crossing step is discarded and the
    search ends; a run never spends more than the limit. A step that lands exactly on the limit counts.
  - ``crossing="keep"`` (NATS-Bench's code): the crossing step counts and is the last one; a run
    overspends by less than one step's charge.

  For NA searchers a step is one candidate with all the neighbors it newly charges, so the rule is
  applied to the whole neighborhood at once (a candidate is never half evaluated).
* ``max_steps`` bounds the number of steps, so a searcher that keeps proposing architectures it has
  already seen (free steps) cannot loop forever; such a run ends with reason ``"max_steps"``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nabench.errors import ConfigError

BUDGET_KINDS: tuple[str, ...] = ("time", "queries")
CROSSING_RULES: tuple[str, ...] = ("drop", "keep")


@dataclass(frozen=True)
class Budget:
    """How much a run may spend and what happens to the step that crosses the limit."""

    kind: str
    limit: float
    crossing: str
    max_steps: int = 20_000

    def __post_init__(self) -> None:
        if self.kind not in BUDGET_KINDS:
            raise ConfigError(f"unknown budget kind {self.kind!r}; choose {' or '.join(BUDGET_KINDS)}")
        if self.crossing not in CROSSING_RULES:
            raise ConfigError(f"unknown crossing rule {self.crossing!r}; choose {' or '.join(CROSSING_RULES)} "
                              "(drop: the evaluation that crosses the budget is discarded; keep: it counts)")
        if isinstance(self.limit, bool) or not isinstance(self.limit, (int, float)) or not self.limit > 0:
            raise ConfigError(f"the budget limit must be a positive number (seconds or queries), got {self.limit!r}")
        if self.kind == "queries" and float(self.limit) != int(self.limit):
            raise ConfigError(f"a query budget must be a whole number of queries, got {self.limit!r}")
        if isinstance(self.max_steps, bool) or not isinstance(self.max_steps, int) or self.max_steps < 1:
            raise ConfigError(f"max_steps must be a positive integer, got {self.max_steps!r}")


class Ledger:
    """What one run has spent: simulated seconds, distinct architectures charged, and which ones."""

    def __init__(self, budget: Budget, cost: np.ndarray) -> None:
        self.budget = budget
        self._cost = cost
        self.charged = np.zeros(len(cost), dtype=bool)
        self.time = 0.0
        self.queries = 0

    @property
    def spent(self) -> float:
        """The amount counted against the limit."""
        return self.time if self.budget.kind == "time" else float(self.queries)

    def open(self) -> bool:
        """Whether the run may take another step."""
        return self.spent < self.budget.limit

    def price(self, archs: np.ndarray) -> tuple[np.ndarray, float, int]:
        """The architectures among ``archs`` not yet charged (distinct), their time and query charge."""
        new = np.unique(archs[~self.charged[archs]])
        return new, float(self._cost[new].sum()), len(new)

    def crosses(self, seconds: float, queries: int) -> bool:
        """Whether charging this step would take the run past its limit."""
        add = seconds if self.budget.kind == "time" else queries
        return self.spent + add > self.budget.limit

    def charge(self, new: np.ndarray, seconds: float) -> None:
        """Record the charge of a step."""
        self.charged[new] = True
        self.time += seconds
        self.queries += len(new)
