"""A synthetic benchmark with the query methods the search stack uses, for tests and demos.

Its values are made up (an additive score per edge and op, plus optional per-seed noise), so the
optimum is known exactly; its official order is a random permutation of the cells, so code that
mixes up official indices and base-5 codes fails on it. Test splits hold different numbers from
validation splits, and every accuracy query is logged in :attr:`SyntheticBenchmark.queries`.
It implements :class:`nabench.spaces.base.Benchmark` with the NB201 tasks.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nabench.errors import NotAvailableError
from nabench.spaces import nb201
from nabench.spaces.base import TASKS, Task
from nabench.spaces.nb201 import N_ARCHS, NB201Space, OfficialOrder

TEST_SPLITS = ("x-test", "ori-test")


class SyntheticBenchmark:
    """Bench-like tables: ``accuracy``, ``cost``, ``n_seeds``, ``seeds``, ``has``, ``order``, ``checksum``."""

    n_archs = N_ARCHS
    name = "nb201"
    fidelities = (12, 200)

    def __init__(self, seed: int = 0, noise: float = 0.0) -> None:
        rng = np.random.default_rng(seed)
        self.order = OfficialOrder(nb201.all_ops()[rng.permutation(N_ARCHS)])
        ops = nb201.all_ops()[self.order.code_of_index].astype(np.int64)
        self.weights = rng.normal(size=(nb201.N_EDGES, nb201.N_OPS))
        self.valid = 50.0 + 5.0 * self.weights[np.arange(nb201.N_EDGES), ops].sum(axis=1)
        self.test = 100.0 - self.valid
        self.n_seeds_200 = rng.integers(2, 4, size=N_ARCHS)
        per_seed = self.valid[None, :] + noise * rng.normal(size=(3, N_ARCHS))
        per_seed[2, self.n_seeds_200 < 3] = np.nan
        self.per_seed = per_seed
        self.time200 = rng.uniform(500.0, 2500.0, size=N_ARCHS)
        self.queries: list[tuple[str, str, int]] = []
        self.checksum = f"synthetic-{seed}-{noise}"

    @property
    def space(self) -> NB201Space:
        """The NB201 space in this table's (permuted) official order."""
        if not hasattr(self, "_space"):
            self._space = NB201Space(self.order)
        return self._space

    @property
    def tasks(self) -> dict[str, Task]:
        return TASKS["nb201"]

    def check_query(self, dataset: Any, split: Any, fidelity: Any) -> tuple[str, str, int]:
        """Validate names as the NB201 store does."""
        from nabench.tables import schema

        return schema.check_query(dataset, split, fidelity)

    @property
    def optimum(self) -> int:
        """Official index of the best cell by validation value."""
        return int(np.argmax(self.valid))

    def has(self, metric: str, dataset: str, split: str, fidelity: int, per_seed: bool = False) -> bool:
        return metric == "acc" and (not per_seed or int(fidelity) == 200)

    def seeds(self, *, dataset: str, fidelity: int) -> tuple[int, ...]:
        return (777, 888, 999) if int(fidelity) == 200 else ()

    def n_seeds(self, *, dataset: str, fidelity: int) -> np.ndarray:
        return self.n_seeds_200 if int(fidelity) == 200 else np.ones(N_ARCHS, dtype=np.int64)

    def accuracy(self, archs: Any, *, dataset: str, split: str, fidelity: int, seed: Any = "mean") -> np.ndarray:
        dataset, split, fidelity = self.check_query(dataset, split, fidelity)
        self.queries.append((dataset, split, int(fidelity)))
        idx = np.asarray(archs)
        if split in TEST_SPLITS:
            return self.test[idx]
        if seed == "mean":
            return self.valid[idx]
        if int(fidelity) != 200:
            raise NotAvailableError("synthetic 12-epoch values are seed means only")
        out = self.per_seed[(777, 888, 999).index(int(seed)), idx]
        if np.isnan(out).any():
            raise NotAvailableError(f"seed {seed} was not trained for some of these cells")
        return out

    def cost(self, archs: Any, *, dataset: str, fidelity: int) -> np.ndarray:
        from nabench.tables import schema

        schema.check_dataset(dataset)
        return self.time200[np.asarray(archs)] * schema.check_fidelity(fidelity) / 200
