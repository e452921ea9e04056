"""A tiny synthetic nabench benchmark plugin: the ``toy`` chain space and its made-up tables.

An architecture is a chain of 5 positions, each one of 4 operations (4**5 = 1,024 archs; the arch is the
base-4 number of its ops, first position most significant). Its values are made up from a fixed seed:
an additive score per (position, op) plus a pairwise term for neighboring positions, so the landscape
has structure for NA search to exploit. The search signal (``x-valid`` at epoch 1) is the report value
(``x-test`` at epoch 10) plus noise that is fixed per arch, as a cheap proxy is.

What makes it a plugin: :data:`PLUGIN` (a :class:`nabench.benchmarks.BenchmarkPlugin`), named by the
entry point ``toy = "nabench_toy:PLUGIN"`` of the group ``nabench.benchmarks`` in ``pyproject.toml``. It
declares the benchmark's tasks (one, ``toy``), two search presets (``toy``: 40 distinct queries, the
default; ``toy-time``: 200 simulated seconds) and a ``--space`` alias (``chain``).

The split names follow the tabular stores' (a searcher may read ``x-valid`` or ``train`` only), because an
enumerable space's search signal is read once into arrays through ``n_archs`` and ``check_query``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nabench.benchmarks import BenchmarkPlugin
from nabench.errors import ConfigError
from nabench.search.budget import Budget
from nabench.search.protocols import Preset
from nabench.spaces.base import Task, radix_powers

N_POS, N_OPS = 5, 4
N_ARCHS = N_OPS**N_POS
OPS = ("a", "b", "c", "d")
TASKS = {"toy": Task("toy", "toy", "toy", "x-valid", "toy", "x-test", fidelities=(1, 10), search_fidelity=1,
                     report_fidelity=10, note="made-up values (examples/plugin_benchmark)")}


class ChainSpace:
    """The ``toy`` space: 5 positions x 4 ops, one edit = change one position's op (15 neighbors)."""

    name = "toy"
    cardinalities = (N_OPS,) * N_POS
    size = N_ARCHS
    enumerable = True

    def __init__(self) -> None:
        self._powers = radix_powers(self.cardinalities)
        self._codes = self.encode(np.arange(N_ARCHS))

    def sample(self, rng: np.random.Generator, n: int | None = None) -> Any:
        return int(rng.integers(N_ARCHS)) if n is None else rng.integers(N_ARCHS, size=n).astype(np.int64)

    def mutate(self, arch: int, rng: np.random.Generator) -> int:
        code = self.encode(int(arch))
        pos = int(rng.integers(N_POS))
        v = int(rng.integers(N_OPS - 1))
        code[pos] = v + (v >= code[pos])
        return int(self.decode(code))

    def _table(self, archs: np.ndarray) -> np.ndarray:
        """Radius-1 neighbors of each arch, ``(n, 15)``: position-major, ops ascending (the arch's own skipped)."""
        codes = self.encode(archs)
        out = []
        for pos in range(N_POS):
            for step in range(1, N_OPS):
                c = codes.copy()
                c[:, pos] = (c[:, pos] + step) % N_OPS
                out.append(self.decode(c))
        table = np.stack(out, axis=1)
        return np.sort(table, axis=1)

    def neighbors(self, arch: Any, radius: int = 1, exact: bool = False) -> np.ndarray:
        a = np.asarray(arch, dtype=np.int64)
        if a.ndim == 1:
            if radius != 1:
                raise ConfigError("the toy space gives neighbor tables of many archs at radius 1 only")
            return self._table(a)
        d = (self._codes != self.encode(int(a))).sum(axis=1)
        keep = (d == radius) if exact else (d >= 1) & (d <= radius)
        return np.flatnonzero(keep).astype(np.int64)

    def distance(self, a: int, b: int) -> int:
        return int((self.encode(int(a)) != self.encode(int(b))).sum())

    def canonical(self, arch: int) -> int:
        return int(arch)

    def parse(self, value: Any) -> int:
        """An index (``0..1023``) or ops text like ``a-b-d-c-a``."""
        text = str(value).strip()
        if text.isdigit() and int(text) < N_ARCHS:
            return int(text)
        parts = text.split("-")
        if len(parts) == N_POS and all(p in OPS for p in parts):
            return int(self.decode(np.array([OPS.index(p) for p in parts])))
        raise ConfigError(f"toy architecture {value!r}: give an index 0..{N_ARCHS - 1} or ops like a-b-d-c-a")

    def format(self, arch: int) -> str:
        return "-".join(OPS[i] for i in self.encode(int(arch)))

    def encode(self, archs: Any) -> np.ndarray:
        a = np.asarray(archs, dtype=np.int64)
        return (a[..., None] // self._powers) % N_OPS

    def decode(self, vectors: Any) -> Any:
        v = np.asarray(vectors, dtype=np.int64)
        out = v @ self._powers
        return int(out) if v.ndim == 1 else out.astype(np.int64)


class ToyBenchmark:
    """Made-up accuracies (percent) and training times (seconds) of every toy arch (see the module docstring)."""

    name = "toy"
    n_archs = N_ARCHS
    checksum = "toy-v1"

    def __init__(self, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.space = ChainSpace()
        codes = self.space.encode(np.arange(N_ARCHS))
        unary = rng.normal(size=(N_POS, N_OPS))
        pair = rng.normal(scale=0.5, size=(N_POS - 1, N_OPS, N_OPS))
        score = unary[np.arange(N_POS), codes].sum(axis=1)
        score += sum(pair[p, codes[:, p], codes[:, p + 1]] for p in range(N_POS - 1))
        self._test = np.clip(60.0 + 5.0 * score, 1.0, 99.0)  # accuracies in percent
        self._valid = np.clip(self._test + rng.normal(scale=4.0, size=N_ARCHS), 1.0, 99.0)
        self._time = rng.uniform(2.0, 8.0, size=N_ARCHS)

    @property
    def tasks(self) -> dict[str, Task]:
        return TASKS

    def check_query(self, dataset: Any, split: Any, fidelity: Any) -> tuple[str, str, int]:
        """``(dataset, split, fidelity)`` if the tables hold them, else one clear error."""
        t = TASKS["toy"]
        if dataset != "toy" or split not in (t.search_split, t.report_split) or fidelity not in t.fidelities:
            raise ConfigError(f"the toy benchmark holds dataset 'toy', splits x-valid@1 and x-test@10; got "
                              f"{dataset!r} {split!r} @ {fidelity!r}")
        if (split == t.search_split) != (fidelity == t.search_fidelity):
            raise ConfigError(f"the toy benchmark holds x-valid at epoch 1 and x-test at epoch 10, not {split} at "
                              f"epoch {fidelity}")
        return dataset, split, int(fidelity)

    def has(self, metric: str, dataset: str, split: str, fidelity: int, per_seed: bool = False) -> bool:
        try:
            self.check_query(dataset, split, fidelity)
        except ConfigError:
            return False
        return metric == "acc" and not per_seed

    def accuracy(self, archs: Any, *, dataset: str, split: str, fidelity: int, seed: Any = "mean") -> np.ndarray:
        _, split, _ = self.check_query(dataset, split, fidelity)
        if seed != "mean":
            raise ConfigError("the toy benchmark holds seed means only (signal 'mean')")
        values = self._valid if split == "x-valid" else self._test
        return values[np.asarray(archs, dtype=np.int64)]

    def cost(self, archs: Any, *, dataset: str, fidelity: int) -> np.ndarray:
        if dataset != "toy" or fidelity not in TASKS["toy"].fidelities:
            raise ConfigError(f"the toy benchmark has costs of dataset 'toy' at epochs 1 and 10, got {dataset!r} "
                              f"@ {fidelity!r}")
        return self._time[np.asarray(archs, dtype=np.int64)] * int(fidelity)


def load(data_dir: Any = None) -> ToyBenchmark:
    """The factory ``nabench.load("toy", data_dir)`` calls (the toy tables need no files)."""
    return ToyBenchmark()


#: What the entry point names: the benchmark's name, factory, tasks, search presets and --space aliases.
PLUGIN = BenchmarkPlugin(
    name="toy", factory=load, tasks=TASKS,
    protocols={"toy": Preset(Budget("queries", 40.0, "drop")), "toy-time": Preset(Budget("time", 200.0, "drop"))},
    space_aliases=("chain",),
)
