"""Regularized (aging) evolution, as AutoDL-Projects runs it for NAS-Bench-201 / NATS-Bench.

The short loop of Real et al. (2019), Algorithm 1: fill a population with random cells; then each
cycle samples ``tournament`` members uniformly *with replacement*, takes the best as parent (the
first sampled on ties), mutates one edge (:meth:`Space.mutate`), adds the child and removes the
oldest member. NATS-Bench's defaults are population 10 and tournament 3.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from nabench.errors import ConfigError
from nabench.search.base import Searcher
from nabench.search.space import Space


class RegularizedEvolution(Searcher):
    """Aging evolution with tournament selection."""

    name = "rea"

    def __init__(self, space: Space, rng: np.random.Generator, population: int = 10, tournament: int = 3) -> None:
        super().__init__(space, rng)
        for label, v in (("population", population), ("tournament", tournament)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ConfigError(f"REA {label} must be a positive integer, got {v!r}")
        self.population_size = int(population)
        self.tournament = int(tournament)
        self.population: deque[tuple[int, float]] = deque()

    def _ask(self) -> int:
        if len(self.population) < self.population_size:
            return self.space.random(self.rng)
        picks = self.rng.integers(len(self.population), size=self.tournament)
        scores = np.array([self.population[i][1] for i in picks])
        parent = self.population[int(picks[int(np.argmax(scores))])][0]
        return self.space.mutate(parent, self.rng)

    def _tell(self, arch: int, score: float) -> None:
        self.population.append((arch, score))
        if len(self.population) > self.population_size:
            self.population.popleft()
