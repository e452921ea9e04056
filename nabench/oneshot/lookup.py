"""Table lookup of derived NAS-Bench-201 cells, as NAS-Bench-201 reports weight-sharing methods.

After every epoch the search derives the discrete cell (argmax of alpha per edge, ``none``
included) and looks up what training that cell from scratch gives, from the tabular store
(:func:`nabench.load`), at both fidelities (12 and 200 epochs, seed means):

=================  ======================================  ===============================
searched on        "valid" column                          "test" column
=================  ======================================  ===============================
``cifar10``        ``cifar10-valid`` ``x-valid``           ``cifar10`` ``ori-test``
``cifar100``       ``cifar100`` ``x-valid``                ``cifar100`` ``x-test``
``ImageNet16-120`` ``ImageNet16-120`` ``x-valid``          ``ImageNet16-120`` ``x-test``
=================  ======================================  ===============================

The columns ``valid_12``, ``test_12``, ``valid_200``, ``test_200`` hold the searched dataset's
values. Like NAS-Bench-201's tables (which list every method's cell on all three datasets), the
columns ``{cifar10,cifar100,imagenet16}_{valid,test}_{12,200}`` hold the same cell on every
dataset. Lookups never feed back into the search.
"""

from __future__ import annotations

from typing import Protocol

#: search dataset -> (column prefix, (dataset, split) of "valid", (dataset, split) of "test")
REPORT: dict[str, tuple[str, tuple[str, str], tuple[str, str]]] = {
    "cifar10": ("cifar10", ("cifar10-valid", "x-valid"), ("cifar10", "ori-test")),
    "cifar100": ("cifar100", ("cifar100", "x-valid"), ("cifar100", "x-test")),
    "ImageNet16-120": ("imagenet16", ("ImageNet16-120", "x-valid"), ("ImageNet16-120", "x-test")),
}
FIDELITIES: tuple[int, ...] = (12, 200)


class Benchmark(Protocol):
    def index(self, arch: str) -> int: ...

    def accuracy(self, archs: object, *, dataset: str, split: str, fidelity: int, seed: object = "mean") -> object: ...


def columns(search_dataset: str) -> list[str]:
    """Names of the lookup columns, in CSV order."""
    cols = [f"{kind}_{fid}" for fid in FIDELITIES for kind in ("valid", "test")]
    for prefix, _, _ in REPORT.values():
        cols += [f"{prefix}_{kind}_{fid}" for fid in FIDELITIES for kind in ("valid", "test")]
    return cols


def lookup(bench: Benchmark, arch: str, search_dataset: str) -> dict[str, float | int]:
    """The official index and the table accuracies (percent) of cell ``arch`` (official string)."""
    row: dict[str, float | int] = {"arch_index": int(bench.index(arch))}
    for name, (prefix, valid, test) in REPORT.items():
        for fid in FIDELITIES:
            for kind, (ds, split) in (("valid", valid), ("test", test)):
                acc = float(bench.accuracy(arch, dataset=ds, split=split, fidelity=fid))
                row[f"{prefix}_{kind}_{fid}"] = acc
                if name == search_dataset:
                    row[f"{kind}_{fid}"] = acc
    return row
