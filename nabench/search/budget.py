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
from typing import Callable

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
    """What one run has spent: simulated seconds, distinct architectures charged, and which ones.

    ``charged`` is a set (sparse: a run on the DARTS space touches a few hundred of 10^18 cells).
    """

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.charged: set[int] = set()
        self.time = 0.0
        self.queries = 0

    @property
    def spent(self) -> float:
        """The amount counted against the limit."""
        return self.time if self.budget.kind == "time" else float(self.queries)

    def open(self) -> bool:
        """Whether the run may take another step."""
        return self.spent < self.budget.limit

    def price(self, archs: list[int], cost: Callable[[list[int]], float]) -> tuple[list[int], float, int]:
        """The architectures among ``archs`` not yet charged (distinct, ascending), their time and query charge.

        ``cost`` gives the summed training time of a list of archs (the scorer's, which has read them).
        """
        if len(archs) == 1:
            new = [] if archs[0] in self.charged else list(archs)
        else:
            new = sorted({a for a in archs if a not in self.charged})
        return new, (cost(new) if new else 0.0), len(new)

    def crosses(self, seconds: float, queries: int) -> bool:
        """Whether charging this step would take the run past its limit."""
        add = seconds if self.budget.kind == "time" else queries
        return self.spent + add > self.budget.limit

    def charge(self, new: list[int], seconds: float) -> None:
        """Record the charge of a step."""
        self.charged.update(new)
        self.time += seconds
        self.queries += len(new)
