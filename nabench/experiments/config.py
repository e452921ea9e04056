"""Experiment grids: cells of protocol x dataset x searcher x setting, from a TOML file or CLI flags.

A grid file::

    name = "nb201-reproduction"
    runs = 500              # runs per cell; run r of every cell uses seed `seed + r` (matched seeds)
    seed = 0

    [settings.k4]           # named settings; "default" (no overrides) always exists
    neighborhood = { k = 4, accounting = "query" }

    [settings.long]
    budget = 24000          # also: crossing, charge, signal, fidelity, max_steps
    params = { rea = { population = 20 } }

    [[experiment]]          # searchers x datasets x settings
    protocol = "nb201"
    datasets = ["cifar10"]  # optional, default ["cifar10"] (a plugin benchmark's: its first task)
    searchers = ["rs", "na-rs"]
    settings = ["default", "k4"]   # optional, default ["default"]

A setting's ``neighborhood`` table (the :class:`~nabench.neighborhood.NeighborhoodSpec` fields plus
``accounting`` and the NA mode keys ``mode``, ``fraction``, ``top``, ``fidelity`` of
:class:`~nabench.search.na.NAOptions`) applies to NA searchers only; list plain searchers under the settings that change
them. Seeds are shared across cells so NA-X and X runs are paired by seed.

An optional ``[launcher]`` table sets how the grid is executed (``launcher = "slurm"``, partition, time,
CPUs, memory, runs per array element; see :mod:`nabench.experiments.launch`); it does not change any
result, so it is not part of the grid's fingerprint.

Every value is checked where it enters, with :mod:`nabench.validate` (types, ranges, size limits),
so a wrong type in a grid file is one line naming the key, never a traceback from deep inside a run.
The grid ``name`` names a folder under ``nabench-runs/`` and must be a plain name (no ``/``, no ``..``).
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Mapping

from nabench import validate
from nabench.errors import ConfigError
from nabench.neighborhood import NeighborhoodSpec, check_k
from nabench.search import registry
from nabench.search.budget import CHARGE_RULES, CROSSING_RULES
from nabench.search.protocols import SearchTask, make_search_task
from nabench.search.na import ACCOUNTING, NA_MODES, NAOptions
from nabench.search.signal import SIGNAL_MODES

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SETTING_KEYS: tuple[str, ...] = ("neighborhood", "params", "budget", "crossing", "charge", "signal", "fidelity",
                                 "max_steps")
EXPERIMENT_KEYS: tuple[str, ...] = ("protocol", "datasets", "searchers", "settings")
GRID_KEYS: tuple[str, ...] = ("name", "runs", "seed", "settings", "experiment", "launcher")
NA_KEYS: tuple[str, ...] = tuple(f.name for f in fields(NAOptions))
NEIGHBORHOOD_KEYS: tuple[str, ...] = tuple(f.name for f in fields(NeighborhoodSpec)) + ("accounting",) + NA_KEYS
#: Largest ``max_steps`` a setting may ask for (the default is 20,000).
MAX_STEPS = 10_000_000

#: How each key of a setting is checked (``where``, value) -> value.
_SETTING_CHECKS: dict[str, Callable[[str, Any], Any]] = {
    "budget": validate.positive,
    "crossing": lambda w, v: validate.choice(w, v, CROSSING_RULES),
    "charge": lambda w, v: validate.choice(w, v, CHARGE_RULES),
    "signal": lambda w, v: validate.choice(w, v, SIGNAL_MODES),
    "fidelity": validate.integer,
    "max_steps": lambda w, v: validate.integer(w, v, minimum=1, maximum=MAX_STEPS),
}
#: How each key of a neighborhood table is checked.
_NEIGHBORHOOD_CHECKS: dict[str, Callable[[str, Any], Any]] = {
    "radius": validate.integer, "include_self": validate.boolean,
    "k": check_k,
    "agg": validate.string, "q": validate.number, "decay": validate.number, "dedup": validate.boolean,
    "exact": validate.boolean, "accounting": lambda w, v: validate.choice(w, v, ACCOUNTING),
    "mode": lambda w, v: validate.choice(w, v, NA_MODES),
    "fraction": lambda w, v: validate.number(w, v, minimum=0.0, maximum=1.0, strict_min=True, strict_max=True),
    "top": lambda w, v: validate.integer(w, v, minimum=1, maximum=1000),
    "fidelity": lambda w, v: None if v is None else validate.integer(w, v, minimum=1),
}


@dataclass(frozen=True)
class Cell:
    """One searcher under one task and setting; its runs differ only in their seed."""

    protocol: str
    dataset: str
    searcher: str
    setting: str
    task: SearchTask
    params: Mapping[str, Any]
    neighborhood: NeighborhoodSpec | None
    accounting: str | None
    na: NAOptions | None = None

    @property
    def key(self) -> str:
        """Identifier of the cell in results: ``protocol/dataset/searcher/setting``."""
        return f"{self.protocol}/{self.dataset}/{self.searcher}/{self.setting}"

    @property
    def base(self) -> str:
        """The base searcher (``rea`` for ``na-rea``)."""
        return registry.parse_name(self.searcher)[0]

    def to_dict(self) -> dict[str, Any]:
        """Everything that determines the cell's results, JSON-able."""
        return {
            "protocol": self.protocol, "dataset": self.dataset, "searcher": self.searcher, "setting": self.setting,
            "task": self.task.to_dict(), "params": dict(sorted(self.params.items())),
            "neighborhood": None if self.neighborhood is None else asdict(self.neighborhood),
            "accounting": self.accounting, "na": None if self.na is None else asdict(self.na),
        }


@dataclass(frozen=True)
class Grid:
    """Cells, the number of runs per cell and the base seed (checked on construction, so
    ``dataclasses.replace(grid, runs=...)`` is checked too). ``launcher`` holds the grid file's
    ``[launcher]`` table; it changes how, not what, is run, and is left out of :meth:`to_dict`."""

    name: str
    cells: tuple[Cell, ...]
    runs: int
    seed: int
    launcher: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        validate.plain_name("the grid name", self.name)
        if not isinstance(self.cells, tuple) or not self.cells or not all(isinstance(c, Cell) for c in self.cells):
            raise ConfigError(f"a grid needs a non-empty tuple of Cells (see make_cell), got {self.cells!r}")
        validate.integer("runs per cell", self.runs, minimum=1, maximum=validate.MAX_RUNS)
        validate.seed("the base seed", self.seed)
        if self.seed + self.runs - 1 > validate.MAX_SEED:
            raise ConfigError(f"seed {self.seed} + {self.runs} runs exceeds the largest seed {validate.MAX_SEED}; "
                              "use a smaller --seed")
        total = len(self.cells) * self.runs
        if total > validate.MAX_GRID_RUNS:
            raise ConfigError(f"the grid has {len(self.cells)} cells x {self.runs} runs = {total} runs, more than the "
                              f"limit of {validate.MAX_GRID_RUNS}; split it into several grids")

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "runs": self.runs, "seed": self.seed, "cells": [c.to_dict() for c in self.cells]}

    @property
    def fingerprint(self) -> str:
        """Short hash of the grid's content (names its default output folder)."""
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:10]


def _checked(where: str, table: Mapping[str, Any], checks: Mapping[str, Callable[[str, Any], Any]]) -> dict[str, Any]:
    out = validate.table(where, table, checks)
    return {k: checks[k](f"{k} in {where}", v) for k, v in out.items()}


def _params(where: str, value: Any, base: str) -> dict[str, Any]:
    """The ``params`` table of a setting: one table of hyperparameters per base searcher."""
    all_params = validate.table(where, value, tuple(registry.SEARCHERS) + tuple(
        n for n in registry.OPTIONAL if n not in registry.SEARCHERS))
    for name, given in all_params.items():
        validate.table(f"{where}.{name}", given)
    given = dict(all_params.get(base) or {})
    registry.check_params(base, given)
    return given


def make_cell(protocol: str, dataset: str | None, searcher: str, setting: str = "default",
              overrides: Mapping[str, Any] | None = None) -> Cell:
    """Resolve one cell: the protocol preset, the setting's overrides, the searcher's parameters."""
    protocol = validate.string("protocol", protocol)
    if dataset is not None:
        dataset = validate.string("dataset", dataset)
    validate.string("searcher", searcher)
    setting = validate.plain_name("a setting name", setting)
    where = f"setting {setting!r}"
    ov = _checked(where, {} if overrides is None else overrides, {**_SETTING_CHECKS, "neighborhood": validate.table,
                                                                  "params": validate.table})
    base, is_na = registry.parse_name(searcher)
    task = make_search_task(protocol, dataset, budget=ov.get("budget"), crossing=ov.get("crossing"),
                            fidelity=ov.get("fidelity"), signal=ov.get("signal"), max_steps=ov.get("max_steps"),
                            charge=ov.get("charge"))
    given = _params(f"params of {where}", ov.get("params", {}), base)
    params = registry.defaults(base)
    params.update(task.searcher_defaults.get(base, {}))
    params.update(given)
    nb = _checked(f"neighborhood of {where}", ov.get("neighborhood", {}), _NEIGHBORHOOD_CHECKS)
    spec, accounting, na = None, None, None
    if is_na:
        accounting = nb.pop("accounting", "query")
        na = NAOptions(**{k: nb.pop(k) for k in NA_KEYS if k in nb})
        if na.fidelity is not None:
            from nabench.spaces.base import task as benchmark_task
            from nabench.tables.schema import check_fidelity

            check_fidelity(na.fidelity, benchmark_task(task.benchmark, task.dataset).fidelities)
            if not na.fidelity < task.fidelity:
                raise ConfigError(f"the NA neighbor fidelity {na.fidelity} of {where} must be lower than the search "
                                  f"signal's fidelity {task.fidelity} (neighbors read cheaper than the candidate); "
                                  "lower --na-fidelity or raise --fidelity")
        spec = NeighborhoodSpec(**{**task.neighborhood_defaults, **nb})  # the protocol's, then the setting's
    return Cell(task.protocol, task.dataset, f"na-{base}" if is_na else base, setting, task, params, spec, accounting,
                na)


def _default_datasets(protocol: str) -> list[str]:
    """``cifar10``, or the first task of a plugin benchmark's protocol (see :mod:`nabench.benchmarks`)."""
    from nabench import benchmarks
    from nabench.search.protocols import PROTOCOL_BENCHMARK
    from nabench.spaces.base import TASKS

    benchmarks.ensure_loaded()
    bench = PROTOCOL_BENCHMARK.get(protocol)
    return [next(iter(TASKS[bench]))] if bench in TASKS and "cifar10" not in TASKS[bench] else ["cifar10"]


def grid_from_dict(doc: Mapping[str, Any], source: str = "the grid") -> Grid:
    """Build a grid from a parsed TOML document."""
    doc = validate.table(source, doc, GRID_KEYS)
    name = validate.plain_name(f"name in {source}", doc.get("name", "grid"))
    runs = validate.integer(f"runs in {source}", doc.get("runs", 20), minimum=1, maximum=validate.MAX_RUNS)
    seed = validate.seed(f"seed in {source}", doc.get("seed", 0))
    settings = validate.table(f"[settings] of {source}", doc.get("settings", {}))
    for st, table in settings.items():
        validate.plain_name(f"setting name {st!r} in {source}", st)
        validate.table(f"[settings.{st}] of {source}", table)
    settings.setdefault("default", {})
    launcher = validate.table(f"[launcher] of {source}", doc.get("launcher", {}))
    if launcher:
        from nabench.experiments.launch import check_options

        launcher = check_options(f"[launcher] of {source}", launcher)
    experiments = doc.get("experiment")
    if not experiments:
        raise ConfigError(f"{source} has no [[experiment]] blocks; add one naming a protocol and searchers")
    if not isinstance(experiments, list):
        raise ConfigError(f"'experiment' in {source} must be an array of tables: write [[experiment]]")
    cells: dict[str, Cell] = {}
    for i, ex in enumerate(experiments, start=1):
        where = f"[[experiment]] #{i} of {source}"
        ex = validate.table(where, ex, EXPERIMENT_KEYS)
        if "searchers" not in ex:
            raise ConfigError(f"{where} names no searchers; add searchers = [\"rs\", \"na-rs\"]")
        protocol = validate.string(f"protocol of {where}", ex.get("protocol", "nb201"))
        for st in validate.names(f"settings of {where}", ex.get("settings", ["default"])):
            if st not in settings:
                raise ConfigError(f"{where} uses setting {st!r}, which is not defined; defined settings are "
                                  f"{', '.join(settings)} (add a [settings.{st}] table)")
            for ds in validate.names(f"datasets of {where}", ex.get("datasets", _default_datasets(protocol))):
                for s in validate.names(f"searchers of {where}", ex["searchers"]):
                    cell = make_cell(protocol, ds, s, st, settings[st])
                    cells.setdefault(cell.key, cell)
    return Grid(name, tuple(cells.values()), runs, seed, launcher)


def load_grid(path: str | Path) -> Grid:
    """Read a grid TOML file (UTF-8)."""
    text = validate.text_file("grid file", path)
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path} is not valid TOML: {e}") from None
    except RecursionError:
        raise ConfigError(f"{path} nests tables or arrays far deeper than a grid file does; is it the right file?") \
            from None
    return grid_from_dict(doc, str(path))
