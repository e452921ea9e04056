"""The host half of NA-DARTS's neighborhood: which neighbors an alpha step evaluates (torch-free).

A neighbor is named by a **move sequence**: a row of radius-1 neighbor numbers of the space, applied one
after the other, ``-1`` padding the rows of nearer neighbors. Number ``j`` means "the ``j``-th entry of
``space.neighbors(a)``" for the cell ``a`` derived at that point of the sequence, so NA-DARTS enumerates
the space's own neighbors (:mod:`nabench.oneshot.neighbors` builds each move on the relaxed weights, on
the device, and its docstring gives the construction; the tests check that discretizing every relaxed
neighbor gives exactly ``space.neighbors(derived cell, radius)``).

The neighborhood of radius ``r`` is the ball (every cell at distance ``1..r``) unless ``exact`` (the shell
at ``r``), as in :class:`nabench.neighborhood.NeighborhoodSpec`; each member appears once:

* **NAS-Bench-201** (24 radius-1 moves: edge ``j // 4``, the ``j % 4``-th other op ascending, the order of
  :meth:`~nabench.spaces.nb201.NB201Space.neighbors`): the member at distance ``d`` changes ``d`` distinct
  edges, so its sequence is ``d`` single-edge moves, edge sets in lexicographic order and replacement ops
  ascending (again the space's order: row ``i`` of :meth:`NB201Moves.ball` is ``space.neighbors(a, r)[i]``).
  The sequences do not depend on the cell, so no step needs alpha on the host.
* **The DARTS space** (120 radius-1 moves, :class:`~nabench.spaces.darts.DartsSpace`'s order: 96 op changes,
  then 24 input moves): radius 1 needs no cell either. Radius 2 reaches some cells in several ways
  (two op changes in either order, an op change undone ...), so the ball is enumerated from the derived
  cell's code: shell 1 in move order, then the cells two moves away that are not nearer, ascending by
  code, each through the first pair of moves (row-major) that reaches it. That is the order of
  ``DartsSpace.neighbors(a, 2)`` (about 7,000 cells). It costs one read of alpha on the host and about 5 ms
  of numpy per alpha step (``needs_center``); with ``k`` None its size varies with the cell, so a
  ``--graphs`` step of that shape runs eagerly.

Sampling: ``k`` members uniformly without replacement (``Generator.choice``, in member order); all of them
when ``k`` is None or at least the neighborhood's size. The number of sequences enumerated per step
(NAS-Bench-201: the members; DARTS: ``120**r`` compositions) is capped at :data:`MAX_MOVES`, a clear
error beyond (radius 3 in the DARTS space: 1,728,000).
"""

from __future__ import annotations

from functools import lru_cache
from itertools import combinations, product
from typing import Any

import numpy as np

from nabench.errors import ConfigError
from nabench.spaces import nb201

#: The largest number of move sequences enumerated for one alpha step.
MAX_MOVES = 100_000


class NB201Moves:
    """NAS-Bench-201: single-edge op changes, the neighborhood independent of the cell."""

    #: radius-1 moves (= ``len(space.neighbors(a))``)
    n_single = nb201.N_EDGES * (nb201.N_OPS - 1)
    max_radius = nb201.N_EDGES

    def __init__(self, space: Any) -> None:
        self.space = space

    def n_sequences(self, radius: int, exact: bool = False) -> int:
        """Sequences enumerated per step: the members of the ball (shell)."""
        return sum(nb201.n_neighbors(d) for d in _shells(radius, exact))

    def needs_center(self, radius: int, exact: bool = False) -> bool:
        return False

    def ball(self, radius: int, exact: bool = False, center: int | None = None) -> np.ndarray:
        """``(n, radius)`` move sequences of every member, in ``space.neighbors(a, radius, exact)`` order."""
        return _nb201_ball(int(radius), bool(exact))


@lru_cache(maxsize=16)
def _nb201_ball(radius: int, exact: bool) -> np.ndarray:
    k = nb201.N_OPS - 1
    rows = []
    for d in _shells(radius, exact):
        for edges in combinations(range(nb201.N_EDGES), d):
            for ranks in product(range(k), repeat=d):
                rows.append([e * k + r for e, r in zip(edges, ranks)] + [-1] * (radius - d))
    out = np.array(rows, dtype=np.int64).reshape(-1, radius)
    out.setflags(write=False)
    return out


class DartsMoves:
    """The DARTS space: 96 op changes and 24 input moves; radius >= 2 enumerated from the derived cell."""

    def __init__(self, space: Any) -> None:
        self.space = space
        self.n_single = int(np.asarray(space.neighbors(0)).shape[0])

    def n_sequences(self, radius: int, exact: bool = False) -> int:
        """Sequences enumerated per step: all ``120**radius`` compositions (before deduplication)."""
        return self.n_single ** radius

    def needs_center(self, radius: int, exact: bool = False) -> bool:
        return radius > 1

    def ball(self, radius: int, exact: bool = False, center: int | None = None) -> np.ndarray:
        """``(n, radius)`` move sequences of every member, in ``space.neighbors(center, radius, exact)`` order."""
        single = np.arange(self.n_single, dtype=np.int64)[:, None]
        if radius == 1:
            return single
        if center is None:
            raise ValueError("the DARTS-space neighborhood of radius > 1 is enumerated from the derived cell")
        seen = np.array([int(center)], dtype=np.int64)
        codes = np.asarray(self.space.neighbors(int(center)), dtype=np.int64)
        seqs, shells = single, [single]
        for _ in range(2, radius + 1):
            seen = np.concatenate([seen, codes])
            nxt = np.asarray(self.space.neighbors(codes), dtype=np.int64).reshape(-1)
            fresh = ~np.isin(nxt, seen)
            codes, first = np.unique(nxt[fresh], return_index=True)
            parent, move = np.divmod(np.flatnonzero(fresh)[first], self.n_single)
            seqs = np.concatenate([seqs[parent], move[:, None]], axis=1)
            shells.append(seqs)
        if exact:
            return shells[-1]
        return np.concatenate([np.pad(s, ((0, 0), (0, radius - s.shape[1])), constant_values=-1) for s in shells])


Moves = NB201Moves | DartsMoves


def moves_for(space: Any) -> Moves:
    """The move enumeration of a space object (``space.name``: ``nb201`` or ``darts``)."""
    name = getattr(space, "name", None)
    if name == "nb201":
        return NB201Moves(space)
    if name == "darts":
        return DartsMoves(space)
    raise ConfigError(f"NA-DARTS has no supernet for the space {name!r}; use --space 201 or darts")


def check_radius(moves: Moves, radius: int, exact: bool) -> None:
    """A one-line error for a radius the space cannot enumerate."""
    top = getattr(moves, "max_radius", None)
    if top is not None and radius > top:
        raise ConfigError(f"--radius {radius} is out of range; this space's cells have {top} edges, use 1..{top}")
    n = moves.n_sequences(radius, exact)
    if n > MAX_MOVES:
        raise ConfigError(f"--radius {radius} needs {n:,} move sequences per alpha step, more than nabench "
                          f"enumerates ({MAX_MOVES:,}); use a smaller radius")


def sample(moves: Moves, radius: int, exact: bool, k: int | None, rng: np.random.Generator,
           center: int | None = None) -> np.ndarray:
    """``k`` members' move sequences drawn uniformly without replacement (all when ``k`` is None or too large)."""
    ball = moves.ball(radius, exact, center)
    if k is None or k >= len(ball):
        return np.array(ball)
    return ball[np.sort(rng.choice(len(ball), size=k, replace=False))]


def _shells(radius: int, exact: bool) -> list[int]:
    return [radius] if exact else list(range(1, radius + 1))
