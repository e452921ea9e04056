"""Local search: first-improvement hill climbing over one-edit neighbors, with random restarts.

From the current cell, its radius-1 neighbors (:meth:`SearchSpace.neighbors`: 24 on NB201, 120 on
DARTS) are visited in a random order; the first one scoring higher
becomes the current cell. A cell none of whose neighbors scores higher is a local optimum: the
search restarts from a random cell it has not seen. Neighbors whose score it already knows are
compared without a new evaluation. The first cell is the best of ``n_init`` random cells (1 = plain
random start; a restart draws ``n_init`` fresh cells too), so LS can start like REA and BO.

First-improvement (rather than evaluating the whole neighborhood and taking the best) spends fewer
evaluations per move, which matters under budgets of ~100 evaluations.

Bounds (:data:`BOUNDS`, checked with :mod:`nabench.validate`): ``1 <= n_init <= 100,000``.
"""

from __future__ import annotations

import numpy as np

from nabench import validate
from nabench.search.base import Searcher
from nabench.spaces.base import SearchSpace

#: hyperparameter -> (smallest, largest) accepted value
BOUNDS: dict[str, tuple[int, int]] = {"n_init": (1, 100_000)}


class LocalSearch(Searcher):
    """Hill climbing with random restarts."""

    name = "ls"

    def __init__(self, space: SearchSpace, rng: np.random.Generator, n_init: int = 1) -> None:
        super().__init__(space, rng)
        self.n_init = validate.integer("LS n_init", n_init, minimum=BOUNDS["n_init"][0], maximum=BOUNDS["n_init"][1])
        self.known: dict[int, float] = {}
        self.current: tuple[int, float] | None = None
        self._queue: list[int] = []
        self._starts: list[tuple[int, float]] = []

    def _unseen_random(self) -> int:
        for _ in range(1000):
            a = self.space.sample(self.rng)
            if a not in self.known:
                return a
        if not self.space.enumerable:
            return self.space.sample(self.rng)
        unseen = np.setdiff1d(np.arange(self.space.size), np.fromiter(self.known, dtype=np.int64))
        return int(unseen[self.rng.integers(len(unseen))]) if len(unseen) else self.space.sample(self.rng)

    def _move_to(self, arch: int, score: float) -> None:
        self.current = (arch, score)
        nb = np.asarray(self.space.neighbors(arch), dtype=np.int64)
        self._queue = nb[self.rng.permutation(len(nb))].tolist()

    def _ask(self) -> int:
        while self.current is not None and self._queue:
            nxt = int(self._queue.pop(0))
            if nxt not in self.known:
                return nxt
            if self.known[nxt] > self.current[1]:
                self._move_to(nxt, self.known[nxt])
        self.current = None  # the start, or a local optimum: (re)start from fresh random cells
        return self._unseen_random()

    def _tell(self, arch: int, score: float) -> None:
        self.known[arch] = score
        if self.current is None:
            self._starts.append((arch, score))
            if len(self._starts) >= self.n_init:
                best = max(self._starts, key=lambda t: t[1])
                self._starts = []
                self._move_to(*best)
            return
        if score > self.current[1]:
            self._move_to(arch, score)
