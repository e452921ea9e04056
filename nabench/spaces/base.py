"""The two declared interfaces every search runs on: a :class:`SearchSpace` and a :class:`Benchmark`.

Decisions (and why):

* **An architecture is a Python ``int`` in every space** (type alias :data:`Arch`): the official index
  in NAS-Bench-201 and in the NATS size space, and a mixed-radix code of the canonical genotype in
  the DARTS space (22 categorical digits, about 1.1e18 codes, below ``2**63``). Ints are hashable,
  JSON-exact, sortable and fit numpy ``int64`` arrays, so searchers, ledgers, run records and result
  tables need no per-space code. Never cast a DARTS code to float: it exceeds ``2**53``.
* **Canonical form.** :meth:`SearchSpace.canonical` gives the dedup key. In NAS-Bench-201 it is the
  isomorphism class (6,466 classes). In the DARTS space the code itself is already canonical (the
  two inputs of a node are stored in source order, so input order cannot make two codes), and
  ``canonical`` is the identity; other DARTS isomorphisms (relabelling intermediate nodes) are not
  merged, as NAS-Bench-301 does not merge them either.
* **Categorical encoding.** :meth:`SearchSpace.encode` maps archs to integer vectors over
  ``cardinalities`` (one categorical dimension per entry) and :meth:`SearchSpace.decode` back; every
  vector in range decodes to a valid arch. REINFORCE keeps a policy over these dimensions, BO's
  kernel is the Hamming distance on them, and Optuna samplers can ask for them.
* **Neighbors.** ``neighbors(arch, radius)`` is the *ball* (every arch at edit distance 1..radius),
  ``exact=True`` the shell; :meth:`SearchSpace.distance` is that edit distance, so every radius-1
  neighbor is at distance 1.
* **Per-run memory is sparse.** Spaces whose ``enumerable`` is False (DARTS) must never be given
  arrays sized by the space; searchers keep dicts and sets.

A :class:`Benchmark` answers batched queries of archs of its ``space``. Its :class:`Task` objects
(:data:`TASKS`, the one table of which dataset/split is searched and which is reported) are bound
once and say which way the metric goes. Every task shipped maximizes accuracy, and the searchers and
the loop maximize the score; a task that minimizes would hand searchers the negated signal. Implementations: the NAS-Bench-201 store
(:class:`nabench.tables.benchmark.NB201Benchmark`), the NATS size-space store
(:class:`~nabench.tables.benchmark.SizeBenchmark`), the NAS-Bench-301 surrogate
(:class:`nabench.surrogates.nb301.NB301Benchmark`) and the synthetic table
(:class:`nabench.search.synthetic.SyntheticBenchmark`); ``tests/test_space_contract.py`` runs them all
through the same contract.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Hashable, Mapping, Protocol, runtime_checkable

import numpy as np

from nabench.errors import ConfigError

#: An architecture: a non-negative int whose meaning the space defines (see the module docstring).
Arch = int


@runtime_checkable
class SearchSpace(Protocol):
    """Cells of one search space: sampling, edits, neighbors, encodings. Holds no accuracies."""

    #: short name (``nb201``, ``darts``, ``nats-sss``)
    name: str
    #: number of categories of each dimension of :meth:`encode`
    cardinalities: tuple[int, ...]

    @property
    def size(self) -> int:
        """Number of distinct archs (codes) in the space."""
        ...

    @property
    def enumerable(self) -> bool:
        """Whether arrays sized by the space are reasonable (NB201: yes; DARTS: no)."""
        ...

    def sample(self, rng: np.random.Generator, n: int | None = None) -> Any:
        """A uniformly random arch (uniform over codes); ``n`` of them as an int64 array if ``n`` is given."""
        ...

    def mutate(self, arch: Arch, rng: np.random.Generator) -> Arch:
        """A random arch one edit away."""
        ...

    def neighbors(self, arch: Any, radius: int = 1, exact: bool = False) -> np.ndarray:
        """The archs at distance ``1..radius`` (``exact``: exactly ``radius``), int64, without ``arch``.

        At radius 1 an int64 array of archs gives an ``(n, m)`` table (one row per arch).
        """
        ...

    def distance(self, a: Arch, b: Arch) -> int:
        """Edit distance (the number of one-edit moves from ``a`` to ``b``)."""
        ...

    def canonical(self, arch: Arch) -> Hashable:
        """Dedup key: equal for isomorphic archs (NB201) / identical cells (DARTS)."""
        ...

    def parse(self, value: Any) -> Arch:
        """An arch from any form a user writes (index, string, preset name, dict ...)."""
        ...

    def format(self, arch: Arch) -> str:
        """The standard text form of an arch (readable by :meth:`parse`)."""
        ...

    def encode(self, archs: Any) -> np.ndarray:
        """Integer vectors over :attr:`cardinalities`: ``(d,)`` for one arch, ``(n, d)`` for an array."""
        ...

    def decode(self, vectors: Any) -> Any:
        """Archs of integer vectors (inverse of :meth:`encode`): an int for ``(d,)``, int64 for ``(n, d)``."""
        ...


@dataclass(frozen=True)
class Task:
    """One benchmark task: what a search reads, what is reported, at which fidelities, which way is better.

    ``search_dataset``/``search_split`` is the only data a searcher may see; ``report_dataset``/
    ``report_split`` at ``report_fidelity`` is what results show. ``note`` is printed wherever results
    of the task are shown (e.g. the NB301 surrogate has no test split).
    """

    benchmark: str
    name: str
    search_dataset: str
    search_split: str
    report_dataset: str
    report_split: str
    fidelities: tuple[int, ...]
    search_fidelity: int
    report_fidelity: int
    maximize: bool = True
    metric: str = "accuracy (%)"
    note: str = ""

    @property
    def report_label(self) -> str:
        """``dataset/split`` of the report."""
        return f"{self.report_dataset}/{self.report_split}"

    def better(self, a: float, b: float) -> bool:
        """Whether value ``a`` beats ``b`` in this task's direction."""
        return a > b if self.maximize else a < b


_NB201_SPLITS = {"cifar10": ("cifar10-valid", "x-valid", "cifar10", "ori-test"),
                 "cifar100": ("cifar100", "x-valid", "cifar100", "x-test"),
                 "ImageNet16-120": ("ImageNet16-120", "x-valid", "ImageNet16-120", "x-test")}
#: NB301's CIFAR-10 training pipeline runs 98 epochs; the surrogate predicts any epoch 1..98.
NB301_EPOCHS = 98
#: Default NB301 search fidelity: a low one, as NAS-Bench-201 searches on 12 of 200 epochs.
NB301_SEARCH_EPOCH = 12
NB301_NOTE = "no test split: surrogate validation prediction"

#: benchmark name -> task name -> :class:`Task`. THE table of searched vs reported data.
TASKS: dict[str, dict[str, Task]] = {
    "nb201": {k: Task("nb201", k, *v, fidelities=(12, 200), search_fidelity=12, report_fidelity=200)
              for k, v in _NB201_SPLITS.items()},
    "nats-sss": {k: Task("nats-sss", k, *v, fidelities=(1, 12, 90), search_fidelity=12, report_fidelity=90)
                 for k, v in _NB201_SPLITS.items()},
    "nb301": {"cifar10": Task("nb301", "cifar10", "cifar10", "valid", "cifar10", "valid",
                              fidelities=tuple(range(1, NB301_EPOCHS + 1)), search_fidelity=NB301_SEARCH_EPOCH,
                              report_fidelity=NB301_EPOCHS, note=NB301_NOTE)},
}
#: ``cifar10-valid`` names the CIFAR-10 task (it is the dataset its search reads).
TASK_ALIASES: dict[str, str] = {"cifar10-valid": "cifar10"}


def task(benchmark: str, name: str | None = None) -> Task:
    """The :class:`Task` ``name`` (default: the benchmark's first) of ``benchmark``."""
    if benchmark not in TASKS:
        raise ConfigError(f"unknown benchmark {benchmark!r}; benchmarks with tasks are {', '.join(TASKS)}")
    tasks = TASKS[benchmark]
    key = next(iter(tasks)) if name is None else TASK_ALIASES.get(str(name), str(name))
    if key not in tasks:
        raise ConfigError(f"benchmark {benchmark} has no task {name!r}; its tasks are {', '.join(tasks)}"
                          + (" (cifar10 searches on cifar10-valid x-valid and reports cifar10 ori-test)"
                             if benchmark == "nb201" else ""))
    return tasks[key]


@runtime_checkable
class Benchmark(Protocol):
    """Batched answers about archs of one space, for the tasks it has."""

    name: str

    @property
    def space(self) -> SearchSpace:
        """The space its archs come from."""
        ...

    @property
    def tasks(self) -> Mapping[str, Task]:
        """Its tasks by name (the entry of :data:`TASKS`)."""
        ...

    @property
    def checksum(self) -> str:
        """Identifies the data behind the answers (goes into run manifests)."""
        ...

    def accuracy(self, archs: Any, *, dataset: str, split: str, fidelity: int, seed: Any = "mean") -> np.ndarray:
        """Accuracy in percent of ``archs`` (batched; one value per arch)."""
        ...

    def cost(self, archs: Any, *, dataset: str, fidelity: int) -> np.ndarray:
        """Simulated training time in seconds of ``archs`` at ``fidelity``."""
        ...

    def has(self, metric: str, dataset: str, split: str, fidelity: int, per_seed: bool = False) -> bool:
        """Whether the benchmark holds a quantity (``per_seed``: values per training seed)."""
        ...


# ----------------------------------------------------------------------------- shared helpers


def radix_powers(cardinalities: tuple[int, ...]) -> np.ndarray:
    """Place values of a mixed-radix number with the first dimension most significant (int64)."""
    out = np.ones(len(cardinalities), dtype=np.int64)
    for i in range(len(cardinalities) - 2, -1, -1):
        out[i] = out[i + 1] * int(cardinalities[i + 1])
    return out


@lru_cache(maxsize=16)
def _offsets(cardinalities: tuple[int, ...]) -> np.ndarray:
    out = np.concatenate([[0], np.cumsum(cardinalities)[:-1]]).astype(np.int64)
    out.setflags(write=False)
    return out


def onehot(codes: np.ndarray, cardinalities: tuple[int, ...]) -> np.ndarray:
    """``(n, sum(cardinalities))`` float one-hot rows of ``(n, d)`` codes; Hamming = d - A @ B.T."""
    c = np.asarray(codes, dtype=np.int64) + _offsets(tuple(cardinalities))
    out = np.zeros((len(c), int(sum(cardinalities))), dtype=np.float64)
    np.put_along_axis(out, c, 1.0, axis=1)
    return out
