"""Benchmarking protocols: what is searched on, with which budget, and what is reported.

A :class:`Task` is one search setting. ``dataset`` names the task as NATS-Bench's scripts do
(``cifar10``, ``cifar100``, ``ImageNet16-120``); for ``cifar10`` the search runs on
``cifar10-valid`` (the only CIFAR-10 training with a held-out validation split) and the report is
``cifar10`` ``ori-test`` (trained on all 50k images), as NAS-Bench-201 / NATS-Bench do.

Presets:

* ``nb201`` (NAS-Bench-201, ICLR 2020): search on cifar10-valid with the 12-epoch x-valid seed mean,
  12,000 simulated seconds, crossing rule ``drop`` (its RS and REA code discard the evaluation that
  crosses the budget); report the 200-epoch test accuracy of the one incumbent on CIFAR-10
  ori-test, CIFAR-100 x-test and ImageNet16-120 x-test. REINFORCE uses lr 0.01: NAS-Bench-201's
  hyperparameter grid for it was 0.01..0.5 and NATS-Bench's scripts use 0.01 (the measured effect
  of the choice is in results/search/README.md).
* ``nats`` (NATS-Bench, TPAMI 2021): search on each dataset's x-valid at 12 epochs with budgets
  20,000 / 40,000 / 120,000 s, crossing rule ``keep`` (its code evaluates while the total is below
  the budget, so the crossing evaluation counts); report that dataset's test split at 200 epochs.
  REA population 10, tournament 3; REINFORCE lr 0.01.
* ``queries``: a query-count budget of 150 distinct architectures (as in the BO literature), with
  the 200-epoch x-valid seed mean as signal, crossing rule ``drop`` (no run exceeds 150 queries);
  report as ``nats``.

Every field can be overridden (budget limit, crossing rule, fidelity, signal mode).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Mapping

from nabench.errors import ConfigError
from nabench.search.budget import Budget
from nabench.search.signal import SIGNAL_MODES

PROTOCOLS: tuple[str, ...] = ("nb201", "nats", "queries")
TASK_DATASETS: tuple[str, ...] = ("cifar10", "cifar100", "ImageNet16-120")
_SEARCH_DATASET = {"cifar10": "cifar10-valid", "cifar100": "cifar100", "ImageNet16-120": "ImageNet16-120"}
_TEST_SPLIT = {"cifar10": "ori-test", "cifar100": "x-test", "ImageNet16-120": "x-test"}
_NATS_BUDGET = {"cifar10": 20_000.0, "cifar100": 40_000.0, "ImageNet16-120": 120_000.0}


@dataclass(frozen=True)
class ReportTarget:
    """A test quantity reported for the incumbent (never shown to a searcher)."""

    dataset: str
    split: str
    fidelity: int = 200

    @property
    def label(self) -> str:
        return f"{self.dataset}/{self.split}"


@dataclass(frozen=True)
class Task:
    """One search setting: signal, budget, report targets and searcher defaults."""

    protocol: str
    dataset: str
    search_dataset: str
    split: str
    fidelity: int
    signal: str
    budget: Budget
    reports: tuple[ReportTarget, ...]
    searcher_defaults: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able description (for manifests)."""
        return {
            "protocol": self.protocol, "dataset": self.dataset, "search_dataset": self.search_dataset,
            "split": self.split, "fidelity": self.fidelity, "signal": self.signal,
            "budget": {"kind": self.budget.kind, "limit": self.budget.limit, "crossing": self.budget.crossing,
                       "max_steps": self.budget.max_steps},
            "reports": [r.label + f"@{r.fidelity}" for r in self.reports],
        }


def _check_task_dataset(dataset: str | None, default: str = "cifar10") -> str:
    ds = default if dataset is None else str(dataset)
    if ds == "cifar10-valid":
        ds = "cifar10"
    if ds not in TASK_DATASETS:
        raise ConfigError(f"unknown task dataset {dataset!r}; choose one of {', '.join(TASK_DATASETS)} "
                          "(cifar10 searches on cifar10-valid x-valid and reports cifar10 ori-test)")
    return ds


def make_task(protocol: str = "nb201", dataset: str | None = None, *, budget: float | None = None,
              crossing: str | None = None, fidelity: int | None = None, signal: str | None = None,
              max_steps: int | None = None) -> Task:
    """The preset ``protocol`` for ``dataset``, with optional overrides."""
    if protocol not in PROTOCOLS:
        raise ConfigError(f"unknown protocol {protocol!r}; choose one of {', '.join(PROTOCOLS)}")
    if protocol == "nb201":
        ds = _check_task_dataset(dataset)
        if ds != "cifar10":
            raise ConfigError(
                f"the nb201 protocol searches on cifar10-valid and reports all three datasets, so dataset {ds!r} "
                "does not apply; use --dataset cifar10, or --protocol nats to search on each dataset"
            )
        task = Task("nb201", "cifar10", "cifar10-valid", "x-valid", 12, "mean",
                    Budget("time", 12_000.0, "drop"),
                    tuple(ReportTarget(d, _TEST_SPLIT[d]) for d in TASK_DATASETS),
                    {"reinforce": {"lr": 0.01}, "rea": {"population": 10, "tournament": 3}})
    else:
        ds = _check_task_dataset(dataset)
        if protocol == "nats":
            b, fid = Budget("time", _NATS_BUDGET[ds], "keep"), 12
        else:
            b, fid = Budget("queries", 150.0, "drop"), 200
        task = Task(protocol, ds, _SEARCH_DATASET[ds], "x-valid", fid, "mean", b,
                    (ReportTarget(ds, _TEST_SPLIT[ds]),),
                    {"reinforce": {"lr": 0.01}, "rea": {"population": 10, "tournament": 3}})
    b = task.budget
    if budget is not None or crossing is not None or max_steps is not None:
        b = Budget(b.kind, float(budget) if budget is not None else b.limit, crossing or b.crossing,
                   int(max_steps) if max_steps is not None else b.max_steps)
    if signal is not None and signal not in SIGNAL_MODES:
        raise ConfigError(f"unknown signal mode {signal!r}; choose one of {', '.join(SIGNAL_MODES)}")
    if fidelity is not None:
        from nabench.tables.schema import check_fidelity

        task = replace(task, fidelity=check_fidelity(fidelity))
    return replace(task, budget=b, signal=signal if signal is not None else task.signal)
