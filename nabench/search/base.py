"""The ask/tell interface every searcher implements.

A searcher is built from a :class:`~nabench.spaces.base.SearchSpace` (sampling, edits, neighbors,
a categorical encoding: no accuracies) and a :class:`numpy.random.Generator`, its only source of
randomness. Searchers use only the space's protocol, so each runs on every space (NB201, DARTS, NATS
sss); per-run memory is dicts and sets, never arrays sized by the space. The search loop
calls :meth:`Searcher.ask` for the next candidate (an arch: an int, see :mod:`nabench.spaces.base`) and :meth:`Searcher.tell` with
that candidate's score; asks and tells alternate. A searcher never sees the benchmark, the signal
object, costs or any test split: scores reach it only through ``tell``. Which candidate is the
incumbent is decided by the loop (the best score told so far), the same way for every searcher.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np

from nabench.spaces.base import SearchSpace


class Searcher(ABC):
    """Base class: enforces the ask/tell alternation; subclasses implement ``_ask`` and ``_tell``."""

    name: ClassVar[str] = ""

    def __init__(self, space: SearchSpace, rng: np.random.Generator) -> None:
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"a searcher needs a numpy.random.Generator, got {type(rng).__name__}")
        self.space = space
        self.rng = rng
        self._pending: int | None = None

    def ask(self) -> int:
        """The next candidate to evaluate (an arch of the space)."""
        if self._pending is not None:
            raise RuntimeError(f"{self.name}: ask() called twice without tell(); tell the score of {self._pending} first")
        self._pending = int(self._ask())
        return self._pending

    def tell(self, arch: int, score: float) -> None:
        """The score of the candidate returned by the last :meth:`ask`."""
        if self._pending is None or int(arch) != self._pending:
            raise RuntimeError(f"{self.name}: tell({arch}) does not answer the pending ask ({self._pending})")
        self._pending = None
        self._tell(int(arch), float(score))

    @abstractmethod
    def _ask(self) -> int: ...

    @abstractmethod
    def _tell(self, arch: int, score: float) -> None: ...
