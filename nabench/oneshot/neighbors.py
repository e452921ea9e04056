"""The differentiable neighborhood of a relaxed architecture, the heart of NA-DARTS.

A relaxed architecture is a table of op weights ``p = softmax(alpha)`` of shape (E, K): one row
per edge, summing to 1. Its *dominant op* on edge ``e`` is ``d_e = argmax_k p[e, k]``.

A **neighbor move** of radius ``r`` picks ``r`` distinct edges and, on each picked edge ``e``, a
target op ``t_e != d_e``. The neighbor's weights are ``p`` with, on each picked edge, the share
``beta`` (``fraction``) of the dominant op's mass moved to the target op::

    p'[e, d_e] = (1 - beta) * p[e, d_e]
    p'[e, t_e] = p[e, t_e] + beta * p[e, d_e]

and every other entry unchanged. Rows still sum to 1, and ``p'`` is linear in ``p``, so the loss of
every neighbor is differentiable in ``alpha`` (through the softmax and through the moved mass).
With the default ``beta = 1`` the neighbor's own argmax on a picked edge is ``t_e`` (its mass
``p[t_e] + p[d_e]`` beats every other op), so the discretized neighbor is exactly a Hamming-radius-``r``
neighbor of the discretized center: the relaxed counterpart of the neighborhood ``N_r(a)`` that NA
search uses on tabular benchmarks (DESIGN.md section 1).

**Sampling.** The moves are enumerated: ``C(E, r) * (K - 1)**r`` of them (24 for NAS-Bench-201 at
``r = 1``, 196 for the DARTS space), move ``i`` being the ``i // (K-1)**r``-th edge combination with
target offsets given by the base-(K-1) digits of ``i % (K-1)**r`` (target ``t_e = (d_e + offset) % K``,
offset in 1..K-1, i.e. uniform over the other ops). Each alpha step draws ``m`` distinct moves
uniformly (``numpy.random.Generator.choice`` without replacement); ``m = 0``, or ``m`` at least the
number of moves, uses the whole neighborhood (exact, no sampling).

**Objective.** The NA-DARTS alpha loss is ``F({L_val(w, p') : p' in sample})`` where the sample
optionally includes the center ``p`` itself (default: included, as the tabular NA aggregate
includes the cell itself) and ``F`` is ``mean`` (default), ``max`` (worst case) or ``median``.
For ``max`` and ``median`` the gradient is that of the selected term (a subgradient).
"""

from __future__ import annotations

from functools import lru_cache
from itertools import combinations

import numpy as np
import torch

from nabench.oneshot.config import Neighborhood, n_moves

@lru_cache(maxsize=16)
def _edge_combinations(n_edges: int, radius: int) -> np.ndarray:
    return np.array(list(combinations(range(n_edges), radius)), dtype=np.int64).reshape(-1, radius)


def decode_moves(ids: np.ndarray, n_edges: int, n_ops: int, radius: int) -> tuple[np.ndarray, np.ndarray]:
    """Edges ``(m, r)`` and target offsets ``(m, r)`` (in 1..K-1) of move ids ``(m,)``."""
    per_set = (n_ops - 1) ** radius
    ids = np.asarray(ids, dtype=np.int64)
    edges = _edge_combinations(n_edges, radius)[ids // per_set]
    digits = (ids % per_set)[:, None] // (n_ops - 1) ** np.arange(radius - 1, -1, -1)
    return edges, digits % (n_ops - 1) + 1


def sample_moves(n_edges: int, n_ops: int, hood: Neighborhood,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``hood.n_neighbors`` distinct moves (all of them when 0 or too many): edges and offsets."""
    total = n_moves(n_edges, n_ops, hood.radius)
    m = hood.n_neighbors
    ids = np.arange(total) if m == 0 or m >= total else np.sort(rng.choice(total, size=m, replace=False))
    return decode_moves(ids, n_edges, n_ops, hood.radius)


def neighbor_weights(probs: torch.Tensor, edges: np.ndarray, offsets: np.ndarray,
                     fraction: float = 1.0) -> torch.Tensor:
    """Op weights ``(m, E, K)`` of the neighbors of ``probs`` (E, K) reached by the given moves.

    Differentiable in ``probs``; the dominant ops are ``probs.argmax(-1)`` (an index, no gradient).
    """
    m, r = edges.shape
    n_ops = probs.shape[1]
    dev = probs.device
    e = torch.as_tensor(edges, device=dev).reshape(-1)
    nb = torch.arange(m, device=dev).repeat_interleave(r)
    src = probs.detach().argmax(dim=-1)[e]
    tgt = (src + torch.as_tensor(offsets, device=dev).reshape(-1)) % n_ops
    mass = fraction * probs[e, src]
    delta = torch.zeros((m,) + tuple(probs.shape), dtype=probs.dtype, device=dev)
    delta = delta.index_put((nb, e, src), -mass, accumulate=True)
    delta = delta.index_put((nb, e, tgt), mass, accumulate=True)
    return probs.unsqueeze(0) + delta


def neighborhood_weights(probs: torch.Tensor, edges: np.ndarray, offsets: np.ndarray,
                         hood: Neighborhood) -> torch.Tensor:
    """The architectures the NA objective evaluates: ``(A, E, K)``, the center first when included."""
    nbrs = neighbor_weights(probs, edges, offsets, hood.fraction)
    return torch.cat([probs.unsqueeze(0), nbrs]) if hood.include_center else nbrs


def select(losses: torch.Tensor, aggregate: str) -> int | None:
    """Index of the term whose gradient is the aggregate's (``max``/``median``); None for ``mean``."""
    if aggregate == "mean":
        return None
    if aggregate == "max":
        return int(losses.argmax())
    return int(losses.median(dim=0).indices)
