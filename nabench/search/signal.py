"""The search signal: validation accuracy and training cost per cell, and nothing else.

Every signal answers :meth:`Signal.evaluate` (values and costs of a batch of archs, one call). Two
implementations:

* :class:`SearchSignal` (enumerable spaces: NB201, NATS sss) is built from the benchmark once, then holds
  plain arrays of a *search* split (``x-valid``, or ``train``) and of training cost; it keeps no
  reference to the benchmark, so no code holding it (a scorer, the NA wrapper) can reach a test split.
* :class:`SurrogateSignal` (DARTS / NB301) asks the surrogate for each batch at the search fidelity; the
  surrogate has only one split (validation), so holding it exposes no test data. A batch of archs
  (a candidate and its 120 neighbors) is one surrogate call.

Test accuracies are looked up by the runner after a search, from the incumbents it returned.
:func:`make_signal` picks the implementation from the benchmark's space.

Signal modes (chosen explicitly, never defaulted here):

* ``"mean"``: the seed mean. At fidelity 12 it is the only choice: the store holds 12-epoch seed means
  only. NAS-Bench-201's own simulation draws one of the (two) 12-epoch seeds per query instead
  (``is_random=True``); the mean is slightly less noisy than that.
* ``"random-seed"``: each evaluation draws one of the cell's trained seeds uniformly from the run's
  Generator (at fidelity 200, where 2 or 3 per-seed values exist).

Cost is the recorded training time of the ``fidelity``-epoch schedule (``bench.cost``; at fidelity 12
exactly 12/200 of the 200-epoch time). NAS-Bench-201's simulation also charges one evaluation pass
(``valid-per-time``); the tables do not hold it. On the three official raw records it is 0.33-0.49
of one training epoch on cifar10-valid, i.e. about 3% of a 12-epoch cost, so leaving it out lets a
12,000 s search make about 3% more evaluations (see results/search/README.md for its effect).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from nabench.errors import ConfigError

SIGNAL_MODES: tuple[str, ...] = ("mean", "random-seed")


class Signal(Protocol):
    """What a scorer reads: values and costs of batches of archs (no test split behind it)."""

    dataset: str
    split: str
    fidelity: int
    mode: str

    def evaluate(self, archs: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``(values, costs)`` of ``archs`` (int64), one evaluation each (``rng`` draws seeds where needed)."""
        ...


@dataclass(frozen=True, eq=False)
class SearchSignal:
    """Per-cell search values (``(n_seeds_max, n_archs)``, NaN where a seed was not trained) and costs."""

    dataset: str
    split: str
    fidelity: int
    mode: str
    values: np.ndarray
    n_seeds: np.ndarray
    cost: np.ndarray

    def __post_init__(self) -> None:
        if self.mode not in SIGNAL_MODES:
            raise ConfigError(f"unknown signal mode {self.mode!r}; choose one of {', '.join(SIGNAL_MODES)}")
        n = self.values.shape[-1]
        if self.values.ndim != 2 or self.cost.shape != (n,) or self.n_seeds.shape != (n,):
            raise ConfigError(f"a search signal needs values of shape (seeds, n_archs) and n_archs seed counts and "
                              f"costs, got {self.values.shape}, {self.n_seeds.shape} and {self.cost.shape}")
        for a in (self.values, self.n_seeds, self.cost):
            a.setflags(write=False)

    def draw(self, archs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One evaluation of each cell in ``archs``: the seed mean, or a seed drawn per cell."""
        if self.mode == "mean":
            return self.values[0, archs]
        pick = (rng.random(len(archs)) * self.n_seeds[archs]).astype(np.int64)
        return self.values[pick, archs]

    def evaluate(self, archs: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Values (see :meth:`draw`) and costs of ``archs``."""
        return self.draw(archs, rng), self.cost[archs]

    @classmethod
    def from_bench(cls, bench: Any, *, dataset: str, split: str, fidelity: int, mode: str) -> "SearchSignal":
        """Read a search signal from a tabular benchmark; test splits are refused."""
        from nabench.tables import schema

        ds, sp, fid = bench.check_query(dataset, split, fidelity)
        if sp not in schema.SEARCH_SPLITS:
            raise ConfigError(
                f"split {sp!r} of {ds} is a test split: a searcher may only see "
                f"{' or '.join(sorted(schema.SEARCH_SPLITS))}. Search on 'x-valid' (for CIFAR-10 use dataset "
                "'cifar10-valid') and report test splits through the protocol's report targets"
            )
        if mode not in SIGNAL_MODES:
            raise ConfigError(f"unknown signal mode {mode!r}; choose one of {', '.join(SIGNAL_MODES)}")
        n_archs = int(bench.n_archs)
        archs = np.arange(n_archs)
        cost = np.asarray(bench.cost(archs, dataset=ds, fidelity=fid), dtype=np.float64)
        if mode == "mean":
            values = np.asarray(bench.accuracy(archs, dataset=ds, split=sp, fidelity=fid), dtype=np.float64)[None]
            return cls(ds, sp, fid, mode, values, np.ones(n_archs, dtype=np.int64), cost)
        if not bench.has("acc", ds, sp, fid, per_seed=True):
            raise ConfigError(
                f"the store holds only seed means of {ds} {sp} at fidelity {fid}, so signal 'random-seed' is not "
                "possible there; use signal 'mean' (or fidelity 200, which has per-seed values)"
            )
        n_seeds = np.asarray(bench.n_seeds(dataset=ds, fidelity=fid), dtype=np.int64)
        seeds = bench.seeds(dataset=ds, fidelity=fid)
        values = np.full((len(seeds), n_archs), np.nan)
        for rank, seed in enumerate(seeds):
            have = np.flatnonzero(n_seeds > rank)
            values[rank, have] = bench.accuracy(have, dataset=ds, split=sp, fidelity=fid, seed=seed)
        return cls(ds, sp, fid, mode, values, n_seeds, cost)


class SurrogateSignal:
    """The signal of a surrogate benchmark (NB301): its prediction at one fidelity, batch by batch.

    ``mode`` is ``"mean"`` only: the surrogate is deterministic (one value per arch and epoch).
    """

    def __init__(self, bench: Any, *, dataset: str, split: str, fidelity: int, mode: str) -> None:
        if mode != "mean":
            raise ConfigError(f"the {bench.name} surrogate is deterministic, so signal {mode!r} is not possible; "
                              "use signal 'mean'")
        self.dataset, self.split, self.fidelity = bench.check_query(dataset, split, fidelity)
        self.mode = mode
        self._bench = bench

    def evaluate(self, archs: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Predicted accuracy (percent) and training time (s) of ``archs``, one surrogate call."""
        return self._bench.predict(archs, fidelity=self.fidelity)


def make_signal(bench: Any, *, dataset: str, split: str, fidelity: int, mode: str) -> Signal:
    """The search signal of ``bench`` at a search split: arrays for enumerable spaces, else surrogate calls."""
    if bench.space.enumerable:
        return SearchSignal.from_bench(bench, dataset=dataset, split=split, fidelity=fidelity, mode=mode)
    return SurrogateSignal(bench, dataset=dataset, split=split, fidelity=fidelity, mode=mode)
