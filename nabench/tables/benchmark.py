"""The query API of the tabular benchmarks: one object answering vectorized lookups.

Every accuracy query names its dataset, split and fidelity; nothing defaults, because mixing up
``cifar10-valid`` / ``cifar10`` or valid / test splits is the commonest error in NAS benchmarking.
Answers are plain numpy arrays gathered from the loaded store by fancy indexing (no pandas, no
Python loops over architectures).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Union

import numpy as np

from nabench.errors import ConfigError, NotAvailableError
from nabench.spaces import nats_sss, nb201
from nabench.tables import schema
from nabench.tables.schema import key
from nabench.tables.store import Store

Seed = Union[str, int, np.random.Generator]


class TabularBenchmark:
    """Lookups shared by every tabular benchmark; subclasses say how architectures are named."""

    name: str = ""
    fidelities: tuple[int, ...] = ()
    #: length of the tuple form of one architecture (op indices, channel counts)
    tuple_len: int = 0

    def __init__(self, store: Store, order: Any) -> None:
        self._store = store
        self._a = store.arrays
        self.order = order
        self.n_archs = int(order.n_archs)
        present = self._a.get("present")
        self._present = np.ones(self.n_archs, dtype=bool) if present is None else present.astype(bool)

    # ------------------------------------------------------------------ identity
    @property
    def path(self) -> Path:
        """Folder of the loaded store."""
        return self._store.path

    @property
    def checksum(self) -> str:
        """Identifies the installed store's content; goes into run manifests."""
        return self._store.checksum

    @property
    def meta(self) -> dict:
        """The store's description (sources, provenance per array, notes)."""
        return self._store.meta

    def index(self, arch: str | tuple[int, ...]) -> int:
        """Official index of an architecture string or op tuple."""
        return self.order.index(arch)

    def arch_str(self, index: int) -> str:
        """Official string of an official index."""
        return self.order.str(index)

    def resolve(self, archs: Any) -> np.ndarray:
        """Official indices (int64 array) of indices, strings or an ``(n, 6)`` op array."""
        return np.atleast_1d(self.order.resolve(archs))

    @property
    def n_present(self) -> int:
        """Number of architectures the store holds (all of them, unless imported from a partial source)."""
        return int(self._present.sum())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.path}, {self.n_present} archs, checksum {self.checksum})"

    # ------------------------------------------------------------------ what is stored
    def has(self, metric: str, dataset: str, split: str, fidelity: int, per_seed: bool = False) -> bool:
        """Whether the store holds this quantity (after validating the names)."""
        ds, sp, fid = self.check_query(dataset, split, fidelity)
        return key(metric, ds, sp, fid, "seed" if per_seed else "mean") in self._a

    def available(self) -> list[tuple[str, str, str, int, str]]:
        """All (metric, dataset, split, fidelity, 'mean'|'seed') combinations the store holds."""
        out = []
        for k in self._a:
            parts = k.split(".")
            if parts[0] in schema.METRICS and len(parts) == 5:
                out.append((parts[0], parts[1], parts[2], int(parts[3]), parts[4]))
        return sorted(out)

    def seeds(self, *, dataset: str, fidelity: int) -> tuple[int, ...]:
        """The seed values behind the per-seed columns at this dataset and fidelity."""
        ds, fid = schema.check_dataset(dataset), schema.check_fidelity(fidelity, self.fidelities)
        stored = self._a.get(key("seeds", ds, fid))
        if stored is not None:
            return tuple(int(s) for s in stored)
        return self._default_seeds(fid)

    def _default_seeds(self, fidelity: int) -> tuple[int, ...]:
        return ()

    def n_seeds(self, *, dataset: str, fidelity: int) -> np.ndarray:
        """Number of training seeds behind each architecture's mean."""
        ds, fid = schema.check_dataset(dataset), schema.check_fidelity(fidelity, self.fidelities)
        return self._need(key("nseeds", ds, fid), f"seed counts for {ds} at fidelity {fid}")

    # ------------------------------------------------------------------ queries
    def accuracy(self, archs: Any, *, dataset: str, split: str, fidelity: int, seed: Seed = "mean") -> np.ndarray:
        """Top-1 accuracy (percent) at the last epoch of the ``fidelity``-epoch schedule.

        ``seed``: ``"mean"`` (over the architecture's seeds), an official seed (777, 888, 999), or a
        ``numpy.random.Generator`` drawing one of each architecture's seeds per query.
        """
        return self._metric("acc", archs, dataset, split, fidelity, seed)

    def loss(self, archs: Any, *, dataset: str, split: str, fidelity: int, seed: Seed = "mean") -> np.ndarray:
        """Cross-entropy loss at the last epoch (stored by official imports only)."""
        return self._metric("loss", archs, dataset, split, fidelity, seed)

    def curve(self, archs: Any, *, dataset: str, split: str, fidelity: int, seed: int | str = "mean",
              metric: str = "acc") -> np.ndarray:
        """Per-epoch values, ``(n, epochs)`` (official imports only): a seed value or the seed mean."""
        ds, sp, fid = self.check_query(dataset, split, fidelity)
        if metric not in schema.METRICS:
            raise ConfigError(f"unknown metric {metric!r}; valid metrics are {', '.join(schema.METRICS)}")
        curves = self._store.curves()
        k = key("curve", metric, ds, sp, fid)
        if k not in curves:
            raise NotAvailableError(
                f"this store has no per-epoch {metric} curves for {ds} {sp} at fidelity {fid}; curves come from "
                "official files: `nabench data import PATH` with a NATS-Bench tss folder or NAS-Bench-201 .pth"
            )
        idx, scalar = self._indices(archs)
        pos = np.full(self.n_archs, -1, dtype=np.int64)
        rows = curves["rows"]
        pos[rows] = np.arange(len(rows))
        self._check_nan(np.where(pos[idx] < 0, np.nan, 0.0), idx, f"{metric} curves of {ds} {sp}")
        data = curves[k][pos[idx]]  # (n, seeds, epochs)
        if seed == "mean":
            with np.errstate(invalid="ignore"):
                out = np.nanmean(data, axis=1)
        else:
            out = data[:, self._seed_column(ds, fid, seed), :]
        self._check_nan(np.where(np.isnan(out).all(axis=-1), np.nan, 0.0), idx, f"{metric} curves of {ds} {sp}")
        return out[0] if scalar else out

    def cost(self, archs: Any, *, dataset: str, fidelity: int) -> np.ndarray:
        """Simulated training time in seconds of the ``fidelity``-epoch schedule."""
        ds, fid = schema.check_dataset(dataset), schema.check_fidelity(fidelity, self.fidelities)
        return self._lookup(key("time", ds, fid), archs, f"training time of {ds} at fidelity {fid}")

    def params(self, archs: Any, *, dataset: str) -> np.ndarray:
        """Parameter count in millions."""
        ds = schema.check_dataset(dataset)
        return self._lookup(key("params", ds), archs, f"parameter counts of {ds}")

    def flops(self, archs: Any, *, dataset: str) -> np.ndarray:
        """FLOPs in millions (NATS-Bench convention)."""
        ds = schema.check_dataset(dataset)
        return self._lookup(key("flops", ds), archs, f"FLOPs of {ds}")

    def latency(self, archs: Any, *, dataset: str) -> np.ndarray:
        """Inference latency in seconds as recorded by NATS-Bench."""
        ds = schema.check_dataset(dataset)
        return self._lookup(key("latency", ds), archs, f"latency of {ds}")

    def devices(self) -> tuple[str, ...]:
        """Devices of the optional hardware-latency table (HELP, 27 devices)."""
        return tuple(sorted(k.split(".", 1)[1] for k in self._a if k.startswith("device_latency.")))

    def device_latency(self, archs: Any, *, device: str) -> np.ndarray:
        """Latency in milliseconds on one device of the optional HELP table (CIFAR-10 input)."""
        devices = self.devices()
        if not devices:
            raise NotAvailableError(
                "this store has no hardware-latency table; add it with `nabench data import "
                "nb201_latency_help.csv.gz` (or a folder of HELP <device>.pt files)"
            )
        if device not in devices:
            raise ConfigError(f"unknown device {device!r}; the store has {', '.join(devices)}")
        return self._lookup(key("device_latency", device), archs, f"latency on {device}")

    # ------------------------------------------------------------------ internals
    def check_query(self, dataset: Any, split: Any, fidelity: Any) -> tuple[str, str, int]:
        """Validate (dataset, split, fidelity) for this benchmark; returns them normalized."""
        ds = schema.check_dataset(dataset)
        return ds, schema.check_split(ds, split), schema.check_fidelity(fidelity, self.fidelities)

    def _indices(self, archs: Any) -> tuple[np.ndarray, bool]:
        if isinstance(archs, (int, np.integer)) and 0 <= archs < self.n_archs:  # fast path for one index
            return np.array([archs], dtype=np.int64), True
        if isinstance(archs, (int, np.integer, str)):
            return np.atleast_1d(self.order.resolve(archs)).astype(np.int64), True
        if isinstance(archs, tuple) and len(archs) == self.tuple_len and all(
                isinstance(o, (int, np.integer)) for o in archs):
            return np.array([self.order.index(archs)], dtype=np.int64), True
        idx = self.order.resolve(archs)
        return np.atleast_1d(idx), np.ndim(idx) == 0

    def _need(self, k: str, what: str) -> np.ndarray:
        try:
            return self._a[k]
        except KeyError:
            raise NotAvailableError(f"this store has no {what}{self._hint()}") from None

    def _hint(self) -> str:
        return "" if self._store.meta.get("made_by", "").startswith("import") else (
            "; see `nabench data info` for what is installed"
        )

    def _lookup(self, k: str, archs: Any, what: str) -> np.ndarray:
        arr = self._need(k, what)
        idx, scalar = self._indices(archs)
        out = arr[idx]
        self._check_nan(out, idx, what)
        return out[0] if scalar else out

    def _seed_column(self, ds: str, fid: int, seed: int) -> int:
        seeds = self.seeds(dataset=ds, fidelity=fid)
        try:
            return seeds.index(int(seed))
        except (ValueError, TypeError):
            raise ConfigError(
                f"seed {seed!r} was not trained for {ds} at fidelity {fid}; the seeds are "
                f"{', '.join(map(str, seeds)) or 'none (only seed means are stored)'}; or use seed='mean' or a "
                "numpy Generator"
            ) from None

    def _metric(self, metric: str, archs: Any, dataset: str, split: str, fidelity: int, seed: Seed) -> np.ndarray:
        ds, sp, fid = self.check_query(dataset, split, fidelity)
        what = f"{'accuracy' if metric == 'acc' else 'loss'} for {ds} split {sp} at fidelity {fid}"
        if isinstance(seed, str):
            if seed != "mean":
                raise ConfigError(f"seed must be 'mean', a seed value or a numpy Generator, got {seed!r}")
            return self._lookup(key(metric, ds, sp, fid, "mean"), archs, what)
        if not self.has(metric, ds, sp, fid, per_seed=True):
            if key(metric, ds, sp, fid, "mean") in self._a:
                raise NotAvailableError(
                    f"this store holds only seed means of the {what} (no per-seed values); use seed='mean'"
                )
            self._need(key(metric, ds, sp, fid, "mean"), what)
        per = self._a[key(metric, ds, sp, fid, "seed")]
        idx, scalar = self._indices(archs)
        rows = per[idx]
        if isinstance(seed, np.random.Generator):
            valid = ~np.isnan(rows)
            counts = valid.sum(axis=1)
            self._check_nan(np.where(counts > 0, 0.0, np.nan), idx, what)
            pick = (seed.random(len(idx)) * counts).astype(np.int64)
            col = np.argmax(np.cumsum(valid, axis=1) > pick[:, None], axis=1)
            out = rows[np.arange(len(idx)), col]
        else:
            out = rows[:, self._seed_column(ds, fid, seed)]
            if np.isnan(out).any():
                bad = int(idx[np.flatnonzero(np.isnan(out))[0]])
                raise NotAvailableError(f"architecture {bad} was not trained with seed {seed} for {ds} at fidelity "
                                        f"{fid} (two-seed cells have 777 and 888); use seed='mean' or a Generator")
        return out[0] if scalar else out

    def _check_nan(self, out: np.ndarray, idx: np.ndarray, what: str) -> None:
        if out.dtype.kind == "f" and np.isnan(out).any():
            bad = idx[np.flatnonzero(np.isnan(out))]
            missing = ~self._present[bad]
            reason = (f"architecture {int(bad[missing][0])} is not in this store (it holds "
                      f"{self.n_present} architectures)" if missing.any()
                      else f"architecture {int(bad[0])} has no value")
            raise NotAvailableError(f"{reason}: no {what}")


class NB201Benchmark(TabularBenchmark):
    """NAS-Bench-201 / NATS-Bench topology tables (see DEVELOPERS.md for the contract)."""

    name = "nb201"
    fidelities = schema.FIDELITIES
    tuple_len = nb201.N_EDGES

    def __init__(self, store: Store) -> None:
        super().__init__(store, nb201.OfficialOrder(store.arrays["ops"]))

    def _default_seeds(self, fidelity: int) -> tuple[int, ...]:
        return schema.SEEDS_200 if fidelity == 200 else ()


class SizeBenchmark(TabularBenchmark):
    """NATS-Bench size search space (channel counts), from an official sss import."""

    name = "nats-sss"
    fidelities = (1, 12, 90)
    tuple_len = nats_sss.N_LAYERS

    def __init__(self, store: Store) -> None:
        order = nats_sss.ChannelOrder()
        if not np.array_equal(store.arrays["channels"], order.channels):
            from nabench.errors import IntegrityError

            raise IntegrityError(f"the size-space store at {store.path} lists its architectures in an unexpected "
                                 "order; import the official folder again")
        super().__init__(store, order)
