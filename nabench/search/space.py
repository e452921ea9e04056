"""The search space as a searcher sees it: cells by official index, their ops, neighbors and moves.

It holds no accuracies: a searcher gets a :class:`Space` and a Generator, never the benchmark.
"""

from __future__ import annotations

import numpy as np

from nabench.spaces import nb201
from nabench.spaces.nb201 import N_ARCHS, N_EDGES, N_NODES, N_OPS, OfficialOrder

#: String position of the first edge into node ``t`` (edges into node t are ``t`` consecutive positions).
_NODE_OFFSET = tuple(t * (t - 1) // 2 for t in range(1, N_NODES))


class Space:
    """The 15,625 NAS-Bench-201 cells in official-index space."""

    n_archs = N_ARCHS
    n_edges = N_EDGES
    n_ops = N_OPS

    def __init__(self, order: OfficialOrder) -> None:
        self.order = order
        self.ops = nb201.all_ops()[order.code_of_index]
        self.ops.setflags(write=False)
        self.onehot = nb201.to_onehot(self.ops).astype(np.float64)
        self._neighbors = order.neighbors(1).astype(np.int64)
        for a in (self.onehot, self._neighbors):
            a.setflags(write=False)

    def random(self, rng: np.random.Generator) -> int:
        """A uniformly random cell (one op drawn uniformly per edge, as NAS-Bench-201's random search)."""
        return int(rng.integers(N_ARCHS))

    def index_of(self, ops: np.ndarray) -> int:
        """Official index of one op vector."""
        return int(self.order.index_of_code[int(np.dot(np.asarray(ops, dtype=np.int64), nb201._POW5))])

    def neighbors(self, index: int | np.ndarray) -> np.ndarray:
        """The 24 cells one edit away (official indices); ``(n, 24)`` for an array of indices."""
        return self._neighbors[index]

    def hamming(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """``(len(a), len(b))`` Hamming distances between cells (via one-hot products)."""
        return self.n_edges - np.rint(self.onehot[a] @ self.onehot[b].T).astype(np.int64)

    def mutate(self, index: int, rng: np.random.Generator) -> int:
        """One edge set to a different op, chosen as AutoDL-Projects' REA does it.

        A target node is drawn uniformly (1, 2 or 3), then one of its incoming edges, then one of the
        four other ops; so the edge into node 1 changes with probability 1/3 and each edge into node 3
        with 1/9, not uniformly over edges.
        """
        node = int(rng.integers(N_NODES - 1))
        edge = _NODE_OFFSET[node] + int(rng.integers(node + 1))
        ops = self.ops[index].astype(np.int64)
        ops[edge] = (ops[edge] + int(rng.integers(1, N_OPS))) % N_OPS
        return self.index_of(ops)
