"""Benchmark lookup of derived cells, as NAS-Bench-201 reports weight-sharing methods, on both spaces.

After every epoch the search derives the discrete cell and records what the benchmark says of it;
lookups never feed back into the search.

**NAS-Bench-201** (``space = "201"``): the cell (argmax of alpha per edge, ``none`` included) is looked
up in the tabular store (:func:`nabench.load`), at both fidelities (12 and 200 epochs, seed means).
The searched dataset's columns come from the one task table (:data:`nabench.spaces.base.TASKS`):

=================  ======================================  ===============================
searched on        "valid" column                          "test" column
=================  ======================================  ===============================
``cifar10``        ``cifar10-valid`` ``x-valid``           ``cifar10`` ``ori-test``
``cifar100``       ``cifar100`` ``x-valid``                ``cifar100`` ``x-test``
``ImageNet16-120`` ``ImageNet16-120`` ``x-valid``          ``ImageNet16-120`` ``x-test``
=================  ======================================  ===============================

The columns ``valid_12``, ``test_12``, ``valid_200``, ``test_200`` hold the searched dataset's
values. Like NAS-Bench-201's tables (which list every method's cell on all three datasets), the
columns ``{cifar10,cifar100,ImageNet16-120}_{valid,test}_{12,200}`` hold the same cell on every
dataset (named by the task's dataset, ``ImageNet16-120`` as everywhere else in nabench).

**The DARTS space** (``space = "darts"``, benchmark ``nabench.load("nb301")``): the derived genotype is
predicted by the NAS-Bench-301 surrogate (CIFAR-10 only), one model call per recorded epoch: ``valid_12`` and
``valid_98`` (validation accuracy at epochs 12 and 98, percent) and ``runtime_98`` (predicted training
seconds). The surrogate has **no test split**, so there are no ``test_*`` columns; ``arch_index`` is
the cell's DARTS code (:class:`~nabench.spaces.darts.DartsSpace`).
"""

from __future__ import annotations

from typing import Any

from nabench.spaces.base import NB301_EPOCHS, NB301_SEARCH_EPOCH, TASKS

#: NB201 column prefix of each task (the task table itself is :data:`nabench.spaces.base.TASKS`)
PREFIX: dict[str, str] = {name: name for name in TASKS["nb201"]}
FIDELITIES: tuple[int, ...] = TASKS["nb201"]["cifar10"].fidelities
#: the NB301 epochs recorded (the default search fidelity and the full one)
NB301_FIDELITIES: tuple[int, ...] = (NB301_SEARCH_EPOCH, NB301_EPOCHS)


def columns(search_dataset: str, benchmark: str = "nb201") -> list[str]:
    """Names of the lookup columns, in CSV order (without ``arch_index``)."""
    if benchmark == "nb301":
        return [f"valid_{e}" for e in NB301_FIDELITIES] + [f"runtime_{NB301_EPOCHS}"]
    cols = [f"{kind}_{fid}" for fid in FIDELITIES for kind in ("valid", "test")]
    for name in TASKS["nb201"]:
        cols += [f"{PREFIX[name]}_{kind}_{fid}" for fid in FIDELITIES for kind in ("valid", "test")]
    return cols


def lookup(bench: Any, arch: str, search_dataset: str) -> dict[str, float | int]:
    """The arch's index (NB201 official index, DARTS code) and the benchmark's accuracies (percent) of it."""
    if getattr(bench, "name", "nb201") == "nb301":
        code = bench.space.parse(arch)
        row: dict[str, float | int] = {"arch_index": int(code)}
        for epoch in NB301_FIDELITIES:
            acc, runtime = bench.predict([code], fidelity=epoch)
            row[f"valid_{epoch}"] = float(acc[0])
        row[f"runtime_{NB301_EPOCHS}"] = float(runtime[0])
        return row
    row = {"arch_index": int(bench.index(arch))}
    for name, task in TASKS["nb201"].items():
        for fid in FIDELITIES:
            for kind, (ds, split) in (("valid", (task.search_dataset, task.search_split)),
                                      ("test", (task.report_dataset, task.report_split))):
                acc = float(bench.accuracy(arch, dataset=ds, split=split, fidelity=fid))
                row[f"{PREFIX[name]}_{kind}_{fid}"] = acc
                if name == search_dataset:
                    row[f"{kind}_{fid}"] = acc
    return row
