"""Experiment grids: cells of protocol x dataset x searcher x setting, from a TOML file or CLI flags.

A grid file::

    name = "nb201-reproduction"
    runs = 500              # runs per cell; run r of every cell uses seed `seed + r` (matched seeds)
    seed = 0

    [settings.k4]           # named settings; "default" (no overrides) always exists
    neighborhood = { k = 4, accounting = "query" }

    [settings.long]
    budget = 24000          # also: crossing, signal, fidelity, max_steps
    params = { rea = { population = 20 } }

    [[experiment]]          # searchers x datasets x settings
    protocol = "nb201"
    datasets = ["cifar10"]  # optional, default ["cifar10"]
    searchers = ["rs", "na-rs"]
    settings = ["default", "k4"]   # optional, default ["default"]

A setting's ``neighborhood`` table (the :class:`~nabench.neighborhood.NeighborhoodSpec` fields plus
``accounting``) applies to NA searchers only; list plain searchers under the settings that change
them. Seeds are shared across cells so NA-X and X runs are paired by seed.
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Mapping, Sequence

from nabench.errors import ConfigError
from nabench.neighborhood import NeighborhoodSpec
from nabench.search import registry
from nabench.search.protocols import Task, make_task
from nabench.search.na import ACCOUNTING

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SETTING_KEYS: tuple[str, ...] = ("neighborhood", "params", "budget", "crossing", "signal", "fidelity", "max_steps")
EXPERIMENT_KEYS: tuple[str, ...] = ("protocol", "datasets", "searchers", "settings")
GRID_KEYS: tuple[str, ...] = ("name", "runs", "seed", "settings", "experiment")
NEIGHBORHOOD_KEYS: tuple[str, ...] = tuple(f.name for f in fields(NeighborhoodSpec)) + ("accounting",)


@dataclass(frozen=True)
class Cell:
    """One searcher under one task and setting; its runs differ only in their seed."""

    protocol: str
    dataset: str
    searcher: str
    setting: str
    task: Task
    params: Mapping[str, Any]
    neighborhood: NeighborhoodSpec | None
    accounting: str | None

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
            "accounting": self.accounting,
        }


@dataclass(frozen=True)
class Grid:
    """Cells, the number of runs per cell and the base seed."""

    name: str
    cells: tuple[Cell, ...]
    runs: int
    seed: int

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "runs": self.runs, "seed": self.seed, "cells": [c.to_dict() for c in self.cells]}

    @property
    def fingerprint(self) -> str:
        """Short hash of the grid's content (names its default output folder)."""
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:10]


def _check_keys(where: str, table: Mapping[str, Any], valid: Sequence[str]) -> None:
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where} must be a table (key = value pairs), got {type(table).__name__}")
    unknown = sorted(set(table) - set(valid))
    if unknown:
        raise ConfigError(f"unknown key(s) {', '.join(map(repr, unknown))} in {where}; valid keys are {', '.join(valid)}")


def _int(where: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{where} must be an integer >= {minimum}, got {value!r}")
    return value


def _names(where: str, value: Any) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where} must be a non-empty list of names, got {value!r}")
    return value


def make_cell(protocol: str, dataset: str | None, searcher: str, setting: str = "default",
              overrides: Mapping[str, Any] | None = None) -> Cell:
    """Resolve one cell: the protocol preset, the setting's overrides, the searcher's parameters."""
    ov = dict(overrides or {})
    _check_keys(f"setting {setting!r}", ov, SETTING_KEYS)
    base, is_na = registry.parse_name(searcher)
    task = make_task(protocol, dataset, budget=ov.get("budget"), crossing=ov.get("crossing"),
                     fidelity=ov.get("fidelity"), signal=ov.get("signal"), max_steps=ov.get("max_steps"))
    all_params = ov.get("params") or {}
    _check_keys(f"params of setting {setting!r}", all_params, tuple(registry.SEARCHERS))
    given = all_params.get(base) or {}
    registry.check_params(base, given)
    params = registry.defaults(base)
    params.update(task.searcher_defaults.get(base, {}))
    params.update(given)
    spec, accounting = None, None
    if is_na:
        nb = dict(ov.get("neighborhood") or {})
        _check_keys(f"neighborhood of setting {setting!r}", nb, NEIGHBORHOOD_KEYS)
        accounting = nb.pop("accounting", "query")
        if accounting not in ACCOUNTING:
            raise ConfigError(f"unknown accounting {accounting!r} in setting {setting!r}; choose {' or '.join(ACCOUNTING)}")
        spec = NeighborhoodSpec(**nb)
    return Cell(task.protocol, task.dataset, f"na-{base}" if is_na else base, setting, task, params, spec, accounting)


def grid_from_dict(doc: Mapping[str, Any], source: str = "the grid") -> Grid:
    """Build a grid from a parsed TOML document."""
    _check_keys(source, doc, GRID_KEYS)
    runs = _int(f"runs in {source}", doc.get("runs", 20), 1)
    seed = _int(f"seed in {source}", doc.get("seed", 0), 0)
    settings = dict(doc.get("settings") or {})
    _check_keys(f"[settings] of {source}", settings, list(settings))
    settings.setdefault("default", {})
    experiments = doc.get("experiment")
    if not experiments:
        raise ConfigError(f"{source} has no [[experiment]] blocks; add one naming a protocol and searchers")
    if not isinstance(experiments, list):
        raise ConfigError(f"'experiment' in {source} must be an array of tables: write [[experiment]]")
    cells: dict[str, Cell] = {}
    for i, ex in enumerate(experiments, start=1):
        where = f"[[experiment]] #{i} of {source}"
        _check_keys(where, ex, EXPERIMENT_KEYS)
        if "searchers" not in ex:
            raise ConfigError(f"{where} names no searchers; add searchers = [\"rs\", \"na-rs\"]")
        for st in _names(f"settings of {where}", ex.get("settings", ["default"])):
            if st not in settings:
                raise ConfigError(f"{where} uses setting {st!r}, which is not defined; defined settings are "
                                  f"{', '.join(settings)} (add a [settings.{st}] table)")
            for ds in _names(f"datasets of {where}", ex.get("datasets", ["cifar10"])):
                for s in _names(f"searchers of {where}", ex["searchers"]):
                    cell = make_cell(str(ex.get("protocol", "nb201")), ds, s, st, settings[st])
                    cells.setdefault(cell.key, cell)
    return Grid(str(doc.get("name", "grid")), tuple(cells.values()), runs, seed)


def load_grid(path: str | Path) -> Grid:
    """Read a grid TOML file."""
    p = Path(path)
    try:
        doc = tomllib.loads(p.read_text())
    except FileNotFoundError:
        raise ConfigError(f"grid file {p} does not exist; pass the path of a TOML grid (see benchmarks/configs/)") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{p} is not valid TOML: {e}") from None
    return grid_from_dict(doc, str(p))
