"""A searcher plugin for nabench: greedy mutation hill climbing.

Installed (``pip install .``), it is a searcher like the built-in ones: ``nabench run --searcher
greedy,na-greedy``, ``searchers = ["greedy", "na-greedy"]`` in a TOML grid, hyperparameters through
``params = { greedy = { n_init = 5 } }`` or ``--param greedy.n_init=5``, in spawned workers and on Slurm.
Its NA variant comes for free: nabench drives the same class through its neighborhood scorer.

The contract (``nabench.search.Searcher``): a class attribute ``name``; ``__init__(space, rng, **params)``
with every hyperparameter a keyword with a default (nabench reads them from the signature); ``_ask()``
returns an arch of ``space``; ``_tell(arch, score)`` receives its score. All randomness comes from
``self.rng``, so a run is a function of its seed. Use only the space's protocol (``sample``, ``mutate``,
``neighbors``, ``encode``/``decode``) and the searcher runs on every space.
"""

from __future__ import annotations

import numpy as np

from nabench.errors import ConfigError
from nabench.search import Searcher


class GreedyMutation(Searcher):
    """``n_init`` random cells, then mutations of the best cell so far (first improvement moves it)."""

    name = "greedy"

    def __init__(self, space, rng: np.random.Generator, n_init: int = 10) -> None:
        super().__init__(space, rng)
        if isinstance(n_init, bool) or not isinstance(n_init, int) or n_init < 1:
            raise ConfigError(f"greedy n_init must be a positive integer, got {n_init!r}")
        self.n_init = n_init
        self._told = 0
        self._best: tuple[float, int] | None = None

    def _ask(self) -> int:
        if self._told < self.n_init or self._best is None:
            return int(self.space.sample(self.rng))
        return int(self.space.mutate(self._best[1], self.rng))

    def _tell(self, arch: int, score: float) -> None:
        self._told += 1
        if self._best is None or score > self._best[0]:
            self._best = (score, arch)
