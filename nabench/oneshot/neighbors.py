"""The differentiable neighborhood of a relaxed architecture, the heart of NA-DARTS.

A relaxed architecture is a table of op weights ``p = softmax(alpha)`` of shape (E, K): one row per
supernet edge, summing to 1. Its *derived cell* is what the search records after each epoch: in
NAS-Bench-201 the argmax op of every edge (``none`` included); in the DARTS space the DARTS genotype
(per node the two inputs whose strongest non-``none`` op is largest, each with that op).

**One vocabulary, one enumeration.** The neighborhood is the space's own: the radius-1 neighbors of the
derived cell are ``space.neighbors(cell)`` of the space object (:class:`~nabench.spaces.nb201.NB201Space`,
:class:`~nabench.spaces.darts.DartsSpace`), and radius ``r`` is the ball of cells at distance ``1..r``
(``exact``: the shell) with or without the cell itself (``include_self``), ``k`` of them sampled, their
losses aggregated by ``agg`` -- the fields and meanings of the tabular
:class:`~nabench.neighborhood.NeighborhoodSpec` (:class:`~nabench.oneshot.config.Neighborhood`).
:mod:`nabench.oneshot.moves` enumerates the members as sequences of radius-1 neighbor numbers (on the
host); this module builds each member on the relaxed weights (on the device, inside the captured step).

**The relaxed move.** Each radius-1 neighbor ``j`` of the space is a *full move* ``M_j``, a map of op
weight tables that is linear in ``p`` given the derived cell (indices computed from ``p`` carry no
gradient):

* an **op change** of an edge (NAS-Bench-201: any of the 6 edges; DARTS: one of the 16 active edges) from
  its derived op ``d`` to ``t``: all of ``p[e, d]`` moves to ``p[e, t]``. The edge's derived op becomes
  ``t`` (``p[e, t] + p[e, d]`` beats every other op) and, in DARTS, its strength only grows, so it stays
  among its node's two inputs;
* an **input move** (DARTS only) of node ``k`` from source ``i`` to the unused source ``u``, keeping the
  op: the weight rows of the edges ``k <- i`` and ``k <- u`` are swapped (a permutation: linear,
  differentiable). The edge ``k <- u`` now carries ``i``'s op and strength, ``k <- i`` the weaker row of
  ``u``, so the derived node takes inputs ``u`` and the kept one, with the moved op.

A neighbor at distance ``d`` composes ``d`` full moves, each numbered by the space's order for the cell
derived after the previous ones. The relaxed neighbor moves the share ``beta`` (``fraction``) of the
way to the full move::

    p' = p + beta * (M(p) - p)

so with ``beta = 1`` it is ``M(p)`` and its derived cell is exactly the space's neighbor (checked for
every neighbor of random alphas in both spaces by the tests), and for an op change ``p'[e, d] = (1 -
beta) p[e, d]``, ``p'[e, t] = p[e, t] + beta p[e, d]``. Rows stay on the simplex, entries not moved are
``p`` exactly, and the loss of every neighbor is differentiable in ``alpha`` (through the softmax, the
moved mass and the swapped rows). Exact ties in ``p`` (probability zero for a trained alpha) are broken
as the derivation breaks them (lowest index first).

**Objective.** The NA-DARTS alpha loss is ``F({L_val(w, p') : p' in sample})``, where the sample
includes the center ``p`` itself when ``include_self`` (default, as the tabular NA aggregate does) and
``F`` is ``mean`` (default), ``max`` (the worst case, the loss mirror of the tabular ``min``) or
``median`` (:data:`nabench.neighborhood.LOSS_AGGREGATES`). For ``max`` and ``median`` the gradient is
that of the selected term (a subgradient).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from nabench.oneshot.config import Neighborhood
from nabench.oneshot.moves import Moves, moves_for, sample
from nabench.spaces import darts, nb201

__all__ = ["Neighborhood", "Relaxation", "NB201Relaxation", "DartsRelaxation", "relaxation_for", "sample_moves",
           "full_moves", "neighbor_weights", "neighborhood_weights", "select"]


class _DeviceTables:
    """Small constant index tables, copied once to each device they are used on."""

    def __init__(self, **tables: np.ndarray) -> None:
        self._host = {k: torch.as_tensor(v) for k, v in tables.items()}
        self._dev: dict[torch.device, dict[str, torch.Tensor]] = {}

    def on(self, device: torch.device) -> dict[str, torch.Tensor]:
        if device not in self._dev:
            self._dev[device] = {k: v.to(device) for k, v in self._host.items()}
        return self._dev[device]


class NB201Relaxation:
    """NAS-Bench-201: move ``j`` sets edge ``j // 4`` to the ``j % 4``-th of its other ops, ascending."""

    shape = (nb201.N_EDGES, nb201.N_OPS)

    def __init__(self, space: Any) -> None:
        self.space = space

    def center(self, alpha: torch.Tensor) -> int:
        """The derived cell as an arch of the space (argmax per edge, ``none`` included)."""
        return int(self.space.index_of(alpha.detach().argmax(dim=-1).cpu().numpy()))

    def step(self, w: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        """One full move per architecture: ``w`` (m, 6, 5), ``ids`` (m,) (``-1``: none)."""
        m, k = w.shape[0], nb201.N_OPS - 1
        ar = torch.arange(m, device=w.device)
        valid = ids >= 0
        j = ids.clamp_min(0)
        e, rank = j // k, j % k
        d = w.detach()[ar, e].argmax(dim=-1)
        t = rank + (rank >= d).long()
        mass = torch.where(valid, w[ar, e, d], torch.zeros_like(w[ar, e, d]))
        delta = torch.zeros_like(w).index_put((ar, e, d), -mass, accumulate=True)
        return w + delta.index_put((ar, e, t), mass, accumulate=True)


#: the DARTS space's intermediate nodes as the search network numbers its rows: (cell, node k) in the order
#: of DartsSpace's digits, each with its first alpha row and number of sources
_DARTS_NODES = [(c, k) for c in range(2) for k in range(2, 2 + darts.N_NODES)]
_N_SRC = 2 + darts.N_NODES - 1          # the most sources a node has (node 5: 0..4)


def _darts_tables() -> dict[str, np.ndarray]:
    base = np.array([c * darts.N_EDGES + darts.EDGE_START[k] for c, k in _DARTS_NODES], dtype=np.int64)
    n_src = np.array([k for _, k in _DARTS_NODES], dtype=np.int64)
    n_ops = len(darts.OPS)
    kind, node, slot, arg = [], [], [], []
    for a, (c, k) in enumerate(_DARTS_NODES):          # 96 op changes: active edge-major, the 6 shifts
        for s in (0, 1):
            for shift in range(1, n_ops):
                kind.append(0), node.append(a), slot.append(s), arg.append(shift)
    for c in range(2):                                  # 24 input moves, DartsSpace's _move_tables order
        for k in (3, 4, 5):
            for s in (0, 1):
                for t in range(k - 2):
                    kind.append(1), node.append(_DARTS_NODES.index((c, k))), slot.append(s), arg.append(t)
    return {"base": base, "n_src": n_src, "kind": np.array(kind), "node": np.array(node),
            "slot": np.array(slot), "arg": np.array(arg)}


class DartsRelaxation:
    """The DARTS space on the search network's (28, 8) weights (rows: normal cell edges, then reduce)."""

    shape = (2 * darts.N_EDGES, len(darts.PRIMITIVES))
    _tables = _DeviceTables(**_darts_tables())

    def __init__(self, space: Any) -> None:
        self.space = space

    def center(self, alpha: torch.Tensor) -> int:
        """The derived genotype's code (DARTS's rule, as the search records it)."""
        from nabench.oneshot.darts_network import derive_genotype

        return int(self.space.from_genotype(derive_genotype(alpha.detach().softmax(dim=-1).cpu().numpy())))

    def _derive(self, w: torch.Tensor, tab: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor,
                                                                               torch.Tensor]:
        """Per architecture: each row's op (OPS numbering) and each node's two inputs (lower, higher)."""
        real = w.detach()[..., 1:]                                           # without none
        strength, op = real.max(dim=-1)                                      # (m, 28)
        src = torch.arange(_N_SRC, device=w.device)
        present = src[None, :] < tab["n_src"][:, None]                       # (8, 5)
        rows = (tab["base"][:, None] + src[None, :]).clamp_max(w.shape[1] - 1)
        s = strength[:, rows].masked_fill(~present, float("-inf"))           # (m, 8, 5)
        # rank = sources ahead in DARTS's stable order (larger strength first, lower index on ties)
        ahead = (s[..., None, :] > s[..., :, None]) | ((s[..., None, :] == s[..., :, None])
                                                       & (src[None, :] < src[:, None]))
        chosen = (ahead & present[:, None, :]).sum(dim=-1) < 2
        chosen = chosen & present
        lo = torch.where(chosen, src, _N_SRC).amin(dim=-1)
        hi = torch.where(chosen, src, -1).amax(dim=-1)
        return op, lo, hi

    def step(self, w: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        """One full move per architecture: ``w`` (m, 28, 8), ``ids`` (m,) (``-1``: none)."""
        tab = self._tables.on(w.device)
        m, n_rows = w.shape[0], w.shape[1]
        ar = torch.arange(m, device=w.device)
        op, lo, hi = self._derive(w, tab)
        j = ids.clamp_min(0)
        node, slot, arg = tab["node"][j], tab["slot"][j], tab["arg"][j]
        is_op = (ids >= 0) & (tab["kind"][j] == 0)
        is_in = (ids >= 0) & (tab["kind"][j] == 1)
        lo_n, hi_n = lo[ar, node], hi[ar, node]
        moved = torch.where(slot == 0, lo_n, hi_n)
        row = tab["base"][node] + moved
        # op change: the derived op's mass to the shifted op (none is column 0, OPS start at column 1)
        d = op[ar, row]
        t = (d + arg) % len(darts.OPS)
        mass = torch.where(is_op, w[ar, row, d + 1], torch.zeros_like(w[ar, row, d + 1]))
        delta = torch.zeros_like(w).index_put((ar, row, d + 1), -mass, accumulate=True)
        delta = delta.index_put((ar, row, t + 1), mass, accumulate=True)
        # input move: the arg-th unused source u of the node; swap rows (node <- moved) and (node <- u)
        src = torch.arange(_N_SRC, device=w.device)
        free = ((src[None, :] < tab["n_src"][node][:, None]) & (src[None, :] != lo_n[:, None])
                & (src[None, :] != hi_n[:, None]))
        u = ((free.long().cumsum(dim=-1) == (arg + 1)[:, None]) & free).long().argmax(dim=-1)
        other = torch.where(is_in, tab["base"][node] + u, row)
        perm = torch.arange(n_rows, device=w.device).repeat(m, 1)
        perm = perm.scatter(1, torch.stack([row, other], dim=1), torch.stack([other, row], dim=1))
        return w.gather(1, perm[..., None].expand(-1, -1, w.shape[2])) + delta


Relaxation = NB201Relaxation | DartsRelaxation


def relaxation_for(space: Any) -> Relaxation:
    """The relaxed moves of a space object (``space.name``: ``nb201`` or ``darts``)."""
    moves_for(space)                    # the one check of supported spaces
    return NB201Relaxation(space) if space.name == "nb201" else DartsRelaxation(space)


def sample_moves(moves: Moves, hood: Neighborhood, rng: np.random.Generator, center: int | None = None) -> np.ndarray:
    """The move sequences of one alpha step: ``hood.k`` members drawn from ``rng`` (all when None)."""
    return sample(moves, hood.radius, hood.exact, hood.k, rng, center)


def full_moves(probs: torch.Tensor, seqs: Any, relax: Relaxation) -> torch.Tensor:
    """``M(p)`` for every move sequence: ``(m, E, K)`` from ``probs`` (E, K) and ``seqs`` (m, r)."""
    if tuple(probs.shape) != relax.shape:
        raise ValueError(f"op weights of shape {tuple(probs.shape)} do not match the space's {relax.shape}")
    if not isinstance(seqs, torch.Tensor):
        seqs = torch.from_numpy(np.array(seqs, dtype=np.int64).reshape(len(seqs), -1))
    seqs = seqs.to(probs.device)
    w = probs.unsqueeze(0).expand(seqs.shape[0], -1, -1)
    for i in range(seqs.shape[1]):
        w = relax.step(w, seqs[:, i])
    return w


def neighbor_weights(probs: torch.Tensor, seqs: Any, relax: Relaxation, fraction: float = 1.0) -> torch.Tensor:
    """Op weights ``(m, E, K)`` of the relaxed neighbors ``p + beta * (M(p) - p)``; differentiable in ``probs``."""
    full = full_moves(probs, seqs, relax)
    if fraction == 1.0:
        return full
    return probs.unsqueeze(0) + fraction * (full - probs.unsqueeze(0))


def neighborhood_weights(probs: torch.Tensor, seqs: Any, relax: Relaxation, hood: Neighborhood) -> torch.Tensor:
    """The architectures the NA objective evaluates: ``(A, E, K)``, the center first when ``include_self``."""
    nbrs = neighbor_weights(probs, seqs, relax, hood.fraction)
    return torch.cat([probs.unsqueeze(0), nbrs]) if hood.include_self else nbrs


def select(losses: torch.Tensor, agg: str) -> int | None:
    """Index of the term whose gradient is the aggregate's (``max``/``median``); None for ``mean``."""
    if agg == "mean":
        return None
    if agg == "max":
        return int(losses.argmax())
    return int(losses.median(dim=0).indices)
