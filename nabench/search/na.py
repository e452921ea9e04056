"""The NA wrapper: a candidate's score aggregates the signal over its neighborhood, in one of three modes.

Neighborhood-aware search is composition, not a copy of each searcher: any searcher paired with a
:class:`NeighborhoodScorer` becomes its NA variant, because the searcher only ever sees scores. The
neighborhood (radius as a ball, include-self, k sampled, dedup, aggregate) is a
:class:`~nabench.neighborhood.NeighborhoodSpec`, the vocabulary tabular NA and NA-DARTS share; its
members come from :func:`nabench.neighborhood.members_of` on the run's space (the vectorized NB201
tables there, the space's own ``neighbors`` elsewhere). A candidate's neighbors are read in one
batch (one surrogate call on the DARTS space).

Modes (``mode``), each usable with every searcher:

* ``"full"``: the score is the aggregate over the whole neighborhood (or ``k`` sampled members);
  every member is read by the step.
* ``"history"``: the score is the aggregate over the candidate and those of its neighbors the run
  has already evaluated (as candidates); only the candidate is read, so it costs exactly what the
  plain searcher costs. ``k`` does not apply (remembered neighbors are free, so all of them count).
  With ``include_self=False`` and no neighbor evaluated yet the score is the candidate's own value.
  Natural for REA and LS, whose proposals are neighbors of earlier ones.
* ``"select"``: the plain searcher runs on ``1 - fraction`` of the budget (the scorer answers with the
  candidate's own signal); then :mod:`nabench.search.loop` spends the rest on the neighborhoods of
  the ``top`` best distinct candidates (:meth:`NeighborhoodScorer.plan`: round robin over them, best
  first, each one's members in a random order, ``k`` sampled if set), one neighbor per step, and
  returns the best of them by the aggregate over the members read. Neighbors the run has evaluated
  already are used from memory for free. Default ``top = 3``: on NB201 a 12,000 s budget buys ~110
  evaluations, so ``fraction = 0.2`` pays ~22 neighbors, about 7 of each incumbent's 24; more
  incumbents would leave each aggregate over too few members, fewer would make the choice moot.

Low-fidelity neighbors (``low_signal``, the run's ``--na-fidelity E``; modes ``full`` and
``select``): neighbors are read from a second signal at the cheaper fidelity ``E`` (NB201: the
12-epoch seed mean around a 200-epoch candidate; NB301: any surrogate epoch), charged at that
fidelity (its training time; under a query budget ``E / F`` of a query), and remembered apart from
the candidate's fidelity. The candidate itself is read at the signal's fidelity. The aggregate takes
the values as read (a candidate's value and its neighbors' from two fidelities).

Accounting (``accounting``):

* ``"query"`` (query-matched, the default): every cell the step reads is priced by the
  :class:`~nabench.search.budget.Ledger` under the budget's charging rule.
* ``"candidate"`` (candidate-matched): only candidates are priced; neighbors are read for free, so
  the NA searcher evaluates as many candidates as the plain one under the same budget.

How neighbors are charged under each charging rule (:mod:`nabench.search.budget`): under ``once``
every cell read is charged the first time (per fidelity), memory reads are free; under ``every``
each step charges every cell whose signal it reads, again: ``full`` re-reads and charges every
member at every step (a neighbor shared by two candidates is trained twice), ``history`` reads and
charges the candidate only, ``select`` charges each phase-2 neighbor once (it reads only those the
run has not evaluated), low-fidelity neighbors are charged at their fidelity each time they are read.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from nabench import neighborhood as nh
from nabench.errors import ConfigError
from nabench.search.budget import Ledger, Price
from nabench.search.scorer import Evaluation, Scorer
from nabench.search.signal import Signal
from nabench.spaces.base import SearchSpace

ACCOUNTING: tuple[str, ...] = ("query", "candidate")
NA_MODES: tuple[str, ...] = ("full", "history", "select")
DEFAULT_FRACTION = 0.2
DEFAULT_TOP = 3


@dataclass(frozen=True)
class NAOptions:
    """How an NA searcher spends its budget: ``mode``, select's ``fraction`` and ``top``, and the
    neighbor ``fidelity`` (``None``: the signal's own). Checked again by :class:`NeighborhoodScorer`."""

    mode: str = "full"
    fraction: float = DEFAULT_FRACTION
    top: int = DEFAULT_TOP
    fidelity: int | None = None

    def __post_init__(self) -> None:
        if self.mode not in NA_MODES:
            raise ConfigError(f"unknown NA mode {self.mode!r}; choose one of {', '.join(NA_MODES)}")
        if self.fidelity is not None and self.mode == "history":
            raise ConfigError("low-fidelity neighbors (--na-fidelity) need neighbors that are read: use NA mode "
                              "full or select, not history (whose neighbors come from memory)")


class NeighborhoodScorer(Scorer):
    """Scores a candidate by the aggregate of the signal over its neighborhood in ``space`` (see the module)."""

    def __init__(self, signal: Signal, rng: np.random.Generator, space: SearchSpace,
                 spec: nh.NeighborhoodSpec, accounting: str = "query", mode: str = "full",
                 fraction: float = DEFAULT_FRACTION, top: int = DEFAULT_TOP, low_signal: Signal | None = None) -> None:
        super().__init__(signal, rng)
        if accounting not in ACCOUNTING:
            raise ConfigError(f"unknown NA accounting {accounting!r}; choose 'query' (neighbors are charged, the "
                              "fair default) or 'candidate' (only candidates are charged)")
        if not isinstance(spec, nh.NeighborhoodSpec):
            raise ConfigError(f"the NA scorer needs a NeighborhoodSpec, got {type(spec).__name__}")
        if mode not in NA_MODES:
            raise ConfigError(f"unknown NA mode {mode!r}; choose one of {', '.join(NA_MODES)} (full: every neighbor "
                              "read; history: neighbors already evaluated, free; select: neighborhoods of the top "
                              "incumbents on the last fraction of the budget)")
        if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0.0 < fraction < 1.0:
            raise ConfigError(f"the NA select fraction must lie strictly between 0 and 1 (the share of the budget "
                              f"spent on neighborhoods), got {fraction!r}")
        if isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top < 1:
            raise ConfigError(f"the NA select top must be a positive integer (incumbents whose neighborhoods are "
                              f"read), got {top!r}")
        if low_signal is not None:
            if mode == "history":
                raise ConfigError("low-fidelity neighbors (--na-fidelity) need neighbors that are read: use NA mode "
                                  "full or select, not history (whose neighbors come from memory)")
            if not low_signal.fidelity < signal.fidelity:
                raise ConfigError(f"the NA neighbor fidelity {low_signal.fidelity} must be cheaper (lower) than the "
                                  f"search signal's fidelity {signal.fidelity}; lower --na-fidelity")
        self.space = space
        self.spec = spec
        self.accounting = accounting
        self.mode = mode
        self.fraction = float(fraction)
        self.top = int(top)
        self.low_signal = low_signal
        self._low_value: dict[int, float] = {}
        self._low_cost: dict[int, float] = {}
        self._low_reread = False
        self._plan: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._all: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # history: every member of a cell (no k)

    # ------------------------------------------------------------------ reading
    def begin(self, budget: Any) -> None:
        super().begin(budget)
        self._low_reread = self.low_signal is not None and budget.charge == "every" and self.low_signal.mode != "mean"

    def forget_last(self) -> None:
        """Forget the cells the last :meth:`read` added (a step the loop discarded was never trained)."""
        for a in self._new:
            self._value.pop(a, None)
            self._cost.pop(a, None)
        self._new = []

    def read_low(self, archs: list[int]) -> list[float]:
        """Values of ``archs`` at the neighbor fidelity, with their own memory (same rules as :meth:`read`)."""
        known = self._low_value
        fresh = sorted(set(archs)) if self._low_reread else sorted({a for a in archs if a not in known})
        if fresh:
            values, costs = self.low_signal.evaluate(np.array(fresh, dtype=np.int64), self._rng)  # type: ignore[union-attr]
            for a, v, c in zip(fresh, np.asarray(values, dtype=np.float64).tolist(),
                               np.asarray(costs, dtype=np.float64).tolist()):
                known[a] = v
                self._low_cost[a] = c
        return [known[a] for a in archs]

    def low_cost(self, archs: list[int]) -> float:
        """Training cost in seconds of ``archs`` at the neighbor fidelity (each already read)."""
        return float(np.sum(np.array([self._low_cost[a] for a in archs], dtype=np.float64)))

    def price(self, ledger: Ledger, ev: Evaluation) -> Price:
        if self.low_signal is None:
            return ledger.price(ev.uses, self.cost)
        return ledger.price(ev.uses, self.cost, ev.low, self.low_cost, self.low_signal.fidelity,
                            self.low_signal.fidelity / self.signal.fidelity)

    def _aggregate(self, idx: np.ndarray, dist: np.ndarray, vals: list[float]) -> float:
        return float(nh.reduce(np.asarray(vals, dtype=np.float64)[None, :],
                               nh.Members(idx[None, :], dist[None, :], None), self.spec)[0])

    # ------------------------------------------------------------------ scoring
    def evaluate(self, arch: int) -> Evaluation:
        if self.mode == "select":
            return super().evaluate(arch)
        if self.mode == "history":
            return self._history(arch)
        idx, dist = nh.members_of(self.space, arch, self.spec, self._rng)
        members = idx.tolist()
        if self.low_signal is None:
            vals = self.read(members)
            raw = vals[members.index(arch)] if arch in members else float("nan")
            return Evaluation(self._aggregate(idx, dist, vals), raw,
                              members if self.accounting == "query" else [arch], (), len(members))
        others = [m for m in members if m != arch]
        own = self.read([arch])[0] if arch in members else float("nan")
        low = dict(zip(others, self.read_low(others)))
        vals = [own if m == arch else low[m] for m in members]
        uses = [arch] if arch in members or self.accounting == "candidate" else []
        return Evaluation(self._aggregate(idx, dist, vals), own, uses,
                          tuple(others) if self.accounting == "query" else (), len(members))

    def _history(self, arch: int) -> Evaluation:
        own = self.read([arch])[0]
        if arch not in self._all:
            self._all[arch] = nh.members_of(self.space, arch, replace(self.spec, k=None), self._rng)
        idx, dist = self._all[arch]
        keep = np.array([m == arch or m in self._value for m in idx.tolist()], dtype=bool)
        if not keep.any():
            return Evaluation(own, own, [arch], (), 1)
        idx, dist = idx[keep], dist[keep]
        vals = [own if m == arch else self._value[m] for m in idx.tolist()]
        return Evaluation(self._aggregate(idx, dist, vals), own, [arch], (), len(idx))

    # ------------------------------------------------------------------ select: phase 2
    def phase_limit(self, budget: Any) -> float:
        """The budget of the plain phase: all of it, or ``1 - fraction`` of it in mode ``select``."""
        return budget.limit * (1.0 - self.fraction) if self.mode == "select" else budget.limit

    def _known_neighbor(self, arch: int) -> bool:
        return arch in (self._value if self.low_signal is None else self._low_value)

    def plan(self, tops: list[int]) -> list[tuple[int, int]]:
        """``(incumbent, neighbor)`` pairs to read in phase 2: round robin over ``tops`` (best first),
        each one's members (``k`` sampled if set) in a random order, those already evaluated left out."""
        queues = []
        self._plan = {}
        for t in tops:
            idx, dist = nh.members_of(self.space, t, self.spec, self._rng)
            self._plan[t] = (idx, dist)
            nbs = [m for m in idx.tolist() if m != t]
            queues.append([nbs[i] for i in self._rng.permutation(len(nbs))])
        out = []
        for j in range(max((len(q) for q in queues), default=0)):
            out += [(t, q[j]) for t, q in zip(tops, queues) if j < len(q) and not self._known_neighbor(q[j])]
        return out

    def aggregate(self, owner: int) -> float:
        """The aggregate of a planned incumbent over its members read so far (``-inf``: none read)."""
        idx, dist = self._plan[owner]
        low = self.low_signal is not None
        vals, keep = [], []
        for m in idx.tolist():
            v = self._value.get(m) if m == owner else (self._low_value if low else self._value).get(m)
            keep.append(v is not None)
            if v is not None:
                vals.append(v)
        if not vals:
            return -np.inf
        mask = np.array(keep)
        return self._aggregate(idx[mask], dist[mask], vals)

    def read_neighbor(self, owner: int, arch: int) -> Evaluation:
        """Read one planned neighbor (skipped by the loop when already known); the score is the owner's
        new aggregate, ``raw`` the neighbor's value."""
        if self.low_signal is None:
            v = self.read([arch])[0]
            uses, low = ([arch] if self.accounting == "query" else []), ()
        else:
            v = self.read_low([arch])[0]
            uses, low = [], ((arch,) if self.accounting == "query" else ())
        return Evaluation(self.aggregate(owner), v, uses, low, 1)

    def known_neighbor(self, arch: int) -> bool:
        """Whether phase 2 already has ``arch``'s value at the neighbor fidelity."""
        return self._known_neighbor(arch)
