"""Regularized (aging) evolution, as AutoDL-Projects runs it for NAS-Bench-201 / NATS-Bench.

The short loop of Real et al. (2019), Algorithm 1: fill a population with random cells; then each
cycle samples ``tournament`` members uniformly *with replacement*, takes the best as parent (the
first sampled on ties), mutates it by one edit (:meth:`SearchSpace.mutate <nabench.spaces.base.SearchSpace.mutate>`: one
edge's op on NB201, one op or one input on DARTS), adds the child and removes the
oldest member. NATS-Bench's defaults are population 10 and tournament 3.

Bounds (:data:`BOUNDS`, checked with :mod:`nabench.validate`): population and tournament in 1..100,000
(the population lives in memory and a tournament draws that many members per step).
"""

from __future__ import annotations

from collections import deque

import numpy as np

from nabench import validate
from nabench.search.base import Searcher
from nabench.spaces.base import SearchSpace

#: hyperparameter -> (smallest, largest) accepted value
BOUNDS: dict[str, tuple[int, int]] = {"population": (1, 100_000), "tournament": (1, 100_000)}


class RegularizedEvolution(Searcher):
    """Aging evolution with tournament selection."""

    name = "rea"

    def __init__(self, space: SearchSpace, rng: np.random.Generator, population: int = 10, tournament: int = 3) -> None:
        super().__init__(space, rng)
        self.population, self.tournament = (
            validate.integer(f"REA {k}", v, minimum=BOUNDS[k][0], maximum=BOUNDS[k][1])
            for k, v in (("population", population), ("tournament", tournament)))
        #: the living members, oldest first: ``(arch, score)``
        self.members: deque[tuple[int, float]] = deque()

    def _ask(self) -> int:
        if len(self.members) < self.population:
            return self.space.sample(self.rng)
        picks = self.rng.integers(len(self.members), size=self.tournament)
        scores = np.array([self.members[i][1] for i in picks])
        parent = self.members[int(picks[int(np.argmax(scores))])][0]
        return self.space.mutate(parent, self.rng)

    def _tell(self, arch: int, score: float) -> None:
        self.members.append((arch, score))
        if len(self.members) > self.population:
            self.members.popleft()
