"""Searchers by name: ``rs``, ``rea``, ``bo``, ``ls``, ``reinforce`` and their NA variants ``na-*``.

An NA variant is the same searcher class driven through the NA scorer
(:class:`~nabench.search.na.NeighborhoodScorer`); the registry only records which is which, and
:func:`is_na` is THE test of NA-ness for names anywhere (summaries, plots, analysis). Every searcher
runs on every space (:class:`~nabench.spaces.base.SearchSpace`).
"""

from __future__ import annotations

import difflib
import inspect
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


def parse_name(name: str) -> tuple[str, bool]:
    """``(base searcher, is NA variant)`` of a searcher name such as ``na-rea``."""
    key = str(name).strip().lower().replace("_", "-")
    if key not in NAMES:
        close = difflib.get_close_matches(key, NAMES, n=1, cutoff=0.5)
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
    sig = inspect.signature(SEARCHERS[base].__init__)
    return {k: p.default for k, p in sig.parameters.items() if k not in ("self", "space", "rng")}


def check_params(base: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """Validate hyperparameter names (values are validated by the searcher)."""
    valid = defaults(base)
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise ConfigError(f"unknown parameter(s) {', '.join(unknown)} for searcher {base!r}; "
                          f"its parameters are {', '.join(valid) or 'none'}")
    return dict(params)


def make(base: str, space: SearchSpace, rng: np.random.Generator, params: Mapping[str, Any] | None = None) -> Searcher:
    """Build a base searcher with validated hyperparameters."""
    return SEARCHERS[base](space, rng, **check_params(base, params or {}))
