"""The query API of the tabular benchmarks: one object answering vectorized lookups.

Every accuracy query names its dataset, split and fidelity; nothing defaults, because mixing up
``cifar10-valid`` / ``cifar10`` or valid / test splits is the commonest error in NAS benchmarking.
Answers are plain numpy arrays gathered from the loaded store by fancy indexing (no pandas, no
Python loops over architectures).

Accepted architecture arguments (``archs`` of every query; one resolver, :meth:`TabularBenchmark.resolve_archs`):

* **one architecture**, answered by a scalar:

  - an official index: a Python ``int`` or numpy integer in ``0 .. n_archs - 1``;
  - an official string (ASCII; ``|op~0|+|op~0|op~1|+|...|`` for NB201, ``"8:16:24:32:64"`` for the size space);
  - a ``tuple`` of ``tuple_len`` integers: op indices per edge (NB201) or channel counts (size space).
    A tuple is always *one* architecture; pass a list or array for many indices.

* **many architectures**, answered by a 1-D array in the same order:

  - a ``list`` or 1-D integer numpy array of official indices (``range`` and pandas Series work too);
  - a ``list`` (or 1-D array) of official strings;
  - a ``list`` of tuples, or a 2-D integer array of shape ``(n, tuple_len)``: one op tuple per row.

Everything else is refused with :class:`~nabench.errors.ConfigError` naming what was given: bools
(``True`` is not index 1), floats even when integral (``3.0``), NaN, negative indices (never counted
from the end), indices past the last, integers too large for int64, strings with non-ASCII
characters (unusual Unicode digits), other array shapes (a 2-D index array would otherwise select
along the wrong axis), mixed lists and other types. Seeds (``seed=``) are ``"mean"``, a trained seed
value (an integer: ``777.9`` is refused, not truncated) or a ``numpy.random.Generator``.
"""

from __future__ import annotations

import numbers
from pathlib import Path
from typing import Any, Union

import numpy as np

from nabench import validate
from nabench.errors import ConfigError, IntegrityError, NotAvailableError
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
    #: what the entries of an architecture tuple are (for error messages)
    tuple_meaning: str = "values"

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
        """Official index of one architecture (a string, a tuple, or an index), through the resolver."""
        idx, one = self.resolve_archs(arch)
        if not one:
            raise nb201.ArchError(f"index() takes one architecture, got {_short(arch)}; use resolve() for many")
        return int(idx[0])

    def arch_str(self, index: int) -> str:
        """Official string of an official index."""
        return self.order.str(self._one_index(index))

    def resolve(self, archs: Any) -> np.ndarray:
        """Official indices (1-D int64 array) of any accepted architecture argument (module docstring)."""
        return self.resolve_archs(archs)[0]

    def resolve_archs(self, archs: Any) -> tuple[np.ndarray, bool]:
        """The one resolver of architecture arguments: (official indices as a 1-D int64 array, whether
        one architecture was given). The accepted forms are listed in the module docstring; anything else
        raises :class:`~nabench.errors.ConfigError` (an :class:`~nabench.spaces.nb201.ArchError`)."""
        if type(archs) is int and 0 <= archs < self.n_archs:  # fast path for one index
            return np.array([archs], dtype=np.int64), True
        if isinstance(archs, (numbers.Number, np.bool_)):  # other ints, bools, floats, NaN: validated
            return np.array([self._one_index(archs)], dtype=np.int64), True
        if isinstance(archs, str):
            return np.array([self._one_string(archs)], dtype=np.int64), True
        if isinstance(archs, tuple):
            return np.array([self._one_tuple(archs)], dtype=np.int64), True
        if isinstance(archs, list):
            return self._from_list(archs), False
        if isinstance(archs, (np.ndarray, range)) or hasattr(archs, "__array__"):
            a = np.asarray(archs)
            if a.ndim == 0 and a.dtype.kind in "biufcU":  # a 0-d array is its one value (a numpy scalar or str)
                return self.resolve_archs(a[()])
            if a.ndim == 0:
                return self._refuse(archs)
            return self._from_array(a), False
        return self._refuse(archs)

    def _refuse(self, archs: Any) -> Any:
        raise nb201.ArchError(
            f"cannot read {_short(archs)} ({type(archs).__name__}) as architectures: give an index "
            f"(0..{self.n_archs - 1}), an official string, a tuple of {self.tuple_len} integers, or a list / 1-D "
            f"array of indices or strings, or an (n, {self.tuple_len}) integer array")

    def _one_index(self, value: Any, where: str = "architecture index") -> int:
        if isinstance(value, (bool, np.bool_)):
            raise nb201.ArchError(f"{where} must be an integer, got {value!r} (bool); True is not index 1")
        v = validate.integer(where, value)
        if not 0 <= v < self.n_archs:
            self._out_of_range(v)
        return v

    def _out_of_range(self, v: int) -> None:
        raise nb201.ArchError(f"architecture index {v} is out of range; indices are 0..{self.n_archs - 1}"
                              + (" (negative indices are not counted from the end)" if v < 0 else ""))

    def _one_string(self, value: str) -> int:
        if not value.isascii():
            raise nb201.ArchError(f"architecture string {_short(value)} holds non-ASCII characters; write it with "
                                  "ASCII letters and digits (unusual Unicode digits are not read as numbers)")
        return int(self.order.index(value))

    def _one_tuple(self, value: tuple | list) -> int:
        if len(value) != self.tuple_len:
            raise nb201.ArchError(
                f"a tuple names one architecture by its {self.tuple_len} {self.tuple_meaning}, got {len(value)} "
                "values; for many official indices pass a list or a 1-D array")
        items = [validate.integer(f"entry {i} of the architecture tuple", v) for i, v in enumerate(value)]
        return int(self._rows_to_index(np.array([items], dtype=np.int64))[0])

    def _from_list(self, archs: list) -> np.ndarray:
        if not archs:
            return np.zeros(0, dtype=np.int64)
        if all(isinstance(x, str) for x in archs):
            return np.array([self._one_string(x) for x in archs], dtype=np.int64)
        if all(isinstance(x, (tuple, list)) for x in archs):
            return np.array([self._one_tuple(x) for x in archs], dtype=np.int64)
        if all(type(x) is int for x in archs):  # fast path: plain ints (bools are not of type int)
            try:
                return self._from_array(np.array(archs, dtype=np.int64))
            except OverflowError:
                pass
        return np.array([self._one_index(x, f"architecture index at position {i} of the list")
                         for i, x in enumerate(archs)], dtype=np.int64)

    def _from_array(self, a: np.ndarray) -> np.ndarray:
        if a.size == 0 and a.ndim == 1:
            return np.zeros(0, dtype=np.int64)
        if a.dtype.kind in "UO" and a.ndim == 1:
            return self._from_list(list(a))
        if a.dtype.kind not in "iu":
            raise nb201.ArchError(f"architecture indices must be integers, got an array of dtype {a.dtype}; "
                                  "convert with .astype(int) only if every value is a whole number")
        if a.ndim == 2 and a.shape[1] == self.tuple_len:
            return self._rows_to_index(a)
        if a.ndim != 1:
            raise nb201.ArchError(
                f"architecture arrays must be 1-D (official indices) or (n, {self.tuple_len}) "
                f"({self.tuple_meaning} per row), got shape {a.shape}; flatten it (.ravel()) and reshape the answer")
        bad = (a < 0) | (a >= self.n_archs)
        if bad.any():
            self._out_of_range(int(a[bad][0]))
        return a.astype(np.int64, copy=False)

    def _rows_to_index(self, rows: np.ndarray) -> np.ndarray:
        """Official indices of an ``(n, tuple_len)`` integer array (subclasses)."""
        raise NotImplementedError

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
        seed = self._seed_arg(seed, generator=False)
        idx, scalar = self.resolve_archs(archs)
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
        validate.string("device", device)
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
        idx, scalar = self.resolve_archs(archs)
        out = arr[idx]
        self._check_nan(out, idx, what)
        return out[0] if scalar else out

    @staticmethod
    def _seed_arg(seed: Any, generator: bool = True) -> "str | int | np.random.Generator":
        """``"mean"``, a numpy Generator (where ``generator``), or an integer seed value (validated)."""
        if isinstance(seed, str):
            if seed != "mean":
                raise ConfigError(f"seed must be 'mean', a seed value or a numpy Generator, got {seed!r}")
            return seed
        if isinstance(seed, np.random.Generator):
            if not generator:
                raise ConfigError("curves take seed='mean' or a seed value, not a numpy Generator")
            return seed
        return validate.integer("seed", seed, minimum=0, maximum=validate.MAX_SEED)

    def _seed_column(self, ds: str, fid: int, seed: int) -> int:
        seeds = self.seeds(dataset=ds, fidelity=fid)
        try:
            return seeds.index(seed)
        except ValueError:
            raise ConfigError(
                f"seed {seed!r} was not trained for {ds} at fidelity {fid}; the seeds are "
                f"{', '.join(map(str, seeds)) or 'none (only seed means are stored)'}; or use seed='mean' or a "
                "numpy Generator"
            ) from None

    def _metric(self, metric: str, archs: Any, dataset: str, split: str, fidelity: int, seed: Seed) -> np.ndarray:
        ds, sp, fid = self.check_query(dataset, split, fidelity)
        what = f"{'accuracy' if metric == 'acc' else 'loss'} for {ds} split {sp} at fidelity {fid}"
        if not (type(seed) is str and seed == "mean"):  # the common case skips the call
            seed = self._seed_arg(seed)
        if isinstance(seed, str):
            return self._lookup(key(metric, ds, sp, fid, "mean"), archs, what)
        if not self.has(metric, ds, sp, fid, per_seed=True):
            if key(metric, ds, sp, fid, "mean") in self._a:
                raise NotAvailableError(
                    f"this store holds only seed means of the {what} (no per-seed values); use seed='mean'"
                )
            self._need(key(metric, ds, sp, fid, "mean"), what)
        per = self._a[key(metric, ds, sp, fid, "seed")]
        idx, scalar = self.resolve_archs(archs)
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

    tuple_meaning = f"op indices (0..{nb201.N_OPS - 1}, one per edge)"

    def __init__(self, store: Store) -> None:
        if "ops" not in store.arrays:
            raise IntegrityError(f"the store at {store.path} has no architecture list ('ops'); run "
                                 "`nabench data fetch --force` to rebuild it")
        super().__init__(store, nb201.OfficialOrder(store.arrays["ops"]))
        from nabench.spaces.base import TASKS  # the search-space protocol object and the task table (issue 9)

        self.space, self.tasks = nb201.NB201Space(self.order), TASKS[self.name]

    def _rows_to_index(self, rows: np.ndarray) -> np.ndarray:
        return self.order.index_of_code[nb201.codes_of(rows)].astype(np.int64)

    def _default_seeds(self, fidelity: int) -> tuple[int, ...]:
        return schema.SEEDS_200 if fidelity == 200 else ()


class SizeBenchmark(TabularBenchmark):
    """NATS-Bench size search space (channel counts), from an official sss import."""

    name = "nats-sss"
    fidelities = (1, 12, 90)
    tuple_len = nats_sss.N_LAYERS

    tuple_meaning = f"channel counts (each one of {', '.join(map(str, nats_sss.CHANNELS))})"

    def _rows_to_index(self, rows: np.ndarray) -> np.ndarray:
        digit = np.full(max(nats_sss.CHANNELS) + 1, -1, dtype=np.int64)
        digit[list(nats_sss.CHANNELS)] = np.arange(len(nats_sss.CHANNELS))
        ok = (rows >= 0) & (rows < len(digit))
        d = np.where(ok, digit[np.where(ok, rows, 0)], -1)
        if (d < 0).any():
            bad = rows[d < 0][0]
            raise nb201.ArchError(f"channel count {int(bad)} is not one of {nats_sss.CHANNELS}")
        return (d * (len(nats_sss.CHANNELS) ** np.arange(nats_sss.N_LAYERS - 1, -1, -1))).sum(axis=1)

    def __init__(self, store: Store) -> None:
        order = nats_sss.ChannelOrder()
        if not np.array_equal(store.arrays.get("channels"), order.channels):
            raise IntegrityError(f"the size-space store at {store.path} lists its architectures in an unexpected "
                                 "order; import the official folder again")
        super().__init__(store, order)
        from nabench.spaces.base import TASKS  # the search-space protocol object and the task table (issue 9)

        self.space, self.tasks = nats_sss.SizeSpace(), TASKS[self.name]


def _short(value: Any, limit: int = 80) -> str:
    """repr of a user value, cut to one short line (a huge array must not flood the message)."""
    r = repr(value)
    r = " ".join(r.split())
    return r if len(r) <= limit else r[: limit - 3] + "..."
