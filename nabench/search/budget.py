"""Simulated search budgets and the per-run ledger that charges what a step reads.

Rules (explicit, because published numbers depend on them):

* A budget is simulated training time in seconds (``kind="time"``; a cell costs its training time
  at the fidelity it is read at) or a count of queries (``kind="queries"``; a cell read at the
  signal's fidelity is one query, a cell read at a cheaper fidelity ``E`` (low-fidelity NA
  neighbors) is ``E / F`` of a query, ``F`` the signal's fidelity).
* Charging rule ``charge``:

  - ``"every"`` (NAS-Bench-201's and NATS-Bench's official scripts, see
    :mod:`nabench.search.protocols`): every cell whose signal a step reads is charged, a repeated
    proposal included, and its signal is read again (a fresh seed per read where per-seed values
    exist; see :class:`~nabench.search.scorer.Scorer`).
  - ``"once"``: a cell is charged the first time its signal is read in a run (per fidelity);
    reading it again (a repeated candidate, a neighbor shared by two neighborhoods) is a free
    memory read that returns the value first read, because it has been trained.

  What a step reads depends on the scorer: a plain searcher reads its candidate; the NA modes of
  :mod:`nabench.search.na` say which neighbors they read (``full``: every member; ``history``: the
  candidate only, neighbors come from the run's memory for free under both rules; ``select``:
  phase-2 neighbors the run has not evaluated yet).
* A search continues while the amount spent is below the limit. The step whose charge would take
  it past the limit is the *crossing* step:

  - ``crossing="drop"`` (NAS-Bench-201's RS and REA code): the crossing step is discarded and the
    search ends; a run never spends more than the limit. A step that lands exactly on the limit counts.
  - ``crossing="keep"`` (NATS-Bench's code): the crossing step counts and is the last one; a run
    overspends by less than one step's charge.

  For NA searchers a step is one candidate with all the neighbors it charges, so the rule is
  applied to the whole neighborhood at once (a candidate is never half evaluated).
* ``max_steps`` bounds the number of steps, so a searcher that keeps proposing architectures it has
  already seen (free steps under ``once``) cannot loop forever; such a run ends with reason ``"max_steps"``.

The ledger keeps three counts apart (see :class:`~nabench.search.loop.Trajectory`): candidates
proposed, cells read (from the signal or the run's memory) and cells charged (``queries``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Hashable, Sequence

from nabench.errors import ConfigError

BUDGET_KINDS: tuple[str, ...] = ("time", "queries")
CROSSING_RULES: tuple[str, ...] = ("drop", "keep")
CHARGE_RULES: tuple[str, ...] = ("every", "once")


@dataclass(frozen=True)
class Budget:
    """How much a run may spend, what happens to the step that crosses the limit, and what is charged."""

    kind: str
    limit: float
    crossing: str
    max_steps: int = 20_000
    charge: str = "once"

    def __post_init__(self) -> None:
        if self.kind not in BUDGET_KINDS:
            raise ConfigError(f"unknown budget kind {self.kind!r}; choose {' or '.join(BUDGET_KINDS)}")
        if self.crossing not in CROSSING_RULES:
            raise ConfigError(f"unknown crossing rule {self.crossing!r}; choose {' or '.join(CROSSING_RULES)} "
                              "(drop: the evaluation that crosses the budget is discarded; keep: it counts)")
        if self.charge not in CHARGE_RULES:
            raise ConfigError(f"unknown charging rule {self.charge!r}; choose {' or '.join(CHARGE_RULES)} "
                              "(every: each proposal is charged, repeats included, as the official code does; "
                              "once: each architecture is charged once per run)")
        if isinstance(self.limit, bool) or not isinstance(self.limit, (int, float)) or not self.limit > 0:
            raise ConfigError(f"the budget limit must be a positive number (seconds or queries), got {self.limit!r}")
        if self.kind == "queries" and float(self.limit) != int(self.limit):
            raise ConfigError(f"a query budget must be a whole number of queries, got {self.limit!r}")
        if isinstance(self.max_steps, bool) or not isinstance(self.max_steps, int) or self.max_steps < 1:
            raise ConfigError(f"max_steps must be a positive integer, got {self.max_steps!r}")


@dataclass(frozen=True)
class Price:
    """What one step would charge: the keys newly charged, seconds, cells and query units."""

    keys: list[Hashable]
    seconds: float
    cells: int
    units: float


class Ledger:
    """What one run has spent: simulated seconds, query units, cells charged, and which cells.

    ``charged`` is a set (sparse: a run on the DARTS space touches a few hundred of 10^18 cells) of
    keys: an arch (an int) at the signal's fidelity, ``(arch, fidelity)`` at another fidelity.
    """

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.charged: set[Hashable] = set()
        self.time = 0.0
        self.queries = 0
        self.units = 0.0

    @property
    def spent(self) -> float:
        """The amount counted against the limit."""
        return self.time if self.budget.kind == "time" else self.units

    def open(self, limit: float | None = None) -> bool:
        """Whether the run may take another step (against ``limit``, default the budget's)."""
        return self.spent < (self.budget.limit if limit is None else limit)

    def price(self, archs: Sequence[int], cost: Callable[[list[int]], float],
              low: Sequence[int] = (), low_cost: Callable[[list[int]], float] | None = None,
              low_fidelity: int | None = None, low_units: float = 1.0) -> Price:
        """The charge of a step that reads ``archs`` at the signal's fidelity and ``low`` at ``low_fidelity``.

        Under ``once`` only cells not charged before count (distinct, ascending); under ``every`` all
        of them. ``cost`` / ``low_cost`` give the summed training time of a list of archs (the
        scorer's, which has read them); a low-fidelity cell is ``low_units`` of a query.
        """
        every = self.budget.charge == "every"
        if len(archs) == 1:
            new = list(archs) if every or archs[0] not in self.charged else []
        else:
            new = sorted(set(archs)) if every else sorted({a for a in archs if a not in self.charged})
        seconds = cost(new) if new else 0.0
        keys: list[Hashable] = list(new)
        n_low = 0
        if low:
            low_new = sorted(set(low)) if every else sorted({a for a in low if (a, low_fidelity) not in self.charged})
            if low_new:
                seconds += low_cost(low_new)  # type: ignore[misc]
                keys += [(a, low_fidelity) for a in low_new]
                n_low = len(low_new)
        return Price(keys, seconds, len(new) + n_low, len(new) + n_low * low_units)

    def crosses(self, price: Price, limit: float | None = None) -> bool:
        """Whether charging this step would take the run past ``limit`` (default the budget's)."""
        add = price.seconds if self.budget.kind == "time" else price.units
        return self.spent + add > (self.budget.limit if limit is None else limit)

    def charge(self, price: Price) -> None:
        """Record the charge of a step."""
        self.charged.update(price.keys)
        self.time += price.seconds
        self.queries += price.cells
        self.units += price.units
