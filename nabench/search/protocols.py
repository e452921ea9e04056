"""Benchmarking protocols: what is searched on, with which budget, and what is reported.

A :class:`SearchTask` is one search setting on one benchmark (``benchmark``: ``nb201``, ``nats-sss`` or
``nb301``). ``dataset`` names the benchmark task (:data:`nabench.spaces.base.TASKS`, the one table of
searched and reported data): for ``cifar10`` on NB201 the search runs on ``cifar10-valid`` (the only
CIFAR-10 training with a held-out validation split) and the report is ``cifar10`` ``ori-test``
(trained on all 50k images), as NAS-Bench-201 / NATS-Bench do.

Presets on NAS-Bench-201 (``--space 201``):

* ``nb201`` (NAS-Bench-201, ICLR 2020): search on cifar10-valid with the 12-epoch x-valid seed mean,
  12,000 simulated seconds, crossing rule ``drop`` (its RS and REA code discard the evaluation that
  crosses the budget); report the 200-epoch test accuracy of the one incumbent on CIFAR-10
  ori-test, CIFAR-100 x-test and ImageNet16-120 x-test. Charging rule ``every``, as the official
  code (D-X-Y/AutoDL-Projects at f46486e): ``exps/NAS-Bench-201-algos/R_EA.py`` lines 213-220 call
  ``train_and_eval`` on every mutated child and add its ``time_cost`` whether or not the child was
  seen before, and ``train_and_eval`` (lines 51-56) reads ``get_more_info(..., hp="12",
  is_random=True)``, a fresh random seed per query; ``exps/NAS-Bench-201-algos/RANDOM.py`` lines
  96-102 do the same for every sampled architecture (``break`` on the crossing one). REINFORCE uses lr 0.01: NAS-Bench-201's
  hyperparameter grid for it was 0.01..0.5 and NATS-Bench's scripts use 0.01 (the measured effect
  of the choice is in results/search/README.md).
* ``nats`` (NATS-Bench, TPAMI 2021): search on each dataset's x-valid at 12 epochs with budgets
  20,000 / 40,000 / 120,000 s, crossing rule ``keep`` (its code evaluates while the total is below
  the budget, so the crossing evaluation counts); report that dataset's test split at 200 epochs.
  REA population 10, tournament 3; REINFORCE lr 0.01. Charging rule ``every``, as the official
  scripts (D-X-Y/AutoDL-Projects at f46486e): ``exps/NATS-algos/regularized_ea.py`` lines 156-181,
  ``random_wo_share.py`` lines 74-79 and ``reinforce.py`` lines 159-167 call
  ``api.simulate_train_eval`` for every proposal, which adds its time to the running total each call
  and reads ``get_more_info(..., is_random=True)`` (D-X-Y/NATS-Bench at 1d4a304,
  ``nats_bench/api_utils.py`` lines 244-276).
* ``queries``: a query-count budget of 150 distinct architectures (as in the BO literature), with
  the 200-epoch x-valid seed mean as signal, crossing rule ``drop`` (no run exceeds 150 queries);
  report as ``nats``. Charging rule ``once`` (a query is a distinct architecture), as on the DARTS
  space and the ``sss-queries`` preset; the time-budget presets (``nb201``, ``nats``, ``sss``) charge
  ``every``.

On the NATS size space (``--space sss``, after importing an official sss folder): ``sss`` is ``nats``
and ``sss-queries`` is ``queries`` with the size space's fidelities: search at 12 epochs (``sss-queries``:
90), report the 90-epoch test split; same budgets as on the topology space (our choice; NATS-Bench's
scripts take the budget as an argument). The protocol names the benchmark, so cell keys of the two
spaces never collide.

Presets on the DARTS space (``--space 301``, the NAS-Bench-301 surrogate, CIFAR-10 only). The signal
is the surrogate's validation accuracy at epoch 12 of 98 (a low fidelity, as NAS-Bench-201 searches on
12 of 200 epochs; override with ``fidelity``), the report is the epoch-98 prediction. **The surrogate
has no test split: reports are surrogate validation predictions.** Crossing rule ``drop``.

* ``nb301``: 100 distinct architectures (queries), as NASLib and naszilla use on NB301;
* ``nb301-300``: 300 queries;
* ``nb301-time``: 70,000 simulated seconds of the surrogate's predicted training time up to the signal
  epoch (about 100 evaluations at epoch 12: the mean over random cells is about 690 s).

REA population 10, tournament 3 and REINFORCE lr 0.01, as on NB201. NA searchers sample ``k = 8`` of a
candidate's 120 radius-1 neighbors by default (:attr:`SearchTask.neighborhood_defaults`; a setting's
``neighborhood`` table overrides it): a whole neighborhood is 121 evaluations, more than the 100-query
budget, so full NA could not evaluate even one candidate; with ``k = 8`` a candidate costs at most 9
queries (about 11 candidates in 100 queries). Ask for the whole neighborhood with ``k = "all"`` in a
setting's ``neighborhood`` table or ``--k all`` on the command line (``0`` means the same).

Every field can be overridden (budget limit, crossing rule, charging rule, fidelity, signal mode).

Plugins. A benchmark plugin (:mod:`nabench.benchmarks`) declares its presets as :class:`Preset` objects
(a budget, the fidelity to search at, searcher and neighborhood defaults); :func:`register_protocols`
adds them to :data:`PROTOCOL_BENCHMARK` / :data:`BENCHMARK_PROTOCOLS`, and :func:`make_search_task` builds
them from the plugin's task like the built-in presets: search the task's search split, report its report
split at the report fidelity.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Mapping

from nabench.errors import ConfigError
from nabench.search.budget import Budget
from nabench.search.signal import SIGNAL_MODES
from nabench.spaces.base import TASKS, task as benchmark_task

#: protocol -> benchmark it runs on by default
PROTOCOL_BENCHMARK: dict[str, str] = {"nb201": "nb201", "nats": "nb201", "queries": "nb201",
                                      "sss": "nats-sss", "sss-queries": "nats-sss",
                                      "nb301": "nb301", "nb301-300": "nb301", "nb301-time": "nb301"}
PROTOCOLS: tuple[str, ...] = tuple(PROTOCOL_BENCHMARK)
#: benchmark -> the protocols that apply to it (the first is its default)
BENCHMARK_PROTOCOLS: dict[str, tuple[str, ...]] = {"nb201": ("nb201", "nats", "queries"),
                                                   "nats-sss": ("sss", "sss-queries"),
                                                   "nb301": ("nb301", "nb301-300", "nb301-time")}
TASK_DATASETS: tuple[str, ...] = tuple(TASKS["nb201"])
_NATS_BUDGET = {"cifar10": 20_000.0, "cifar100": 40_000.0, "ImageNet16-120": 120_000.0}
_DEFAULTS = {"reinforce": {"lr": 0.01}, "rea": {"population": 10, "tournament": 3}}


@dataclass(frozen=True)
class Preset:
    """A plugin benchmark's search preset: budget, search fidelity (``"search"`` or ``"report"``: the task's;
    or an epoch), searcher defaults (default: REA population 10, tournament 3, REINFORCE lr 0.01, as the
    built-in presets) and neighborhood defaults of NA searchers (e.g. ``{"k": 8}``)."""

    budget: Budget
    fidelity: str | int = "search"
    searcher_defaults: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: dict(_DEFAULTS))
    neighborhood_defaults: Mapping[str, Any] = field(default_factory=dict)


#: protocol -> preset, for the protocols plugins registered
_PRESETS: dict[str, Preset] = {}


def register_protocols(benchmark: str, presets: Mapping[str, Preset]) -> None:
    """Add a plugin benchmark's presets (the first is its default protocol; see :mod:`nabench.benchmarks`)."""
    global PROTOCOLS
    from nabench import validate

    if not presets:
        raise ConfigError(f"benchmark {benchmark!r} needs at least one protocol preset")
    for name, preset in presets.items():
        validate.plain_name(f"protocol of benchmark {benchmark!r}", name)
        if not isinstance(preset, Preset) or not isinstance(preset.budget, Budget):
            raise ConfigError(f"protocol {name!r} of benchmark {benchmark!r} must be a "
                              f"nabench.search.protocols.Preset(budget=Budget(...)), got {preset!r}")
        if PROTOCOL_BENCHMARK.get(name, benchmark) != benchmark:
            raise ConfigError(f"protocol {name!r} of benchmark {benchmark!r} is already a protocol of "
                              f"{PROTOCOL_BENCHMARK[name]}; give it another name")
        if not (preset.fidelity in ("search", "report") or isinstance(preset.fidelity, int)):
            raise ConfigError(f"the fidelity of protocol {name!r} must be 'search', 'report' or an epoch, "
                              f"got {preset.fidelity!r}")
    if benchmark in BENCHMARK_PROTOCOLS:  # a re-registered plugin: drop its old presets
        unregister_protocols(benchmark)
    for name, preset in presets.items():
        PROTOCOL_BENCHMARK[name] = benchmark
        _PRESETS[name] = preset
    BENCHMARK_PROTOCOLS[benchmark] = tuple(presets)
    PROTOCOLS = tuple(PROTOCOL_BENCHMARK)


def unregister_protocols(benchmark: str) -> None:
    """Remove a plugin benchmark's presets (the built-in benchmarks' protocols stay)."""
    global PROTOCOLS

    if benchmark in ("nb201", "nats-sss", "nb301"):
        raise ConfigError(f"the protocols of the built-in benchmark {benchmark} cannot be removed")
    for name in BENCHMARK_PROTOCOLS.pop(benchmark, ()):
        PROTOCOL_BENCHMARK.pop(name, None)
        _PRESETS.pop(name, None)
    PROTOCOLS = tuple(PROTOCOL_BENCHMARK)


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
class SearchTask:
    """One search setting: signal, budget, report targets and searcher defaults.

    Not to be confused with :class:`nabench.spaces.base.Task`, the benchmark's task (what is searched and
    reported, fidelities); a search task binds one of those to a budget, a signal mode and defaults."""

    protocol: str
    dataset: str
    benchmark: str
    search_dataset: str
    split: str
    fidelity: int
    signal: str
    budget: Budget
    reports: tuple[ReportTarget, ...]
    searcher_defaults: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: neighborhood fields NA searchers use unless a setting overrides them (see the module docstring)
    neighborhood_defaults: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able description (for manifests)."""
        return {
            "protocol": self.protocol, "dataset": self.dataset, "benchmark": self.benchmark,
            "search_dataset": self.search_dataset,
            "split": self.split, "fidelity": self.fidelity, "signal": self.signal,
            "budget": {"kind": self.budget.kind, "limit": self.budget.limit, "crossing": self.budget.crossing,
                       "max_steps": self.budget.max_steps, "charge": self.budget.charge},
            "reports": [r.label + f"@{r.fidelity}" for r in self.reports],
        }


def _check_task_dataset(dataset: str | None, benchmark: str = "nb201") -> str:
    tasks = TASKS[benchmark]
    ds = next(iter(tasks)) if dataset is None else str(dataset)
    ds = "cifar10" if ds == "cifar10-valid" else ds
    if ds not in tasks:
        extra = {"nb301": " (the NAS-Bench-301 surrogate predicts CIFAR-10 only)"}.get(
            benchmark, " (cifar10 searches on cifar10-valid x-valid and reports cifar10 ori-test)"
            if benchmark in ("nb201", "nats-sss") else "")
        raise ConfigError(f"unknown task dataset {dataset!r} for {benchmark}; choose one of {', '.join(tasks)}{extra}")
    return ds


def make_search_task(protocol: str | None = None, dataset: str | None = None, *, budget: float | None = None,
                     crossing: str | None = None, fidelity: int | None = None, signal: str | None = None,
                     max_steps: int | None = None, benchmark: str | None = None,
                     charge: str | None = None) -> SearchTask:
    """The preset ``protocol`` for ``dataset`` on ``benchmark``, with optional overrides.

    ``benchmark`` defaults to the protocol's (:data:`PROTOCOL_BENCHMARK`) and ``protocol`` to the
    benchmark's first (:data:`BENCHMARK_PROTOCOLS`; ``nb201`` when neither is given).
    """
    from nabench import benchmarks

    benchmarks.ensure_loaded()
    if benchmark is not None and benchmark not in BENCHMARK_PROTOCOLS:
        raise ConfigError(f"unknown benchmark {benchmark!r}; choose one of {', '.join(BENCHMARK_PROTOCOLS)}")
    if protocol is None:
        protocol = BENCHMARK_PROTOCOLS[benchmark or "nb201"][0]
    if protocol not in PROTOCOLS:
        raise ConfigError(f"unknown protocol {protocol!r}; choose one of {', '.join(PROTOCOLS)}")
    bench = benchmark or PROTOCOL_BENCHMARK[protocol]
    if protocol not in BENCHMARK_PROTOCOLS[bench]:
        raise ConfigError(f"protocol {protocol!r} does not apply to benchmark {bench}; its protocols are "
                          f"{', '.join(BENCHMARK_PROTOCOLS[bench])}")
    ds = _check_task_dataset(dataset, bench)
    bt = benchmark_task(bench, ds)
    if protocol in _PRESETS:
        p = _PRESETS[protocol]
        fid = {"search": bt.search_fidelity, "report": bt.report_fidelity}.get(p.fidelity, p.fidelity)  # type: ignore
        task = SearchTask(protocol, ds, bench, bt.search_dataset, bt.search_split, int(fid), "mean", p.budget,
                          (ReportTarget(bt.report_dataset, bt.report_split, bt.report_fidelity),),
                          p.searcher_defaults, p.neighborhood_defaults)
    elif protocol == "nb201":
        if ds != "cifar10":
            raise ConfigError(
                f"the nb201 protocol searches on cifar10-valid and reports all three datasets, so dataset {ds!r} "
                "does not apply; use --dataset cifar10, or --protocol nats to search on each dataset"
            )
        task = SearchTask("nb201", "cifar10", bench, bt.search_dataset, bt.search_split, bt.search_fidelity,
                          "mean", Budget("time", 12_000.0, "drop", charge="every"),
                          tuple(ReportTarget(t.report_dataset, t.report_split, t.report_fidelity)
                                for t in TASKS[bench].values()), _DEFAULTS)
    else:
        if protocol in ("nats", "sss"):
            b, fid = Budget("time", _NATS_BUDGET[ds], "keep", charge="every"), bt.search_fidelity
        elif protocol in ("queries", "sss-queries"):
            b, fid = Budget("queries", 150.0, "drop"), bt.report_fidelity
        elif protocol == "nb301-time":
            b, fid = Budget("time", 70_000.0, "drop"), bt.search_fidelity
        else:
            b, fid = Budget("queries", 300.0 if protocol == "nb301-300" else 100.0, "drop"), bt.search_fidelity
        task = SearchTask(protocol, ds, bench, bt.search_dataset, bt.search_split, fid, "mean", b,
                          (ReportTarget(bt.report_dataset, bt.report_split, bt.report_fidelity),), _DEFAULTS,
                          {"k": 8} if bench == "nb301" else {})
    b = task.budget
    if budget is not None or crossing is not None or max_steps is not None or charge is not None:
        b = Budget(b.kind, float(budget) if budget is not None else b.limit, crossing or b.crossing,
                   int(max_steps) if max_steps is not None else b.max_steps, charge or b.charge)
    if signal is not None and signal not in SIGNAL_MODES:
        raise ConfigError(f"unknown signal mode {signal!r}; choose one of {', '.join(SIGNAL_MODES)}")
    if fidelity is not None:
        from nabench.tables.schema import check_fidelity

        task = replace(task, fidelity=check_fidelity(fidelity, bt.fidelities))
    return replace(task, budget=b, signal=signal if signal is not None else task.signal)
