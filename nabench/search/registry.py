"""Searchers by name: ``rs``, ``rea``, ``bo``, ``ls``, ``reinforce`` and their NA variants ``na-*``.

An NA variant is the same searcher class driven through the NA scorer
(:class:`~nabench.search.na.NeighborhoodScorer`); the registry only records which is which, and
:func:`is_na` is THE test of NA-ness for names anywhere (summaries, plots, analysis). Every searcher
runs on every space (:class:`~nabench.spaces.base.SearchSpace`).

Plugins. :func:`register` adds a user's :class:`~nabench.search.base.Searcher` subclass under its
``name`` (and so its ``na-`` variant); installed packages do the same through the entry-point group
``nabench.searchers`` (each entry point names a Searcher subclass), loaded at the end of the import of
:mod:`nabench.search` (so a plugin may import ``nabench.search``). A plugin thus works in the runner,
in TOML grids, in spawned workers and in ``nabench run --help``. Classes registered at run time (not
through an entry point) reach spawned workers through :func:`plugins`, which the runner hands to each
worker (see ``examples/plugin_searcher``).

Optional searchers. Names in :data:`OPTIONAL` (the Optuna samplers, extra ``nabench[optuna]``) are
valid everywhere a searcher name is; their module is imported and registered the first time such a
name is parsed or built, so neither Optuna nor torch is imported before (and :data:`NAMES` lists them
from then on).
"""

from __future__ import annotations

import difflib
import inspect
import re
from typing import Any, Mapping

import numpy as np

from nabench.errors import ConfigError
from nabench.search.base import Searcher
from nabench.search.bo import BayesOpt
from nabench.search.evolution import RegularizedEvolution
from nabench.search.local import LocalSearch
from nabench.search.random_search import RandomSearch
from nabench.search.reinforce import Reinforce
from nabench.spaces.base import SearchSpace

SEARCHERS: dict[str, type[Searcher]] = {
    c.name: c for c in (RandomSearch, RegularizedEvolution, BayesOpt, LocalSearch, Reinforce)
}
NA_PREFIX = "na-"
NAMES: tuple[str, ...] = tuple(SEARCHERS) + tuple(NA_PREFIX + n for n in SEARCHERS)
#: Entry-point group through which an installed package adds searchers (each entry point: a Searcher subclass).
ENTRY_POINT_GROUP = "nabench.searchers"
_BUILTIN: frozenset[str] = frozenset(SEARCHERS)
_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{0,49}")
#: Base names of searchers that need an optional extra -> the module holding them (its ``SEARCHERS`` dict).
OPTIONAL: dict[str, str] = {n: "nabench.search.optuna_searcher"
                            for n in ("optuna-tpe", "optuna-gp", "optuna-random", "optuna")}


def _ensure(base: str) -> None:
    """Register the optional searcher ``base`` (importing its module) if it is one and not registered yet."""
    if base in OPTIONAL and base not in SEARCHERS:
        import importlib

        for cls in importlib.import_module(OPTIONAL[base]).SEARCHERS.values():
            register(cls, replace=True)


def register(cls: type[Searcher], *, replace: bool = False) -> type[Searcher]:
    """Add a searcher class under ``cls.name`` (its NA variant ``na-<name>`` comes with it); returns
    ``cls``, so it works as a class decorator. ``replace=True`` lets a name be registered again."""
    global NAMES
    if not (isinstance(cls, type) and issubclass(cls, Searcher)):
        raise ConfigError(f"register() takes a subclass of nabench.search.Searcher, got {cls!r}")
    name = getattr(cls, "name", "")
    if not isinstance(name, str) or not _NAME.fullmatch(name) or name.startswith(NA_PREFIX):
        raise ConfigError(f"searcher class {cls.__qualname__} needs a class attribute name of lowercase letters, "
                          f"digits, '.' and '-' (not starting with {NA_PREFIX!r}), got {name!r}")
    if name in SEARCHERS and SEARCHERS[name] is not cls and (name in _BUILTIN or not replace):
        raise ConfigError(f"a searcher named {name!r} is already registered ({SEARCHERS[name].__module__}."
                          f"{SEARCHERS[name].__qualname__}); give {cls.__qualname__} another name")
    SEARCHERS[name] = cls
    NAMES = tuple(SEARCHERS) + tuple(NA_PREFIX + n for n in SEARCHERS)
    return cls


def plugins() -> dict[str, type[Searcher]]:
    """The searchers registered beyond the built-in ones, by name (what a spawned worker must register too)."""
    return {n: c for n, c in SEARCHERS.items() if n not in _BUILTIN}


def load_entry_points() -> list[str]:
    """Register every searcher installed under :data:`ENTRY_POINT_GROUP`; returns their names (a plugin that
    fails to load is skipped with a warning: :func:`nabench.entrypoints.load_group`)."""
    from nabench.entrypoints import load_group

    return load_group(ENTRY_POINT_GROUP, "searcher", lambda cls: register(cls, replace=True).name)


def parse_name(name: str) -> tuple[str, bool]:
    """``(base searcher, is NA variant)`` of a searcher name such as ``na-rea``."""
    key = str(name).strip().lower().replace("_", "-")
    _ensure(base_of(key))
    if key not in NAMES:
        close = difflib.get_close_matches(key, NAMES + tuple(OPTIONAL), n=1, cutoff=0.5)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(f"unknown searcher {name!r}{hint}; valid searchers are {', '.join(NAMES)}")
    return base_of(key), is_na(key)


def is_na(name: str) -> bool:
    """Whether a searcher name (``na-rea``, ``NA_REA``; also any registered later) names an NA variant.

    Decided by the ``na-`` prefix alone, so names of searchers this process does not know (from a
    results file) are classified the same way as registered ones.
    """
    return str(name).strip().lower().replace("_", "-").startswith(NA_PREFIX)


def base_of(name: str) -> str:
    """The base searcher of a name (``rea`` for ``na-rea``), without checking it is registered."""
    key = str(name).strip().lower().replace("_", "-")
    return key[len(NA_PREFIX):] if key.startswith(NA_PREFIX) else key


def defaults(base: str) -> dict[str, Any]:
    """The hyperparameters of a base searcher and their defaults."""
    _ensure(base)
    sig = inspect.signature(SEARCHERS[base].__init__)
    return {k: p.default for k, p in sig.parameters.items() if k not in ("self", "space", "rng")}


def check_params(base: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """Validate hyperparameter names (values are validated by the searcher)."""
    _ensure(base)
    valid = defaults(base)
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise ConfigError(f"unknown parameter(s) {', '.join(unknown)} for searcher {base!r}; "
                          f"its parameters are {', '.join(valid) or 'none'}")
    return dict(params)


def make(base: str, space: SearchSpace, rng: np.random.Generator, params: Mapping[str, Any] | None = None) -> Searcher:
    """Build a base searcher with validated hyperparameters."""
    _ensure(base)
    return SEARCHERS[base](space, rng, **check_params(base, params or {}))

