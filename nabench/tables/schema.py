"""What the NAS-Bench-201 tables hold: datasets, their splits, fidelities, seeds, and store keys.

The datasets and splits are the benchmark's own (DESIGN.md section 2), made explicit because they are
easy to confuse:

* ``cifar10-valid``: trained on 25k images of CIFAR-10 train; ``x-valid`` is the other 25k;
  ``ori-test`` is the CIFAR-10 test set.
* ``cifar10``: trained on all 50k; ``ori-test`` is the CIFAR-10 test set ("CIFAR-10 test accuracy").
  It has no validation split: every training image was trained on.
* ``cifar100``, ``ImageNet16-120``: the original test set is split into halves ``x-valid`` and
  ``x-test``; ``ori-test`` is both halves.
* ``train`` (every dataset): accuracy on the training data, held only by official imports.

Validation functions raise :class:`~nabench.errors.ConfigError` listing the valid choices.
"""

from __future__ import annotations

import difflib
from functools import lru_cache

from nabench import validate

from nabench.errors import ConfigError

DATASETS: tuple[str, ...] = ("cifar10-valid", "cifar10", "cifar100", "ImageNet16-120")
SPLITS: dict[str, tuple[str, ...]] = {
    "cifar10-valid": ("x-valid", "ori-test", "train"),
    "cifar10": ("ori-test", "train"),
    "cifar100": ("x-valid", "x-test", "ori-test", "train"),
    "ImageNet16-120": ("x-valid", "x-test", "ori-test", "train"),
}
#: Splits a searcher may see (everything else is a test split, reported but never searched on).
SEARCH_SPLITS: frozenset[str] = frozenset({"x-valid", "train"})
FIDELITIES: tuple[int, ...] = (12, 200)
SEEDS_200: tuple[int, ...] = (777, 888, 999)
METRICS: tuple[str, ...] = ("acc", "loss")


def _choose(kind: str, value: object, valid: tuple[str, ...], extra: str = "") -> str:
    if isinstance(value, str) and value in valid:
        return value
    close = difflib.get_close_matches(str(value), valid, n=1, cutoff=0.5)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ConfigError(f"unknown {kind} {value!r}{hint}{extra}; valid {kind}s are {', '.join(valid)}")


def check_dataset(dataset: object) -> str:
    """Validate a dataset name."""
    return _choose("dataset", dataset, DATASETS)


def check_split(dataset: str, split: object) -> str:
    """Validate a split for a dataset; e.g. ``cifar10`` has no ``x-valid``."""
    ds = check_dataset(dataset)
    valid = SPLITS[ds]
    if split == "x-valid" and ds == "cifar10":
        raise ConfigError(
            "dataset 'cifar10' has no validation split: it trains on train + valid (all 50k images). "
            "Search on dataset 'cifar10-valid' split 'x-valid', or report 'cifar10' split 'ori-test'; "
            f"valid splits of 'cifar10' are {', '.join(valid)}"
        )
    return _choose("split", split, valid, f" for dataset {ds!r}")


def check_fidelity(fidelity: object, valid: tuple[int, ...] = FIDELITIES) -> int:
    """Validate a fidelity (training epochs of the schedule): 12 or 200 for NAS-Bench-201."""
    f: int | None = None
    if type(fidelity) is int:  # fast path (bools are not of type int)
        f = fidelity
    elif isinstance(fidelity, str):  # the CLI's "12" or the official "hp=12": plain ASCII digits only
        try:
            f = validate.int_string("fidelity", fidelity.removeprefix("hp="))
        except ConfigError:
            f = None
    else:
        try:
            f = validate.integer("fidelity", fidelity)  # an int or numpy integer; not 12.0, not True
        except ConfigError:
            f = None
    if f not in valid:
        raise ConfigError(
            f"unknown fidelity {fidelity!r}; valid fidelities (epochs of the training schedule) are "
            f"{', '.join(map(str, valid))}"
        )
    return f


def check_query(dataset: object, split: object, fidelity: object) -> tuple[str, str, int]:
    """Validate a full (dataset, split, fidelity) triple."""
    ds = check_dataset(dataset)
    return ds, check_split(ds, split), check_fidelity(fidelity)


@lru_cache(maxsize=1024)
def key(*parts: object) -> str:
    """Name of an array in the store, e.g. ``key('acc', 'cifar100', 'x-valid', 200, 'mean')``."""
    return ".".join(str(p) for p in parts)
