"""Import official benchmark files into the nabench store, through the official packages.

* A NATS-Bench topology folder (``NATS-tss-v1_0-3ffb9-simple``: one ``NNNNNN.pickle.pbz2`` per
  architecture plus ``meta.pickle.pbz2``) into the ``nb201`` store; or a size-space folder
  (``NATS-sss-v1_0-50262-simple``, fidelities 1, 12 and 90 epochs) into the ``nats-sss`` store
  (``nabench.load("nats-sss")``). The records are turned into ``nats_bench``'s own ``ArchResults``.
* A NAS-Bench-201 file (``NAS-Bench-201-v1_[01]-*.pth``), read with ``nas_201_api.NASBench201API``.

No code runs from a data file (decision, issue 12). Files named like a benchmark are what users
download from third-party mirrors, and a pickle can name any callable. ``nats_bench`` and
``nas_201_api`` would run plain ``pickle.load`` / ``torch.load(weights_only=False)``, so nabench
unpickles the files itself and hands the official classes plain data:

* ``.pickle.pbz2`` records go through :mod:`nabench.tables.unpickle`, which resolves only the globals
  an official record holds (``collections.OrderedDict``, ``numpy.dtype``, numpy's scalar and array
  reconstructors) and refuses any other with one line; the decompressed
  size is bounded (:data:`MAX_RECORD_BYTES`), so a bz2 bomb cannot exhaust memory.
* ``.pth`` / ``.pt`` files go through ``torch.load(weights_only=True)`` with the same numpy globals
  allowed for that call only (``torch.serialization.safe_globals``).

Loading the store afterwards never unpickles anything.
* A hardware-latency table (HELP's folder of ``<device>.pt`` lists, or its CSV with an ``arch_index``
  column and ``<device>_ms`` columns), added to an installed store.

Everything users need that the official records hold is kept: per-seed final values, their seed
means, losses, the per-epoch curves of every split and of training (``curves.npz``), training and
evaluation times, parameters, FLOPs and latency. Architectures absent from the source are marked
absent (queries for them raise :class:`~nabench.errors.NotAvailableError`).
"""

from __future__ import annotations

import bz2
import os
import re
import warnings
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from nabench.errors import ConfigError, DataNotFoundError, IntegrityError
from nabench.spaces import nats_sss, nb201
from nabench.tables import paths, store, unpickle
from nabench.tables.schema import DATASETS, key

_ARCH_FILE = re.compile(r"^([0-9]{6})\.pickle\.pbz2$")
#: Largest decompressed record nabench unpickles (official ones are below 2 MB).
MAX_RECORD_BYTES = 256 * 2**20
_REFETCH = "download it again from the official source (files from other mirrors can be damaged or unsafe)"


def _refusal(path: Path, what: str) -> IntegrityError:
    return IntegrityError(f"refused {path}: it asks to run {what}, which no official benchmark file holds, so "
                          f"nothing from it was run or imported; {_REFETCH}")


def load_record(path: Path) -> Any:
    """Unpickle one NATS-Bench ``.pickle.pbz2`` record through the allow-list (module docstring)."""
    try:
        with bz2.open(path, "rb") as f:
            raw = f.read(MAX_RECORD_BYTES + 1)
    except (OSError, EOFError, ValueError) as e:
        raise IntegrityError(f"cannot read the NATS-Bench file {path} ({type(e).__name__}); it is corrupt or "
                             f"truncated: {_REFETCH}") from None
    if len(raw) > MAX_RECORD_BYTES:
        raise IntegrityError(f"{path} decompresses to more than {MAX_RECORD_BYTES >> 20} MB, far more than an "
                             f"official record; {_REFETCH}")
    try:
        return unpickle.loads(raw)
    except unpickle.Refused as e:
        raise _refusal(path, str(e)) from None
    except Exception as e:  # noqa: BLE001 - any failure to unpickle plain data means a bad file
        raise IntegrityError(f"cannot read the NATS-Bench file {path} ({type(e).__name__}); it is corrupt or "
                             f"truncated: {_REFETCH}") from None


def load_torch(path: Path, what: str) -> Any:
    """:func:`nabench.torchfile.load` with the numpy globals of official files allowed for this call.

    The error names the file and the problem only: torch's own advice (re-run with ``weights_only=False``,
    which would run code from the file) is never passed on.
    """
    from nabench import torchfile

    _require("torch", "torch")
    allowed = [(fn, name) for name, fn in unpickle.numpy_globals().items()]
    try:
        return torchfile.load(path, what=what, fix=_REFETCH, allowed=allowed)
    except torchfile.Refused as e:
        raise _refusal(path, e.name) from None


class _Builder:
    """Accumulates official per-run records into full-size arrays (absent architectures stay NaN)."""

    def __init__(self, ids: dict[str, np.ndarray], n_archs: int = nb201.N_ARCHS) -> None:
        self.ids = ids  # the architecture list: {"ops": ...} (topology) or {"channels": ...} (size space)
        self.n = n_archs
        self.present = np.zeros(n_archs, dtype=bool)
        # curves hold only the present architectures (row i is the i-th present index, see "rows")
        # array name -> (kind, dataset, fidelity, {arch: {seed: value}}); kind is 'final', 'curve' or 'params'
        self.runs: dict[str, tuple[str, str, int, dict[int, dict[int, Any]]]] = {}
        self.scalars: dict[str, dict[int, list[float]]] = {}
        self.seeds: dict[tuple[str, int], set[int]] = {}

    def _put(self, kind: str, name: str, ds: str, fid: int, arch: int, seed: int, value: Any) -> None:
        self.runs.setdefault(name, (kind, ds, fid, {}))[3].setdefault(arch, {})[seed] = value

    def _scalar(self, name: str, arch: int, value: float) -> None:
        self.scalars.setdefault(name, {}).setdefault(arch, []).append(float(value))

    def add_run(self, arch: int, ds: str, fid: int, seed: int, run: Any) -> None:
        """One training run (an official ``ResultsCount``)."""
        if isinstance(arch, bool) or not isinstance(arch, (int, np.integer)) or not 0 <= arch < self.n:
            raise IntegrityError(f"the official file names architecture {arch!r}, outside 0..{self.n - 1}")
        self.present[arch] = True
        self.seeds.setdefault((ds, fid), set()).add(seed)
        epochs = int(run.epochs)
        series = {}
        for split in run.get_eval_set():
            series[split] = ([run.eval_acc1es.get(f"{split}@{e}", np.nan) for e in range(epochs)],
                             [run.eval_losses.get(f"{split}@{e}", np.nan) for e in range(epochs)])
            times = [run.eval_times.get(f"{split}@{e}") for e in range(epochs)]
            if all(t is not None for t in times):
                self._scalar(key("evaltime", ds, split, fid), arch, float(np.mean(times)))
        series["train"] = ([run.train_acc1es[e] for e in range(epochs)], [run.train_losses[e] for e in range(epochs)])
        for split, (accs, losses) in series.items():
            for metric, values in (("acc", accs), ("loss", losses)):
                self._put("final", key(metric, ds, split, fid), ds, fid, arch, seed, values[-1])
                self._put("curve", key("curve", metric, ds, split, fid), ds, fid, arch, seed, values)
        if run.train_times is not None:
            self._scalar(key("time", ds, fid), arch, float(sum(run.train_times.values())))
        self._put("params", key("params", ds, "seed"), ds, 200, arch, seed, float(run.params))
        self._scalar(key("params", ds), arch, float(run.params))
        self._scalar(key("flops", ds), arch, float(run.flop))
        if run.latency:
            self._scalar(key("latency", ds), arch, float(np.mean(run.latency)))

    def finish(self) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, str]]:
        """(arrays, curves, provenance) in the store's layout."""
        n = self.n
        arrays: dict[str, np.ndarray] = {**self.ids, "present": self.present}
        curves: dict[str, np.ndarray] = {}
        prov = {k: "meta_archs of the official file" for k in self.ids}
        prov["present"] = "architectures the official file holds"
        seeds = {dk: sorted(s) for dk, s in self.seeds.items()}
        rows = np.flatnonzero(self.present)
        pos = np.full(n, -1, dtype=np.int64)
        pos[rows] = np.arange(len(rows))
        curves["rows"] = rows
        for (ds, fid), values in seeds.items():
            arrays[key("seeds", ds, fid)] = np.array(values, dtype=np.int64)
        for name, (kind, ds, fid, data) in self.runs.items():
            cols = seeds[(ds, fid)] if kind != "params" else sorted({s for r in data.values() for s in r})
            col = {s: j for j, s in enumerate(cols)}
            if kind == "curve":
                epochs = max(len(v) for r in data.values() for v in r.values())
                arr = np.full((len(rows), len(cols), epochs), np.nan, dtype=np.float32)
            else:
                arr = np.full((n, len(cols)), np.nan)
            for a, r in data.items():
                for s, v in r.items():
                    arr[pos[a] if kind == "curve" else a, col[s]] = v
            if kind == "curve":
                curves[name], prov[name] = arr, f"official per-epoch record, seeds {cols}"
            elif kind == "params":
                arrays[name], prov[name] = arr, f"official params per seed {cols}"
            else:
                arrays[f"{name}.seed"] = arr
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    arrays[f"{name}.mean"] = np.nanmean(arr, axis=1)
                arrays[key("nseeds", ds, fid)] = (~np.isnan(arr)).sum(1).astype(np.int8)
                prov[f"{name}.seed"] = f"official record at the last epoch, seeds {cols}"
                prov[f"{name}.mean"] = "mean over the seeds of the official record"
        for name, by_arch in self.scalars.items():
            arr = np.full(n, np.nan)
            for a, values in by_arch.items():
                arr[a] = np.mean(values)
            arrays[name], prov[name] = arr, "official record (mean over runs where they differ)"
        return arrays, curves, prov


def _results(api: Any, arch: int, hp: str) -> Any | None:
    try:
        return api.query_meta_info_by_index(arch, hp)
    except (ValueError, KeyError, AssertionError):
        return None


def _add_results(arch: int, hp: str, results: Any, builder: _Builder) -> None:
    for ds in results.get_dataset_names():
        if ds not in DATASETS:
            continue
        for seed in results.get_dataset_seeds(ds):
            builder.add_run(arch, ds, int(hp), int(seed), results.query(ds, seed))


def _collect(api: Any, archs: Iterable[int], hps: Iterable[str], builder: _Builder) -> None:
    for arch in archs:
        for hp in hps:
            results = _results(api, arch, hp)
            if results is not None:
                _add_results(arch, hp, results, builder)


def _ops_of(meta_archs: list[str]) -> np.ndarray:
    try:
        ops = np.array([nb201.parse(s) for s in meta_archs], dtype=np.uint8)
        nb201.OfficialOrder(ops)
    except nb201.ArchError as e:
        raise IntegrityError(f"the official file's architecture list is not the NAS-Bench-201 space ({e})") from None
    return ops


def _channels_of(meta_archs: list[str]) -> np.ndarray:
    order = nats_sss.ChannelOrder()
    if len(meta_archs) != nats_sss.N_ARCHS or any(order.str(i) != s for i, s in enumerate(meta_archs)):
        raise IntegrityError("the official size-space file lists its architectures in an unexpected order")
    return order.channels


def read_nats(folder: Path, space: str) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, str]]:
    """Arrays of a NATS-Bench folder, ``space`` 'tss' (topology) or 'sss' (size).

    Each file is unpickled through the allow-list (:func:`load_record`) and handed to ``nats_bench``'s
    ``ArchResults`` as plain data, one architecture at a time (memory stays that of one record).
    """
    _require("nats_bench", "nats_bench")
    from nats_bench.api_utils import ArchResults

    n_archs = nb201.N_ARCHS if space == "tss" else nats_sss.N_ARCHS
    names = sorted(int(m.group(1)) for p in folder.iterdir() if (m := _ARCH_FILE.match(p.name)))
    if not names:
        raise DataNotFoundError(f"{folder} holds no NNNNNN.pickle.pbz2 architecture files; point to the "
                                "NATS-tss-v1_0-3ffb9-simple (or NATS-sss-v1_0-50262-simple) folder")
    if names[-1] >= n_archs:
        raise IntegrityError(f"{folder} holds {names[-1]:06d}.pickle.pbz2 but the space has {n_archs} architectures "
                             f"(0..{n_archs - 1}); is it the right folder?")
    meta_file = folder / "meta.pickle.pbz2"
    if not meta_file.is_file():
        raise DataNotFoundError(f"{folder} has no meta.pickle.pbz2; copy the whole official folder")
    meta = load_record(meta_file)
    archs = meta.get("meta_archs") if isinstance(meta, dict) else None
    if not (isinstance(archs, list) and all(isinstance(a, str) for a in archs)):
        raise IntegrityError(f"{meta_file} has no list of architecture strings ('meta_archs'); {_REFETCH}")
    if space == "tss":
        builder = _Builder({"ops": _ops_of(archs)})
        hps: tuple[str, ...] = ("12", "200")
    else:
        builder = _Builder({"channels": _channels_of(archs)}, nats_sss.N_ARCHS)
        hps = ("01", "12", "90")
    for arch in names:
        path = folder / f"{arch:06d}.pickle.pbz2"
        record = load_record(path)
        try:
            if not isinstance(record, dict):
                raise TypeError(type(record).__name__)
            for hp in hps:
                if hp in record:
                    _add_results(arch, hp, ArchResults.create_from_state_dict(dict(record[hp])), builder)
        except (AttributeError, TypeError, KeyError, ValueError, AssertionError, IndexError) as e:
            raise IntegrityError(f"{path} is not an official NATS-Bench record ({type(e).__name__}: "
                                 f"{str(e)[:120]}); {_REFETCH}") from None
    return builder.finish()


def read_nb201_pth(path: Path) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, str]]:
    """Arrays of a NAS-Bench-201 ``.pth`` (loaded as plain data, then through the official ``nas_201_api``)."""
    api_mod = _require("nas_201_api", "nas-bench-201")
    data = load_torch(path, "a NAS-Bench-201 file (NAS-Bench-201-v1_[01]-*.pth)")
    try:
        if not isinstance(data, dict):
            raise TypeError(f"it holds a {type(data).__name__}, not a dict")
        api = api_mod.NASBench201API(data, verbose=False)
        builder = _Builder({"ops": _ops_of(list(api.meta_archs))})
        _collect(api, api.evaluated_indexes, ("12", "200"), builder)
    except (AttributeError, TypeError, KeyError, ValueError, AssertionError, IndexError) as e:
        raise IntegrityError(f"{path} is not a NAS-Bench-201 file ({type(e).__name__}: {str(e)[:120]}); it is "
                             "corrupt, truncated or not NAS-Bench-201-v1_[01]-*.pth") from None
    return builder.finish()


def _require(module: str, package: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise DataNotFoundError(f"importing official files needs the {package!r} package: "
                                "`pip install 'nabench[official,torch]'`") from None


def read_latency_table(path: Path) -> dict[str, np.ndarray]:
    """``device_latency.<device>`` arrays (ms) from HELP's ``<device>.pt`` folder or its CSV.

    The CSV's ``arch_index`` column must hold distinct official indices (0..15624, no negative or
    fractional values: a negative index would otherwise attach to the last architecture); latencies
    must be finite and non-negative, and architectures the table does not list stay absent (NaN).
    """
    out: dict[str, np.ndarray] = {}
    if path.is_dir():
        for f in sorted(path.glob("*.pt")):
            if f.stem == "str_arch2idx":
                continue
            data = load_torch(f, "a list of latencies")
            try:
                values = np.asarray(data, dtype=np.float64)
            except (TypeError, ValueError):
                raise IntegrityError(f"{f} holds a {type(data).__name__}, not a list of latencies") from None
            if values.ndim != 1:
                raise IntegrityError(f"{f} holds an array of shape {values.shape}, not a list of latencies")
            out[f.stem] = values
    else:
        import pandas as pd

        try:
            with warnings.catch_warnings():  # rows longer than the header would silently become an index
                warnings.simplefilter("error", pd.errors.ParserWarning)
                frame = pd.read_csv(path, index_col=False)
        except (ValueError, OSError, EOFError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.ParserWarning) as e:
            raise IntegrityError(f"cannot read {path} as a latency table ({type(e).__name__}: {str(e)[:120]})") from None
        if "arch_index" not in frame.columns:
            raise IntegrityError(f"{path} has no arch_index column; a latency table lists arch_index and "
                                 "<device>_ms columns")
        idx = _arch_index_column(path, frame["arch_index"])
        for col in frame.columns:
            if isinstance(col, str) and col.endswith("_ms"):
                try:
                    column = frame[col].to_numpy(np.float64)
                except (TypeError, ValueError):
                    raise IntegrityError(f"column {col} of {path} holds values that are not numbers") from None
                values = np.full(nb201.N_ARCHS, np.nan)
                values[idx] = column
                out[col[: -len("_ms")]] = values
    if not out:
        raise IntegrityError(f"{path} holds no device latencies (<device>.pt files or <device>_ms columns)")
    for device, values in out.items():
        if values.shape != (nb201.N_ARCHS,):
            raise IntegrityError(f"latency table of {device} has {values.shape[0]} entries, expected {nb201.N_ARCHS}")
        listed = values[~np.isnan(values)]
        if not np.isfinite(listed).all() or (listed < 0).any():
            raise IntegrityError(f"latency table of {device} holds negative or infinite latencies; is it the right file?")
    return {key("device_latency", d): v for d, v in out.items()}


def _arch_index_column(path: Path, column: Any) -> np.ndarray:
    """The ``arch_index`` column as distinct official indices, or a one-line error naming the bad row."""
    values = column.to_numpy()
    if values.dtype.kind not in "iu":
        raise IntegrityError(f"the arch_index column of {path} holds values that are not integers "
                             f"(dtype {values.dtype}); it must list official indices 0..{nb201.N_ARCHS - 1}")
    bad = np.flatnonzero((values < 0) | (values >= nb201.N_ARCHS))
    if bad.size:
        raise IntegrityError(f"row {int(bad[0]) + 1} of {path} has arch_index {int(values[bad[0]])}, outside the official "
                             f"indices 0..{nb201.N_ARCHS - 1}")
    uniq, counts = np.unique(values, return_counts=True)
    if (counts > 1).any():
        raise IntegrityError(f"{path} lists arch_index {int(uniq[counts > 1][0])} more than once")
    return values.astype(np.int64)


def import_path(path: str | os.PathLike[str], data_dir: Path, *, force: bool = False) -> str:
    """Import whatever official file ``path`` is into the store under ``data_dir``; returns a summary."""
    p = Path(path).expanduser()
    if not p.exists():
        raise DataNotFoundError(f"{p} does not exist")
    target = paths.store_dir(data_dir)
    if (p.is_dir() and any(p.glob("*.pt"))) or p.name.endswith((".csv", ".csv.gz")):
        current = store.read(target)
        extra = read_latency_table(p)
        arrays = {**current.arrays, **extra}
        prov = {**current.meta["provenance"], **{k: f"hardware latency (ms) imported from {p.name}" for k in extra}}
        step = f"import: hardware latencies from {p.name}"
        base = current.meta["made_by"].split("; then ")[0]  # re-importing a table does not grow the history
        made_by = f"{base}; then {step}"
        files = sorted(p.glob("*.pt")) if p.is_dir() else [p]
        sources = {**current.meta["sources"], **{f.name: store.sha256_file(f) for f in files}}
        written = store.write(target, arrays, provenance=prov, made_by=made_by, sources=sources,
                              curves=current.curves() or None,
                              notes=current.meta.get("notes", []) + [f"device latencies from {p.name}"])
        return f"added {len(extra)} device latency tables to {written.path} (checksum {written.checksum})"
    if p.is_dir():
        space = "sss" if "sss" in p.name else "tss"
        arrays, curves, prov = read_nats(p, space)
        made_by = f"import: NATS-Bench {space} folder {p.name}"
        if space == "sss":
            target = paths.store_dir(data_dir, "nats-sss")
    elif p.suffix == ".pth":
        arrays, curves, prov = read_nb201_pth(p)
        made_by = f"import: NAS-Bench-201 file {p.name}"
    else:
        raise ConfigError(f"{p} is not an official file nabench can import: give a NATS-tss-v1_0-3ffb9-simple folder, "
                          "a NAS-Bench-201-v1_*.pth, or a latency table (HELP folder of .pt files or CSV)")
    n_new = int(arrays["present"].sum())
    if (target / store.META).exists() and not force:
        try:
            old = store.read(target)
            n_old = int(old.arrays.get("present", np.ones(len(arrays["present"]), bool)).sum())
        except IntegrityError:
            n_old = 0
        if n_old > n_new:
            raise ConfigError(f"the installed store at {target} covers {n_old} architectures and this import only "
                              f"{n_new}; import into another folder with --data-dir, or pass --force to replace it")
    written = store.write(target, arrays, provenance=prov, made_by=made_by, sources={p.name: "official file"},
                          curves=curves)
    return f"imported {n_new} architectures from {p} into {written.path} (checksum {written.checksum})"
