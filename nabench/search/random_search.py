"""Random search: uniform cells (:meth:`SearchSpace.sample`), with replacement (NAS-Bench-201's RANDOM baseline)."""

from __future__ import annotations

from nabench.search.base import Searcher


class RandomSearch(Searcher):
    """Proposes a uniformly random cell each step; repeats are possible and cost nothing."""

    name = "rs"

    def _ask(self) -> int:
        return self.space.sample(self.rng)

    def _tell(self, arch: int, score: float) -> None:
        return None
