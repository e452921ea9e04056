"""Neighborhood aggregation and flatness statistics: the one neighborhood vocabulary of nabench.

:class:`NeighborhoodSpec` (radius as a ball unless ``exact``, ``include_self``, ``k`` sampled, ``dedup``,
the aggregate) is shared by tabular NA search on every space (:func:`members_of` gives one arch's
members in any :class:`~nabench.spaces.base.SearchSpace`) and by NA-DARTS (:mod:`nabench.oneshot.neighbors`
relaxes the same members, from ``space.neighbors``, with this vocabulary and :data:`LOSS_AGGREGATES`).
On NAS-Bench-201 everything below is vectorized over all 15,625 cells:

A neighborhood ``N_r(a)`` is the set of cells within Hamming distance ``r`` of ``a`` over the six
edge operations (the *ball*: 24 cells for r=1, 24 + 240 = 264 for r=2), optionally only the cells at
distance exactly ``r`` (the *shell*, ``exact=True``: 24 / 240), optionally with ``a`` itself. Every
function works in official-index space: ``values[i]`` is the signal of official index ``i`` and the
neighbor tables come from :meth:`nabench.spaces.nb201.OfficialOrder.neighbors`.

Decisions the issue leaves open, and why:

* **Radius means a ball.** ``N_r`` holds every cell at distance ``1..r`` (the usual definition of a
  neighborhood of radius r, and the only one under which a distance-weighted mean differs from the
  plain mean). ``exact=True`` gives the shell for studies of flatness as a function of distance.
* **Distance weights.** ``agg="weighted"`` gives a cell at distance ``d`` the weight ``decay**d``
  (the center has weight 1; the default ``decay=0.5`` halves the weight per edit). Weights are per
  cell, so the 240 cells of the r=2 shell together outweigh the 24 of the r=1 shell, as in a plain
  mean; normalize by shell size yourself if you want equal shell weights.
* **Sampling.** ``k`` draws ``k`` neighbors per architecture uniformly without replacement from
  the Generator passed in (the center, when included, is always kept and not counted in ``k``);
  with fewer than ``k`` valid neighbors (after deduplication) all of them are used.
  Users write the whole neighborhood as ``k = "all"`` (TOML) or ``--k all`` (``nabench run`` and
  ``nabench oneshot``); ``0`` means the same (the one-shot CLI's older spelling); :func:`check_k` reads
  both into ``None``, the spec's "all neighbors".
* **Deduplication** keeps one neighbor per isomorphism class (canonical ids) and drops neighbors
  isomorphic to the center. The kept representative is the one nearest to the center, ties broken
  by the smallest official index, so the choice does not depend on table layout.
* **Quantiles** use linear interpolation between order statistics (numpy's default ``"linear"``
  method); ``median`` is the 0.5 quantile.
* **Flatness** uses the neighbors only (no center): ``drop = center - mean``, ``std`` is the
  population standard deviation (ddof 0) of the neighbor values, ``worst_drop = center - min``.

Neighbor tables (and deduplication masks) are built once per :class:`OfficialOrder` and cached; with
them an r=1 aggregate over all 15,625 cells is one gather and one reduction. The linear aggregates
(mean, weighted) over whole neighborhoods take a faster exact route: in code order the 15,625 values
form a ``5**6`` tensor, the sum over the cells that may differ from ``a`` on an edge set ``S`` is a
sum over the axes ``S``, and Moebius inversion over subsets turns those sums into shell sums
(``shell_1 = sum_e G_e - 6 G_0``, ``shell_2 = sum_{e<f} G_ef - 5 sum_e G_e + 15 G_0``).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np

from nabench.errors import ConfigError
from nabench import validate
from itertools import combinations
from math import comb

from nabench.spaces.nb201 import N_ARCHS, N_EDGES, N_OPS, OfficialOrder, check_index

AGGREGATES: tuple[str, ...] = ("mean", "median", "min", "quantile", "weighted")
RADII: tuple[int, ...] = (1, 2)
#: NA-DARTS aggregates its neighbors' *losses* (lower is better): each name -> the accuracy aggregate it
#: mirrors here ("max" loss is the worst case, as "min" accuracy). NA-DARTS' settings
#: (:class:`nabench.oneshot.config.Neighborhood`) carry this spec's field names and meanings.
LOSS_AGGREGATES: dict[str, str] = {"mean": "mean", "max": "min", "median": "median"}


#: How a user asks for the whole neighborhood rather than ``k`` sampled neighbors (``0`` means the same).
K_ALL = "all"


def check_k(where: str, value: Any, *, text: bool = False) -> int | None:
    """``k`` as a setting, flag or API gives it -> the number of neighbors sampled, or ``None`` for all.

    Accepted: an integer ``>= 1``; ``"all"`` or ``0`` for the whole neighborhood; ``None`` (all). With
    ``text=True`` (a CLI flag) a plain decimal string is read as the integer it writes.
    """
    if value is None:
        return None
    if isinstance(value, str) and value.strip().lower() == K_ALL:
        return None
    try:
        v = validate.int_string(where, value, minimum=0) if text and isinstance(value, str) else \
            validate.integer(where, value, minimum=0)
    except ConfigError:
        raise ConfigError(f"{where} must be a number of neighbors sampled per cell (>= 1), or {K_ALL!r} (or 0) "
                          f"for the whole neighborhood, got {validate.brief(value)}") from None
    return None if v == 0 else v


@dataclass(frozen=True)
class NeighborhoodSpec:
    """Which cells form a neighborhood and how their values are aggregated (see the module docstring)."""

    radius: int = 1
    include_self: bool = True
    k: int | None = None
    agg: str = "mean"
    q: float = 0.5
    decay: float = 0.5
    dedup: bool = False
    exact: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.radius, bool) or self.radius not in RADII:
            raise ConfigError(f"neighborhood radius must be one of {RADII}, got {self.radius!r}")
        if self.k is not None and (isinstance(self.k, bool) or not isinstance(self.k, (int, np.integer))
                                   or self.k < 1):
            raise ConfigError(f"neighborhood k must be a positive integer (neighbors sampled per cell) or None "
                              f"for all neighbors, got {self.k!r}")
        if self.agg not in AGGREGATES:
            raise ConfigError(f"unknown neighborhood aggregate {self.agg!r}; valid aggregates are {', '.join(AGGREGATES)}")
        if not 0.0 <= float(self.q) <= 1.0:
            raise ConfigError(f"quantile q must lie in [0, 1], got {self.q!r}")
        if not 0.0 < float(self.decay) <= 1.0:
            raise ConfigError(f"distance-weight decay must lie in (0, 1], got {self.decay!r}")
        for name in ("include_self", "dedup", "exact"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise ConfigError(f"neighborhood {name} must be true or false, got {getattr(self, name)!r}")

    @property
    def size(self) -> int:
        """Number of NB201 cells per neighborhood before deduplication and sampling (self included if asked);
        in other spaces count ``members_of``."""
        from nabench.spaces.nb201 import n_neighbors

        shells = [self.radius] if self.exact else range(1, self.radius + 1)
        full = sum(n_neighbors(d) for d in shells)
        return (min(full, self.k) if self.k is not None else full) + int(self.include_self)


@dataclass(frozen=True)
class Members:
    """The members of some architectures' neighborhoods, as a padded matrix.

    ``index[i, j]`` is the official index of member ``j`` of row ``i``, ``distance[i, j]`` its Hamming
    distance to the center (broadcastable to ``index``), ``mask[i, j]`` whether it counts (``None``:
    all do). The center, when included, is column 0 with distance 0.
    """

    index: np.ndarray
    distance: np.ndarray
    mask: np.ndarray | None

    def row(self, i: int) -> np.ndarray:
        """The valid members of row ``i`` (official indices)."""
        return self.index[i] if self.mask is None else self.index[i][self.mask[i]]


@dataclass(frozen=True)
class Flatness:
    """Per-architecture flatness statistics over the neighbors (center excluded); arrays of equal length."""

    center: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    min: np.ndarray
    drop: np.ndarray
    worst_drop: np.ndarray
    n: np.ndarray


# ----------------------------------------------------------------------------- cached tables

_CACHE: "weakref.WeakKeyDictionary[OfficialOrder, dict[tuple, Any]]" = weakref.WeakKeyDictionary()


def _cached(order: OfficialOrder, key: tuple, build: Any) -> Any:
    store = _CACHE.setdefault(order, {})
    if key not in store:
        store[key] = build()
    return store[key]


def _table(order: OfficialOrder, radius: int, exact: bool, include_self: bool) -> tuple[np.ndarray, np.ndarray]:
    """Full neighbor table ``(15625, m)`` in official-index space and per-column distances ``(m,)``."""

    def build() -> tuple[np.ndarray, np.ndarray]:
        shells = [radius] if exact else list(range(1, radius + 1))
        parts = [order.neighbors(d).astype(np.intp) for d in shells]
        dists = [np.full(p.shape[1], d, dtype=np.int8) for p, d in zip(parts, shells)]
        if include_self:
            parts.insert(0, np.arange(N_ARCHS, dtype=np.intp)[:, None])
            dists.insert(0, np.zeros(1, dtype=np.int8))
        table, dist = np.concatenate(parts, axis=1), np.concatenate(dists)
        table.setflags(write=False)
        dist.setflags(write=False)
        return table, dist

    return _cached(order, ("table", radius, exact, include_self), build)


def _dedup_mask(order: OfficialOrder, radius: int, exact: bool, include_self: bool) -> np.ndarray:
    """``(15625, m)`` mask keeping one neighbor per isomorphism class, none isomorphic to the center."""

    def build() -> np.ndarray:
        table, dist = _table(order, radius, exact, include_self)
        cid = order.canonical_ids().astype(np.int64)
        classes = cid[table]
        # sort each row by (class, distance, index): the first of each class is the kept representative
        sort_key = (classes * 4 + dist[None, :]) * N_ARCHS + table
        perm = np.argsort(sort_key, axis=1, kind="stable")
        sorted_classes = np.take_along_axis(classes, perm, axis=1)
        first = np.ones_like(sorted_classes, dtype=bool)
        first[:, 1:] = sorted_classes[:, 1:] != sorted_classes[:, :-1]
        keep_sorted = first & (sorted_classes != cid[:, None])
        mask = np.empty_like(keep_sorted)
        np.put_along_axis(mask, perm, keep_sorted, axis=1)
        if include_self:
            mask[:, 0] = True
        mask.setflags(write=False)
        return mask

    return _cached(order, ("dedup", radius, exact, include_self), build)


# ----------------------------------------------------------------------------- members and reduction


def _rows(rows: Any) -> np.ndarray | None:
    if rows is None:
        return None
    r = check_index(np.atleast_1d(np.asarray(rows)))
    return np.atleast_1d(r).astype(np.intp)


def members(order: OfficialOrder, spec: NeighborhoodSpec = NeighborhoodSpec(), *,
            rows: Any = None, rng: np.random.Generator | None = None) -> Members:
    """The neighborhoods of ``rows`` (official indices; all cells if ``None``) under ``spec``.

    With ``spec.k`` set, ``k`` neighbors per row are drawn from ``rng`` (required then).
    """
    if not isinstance(order, OfficialOrder):
        raise ConfigError(f"expected an OfficialOrder (e.g. bench.order), got {type(order).__name__}")
    table, dist = _table(order, spec.radius, spec.exact, spec.include_self)
    mask = _dedup_mask(order, spec.radius, spec.exact, spec.include_self) if spec.dedup else None
    r = _rows(rows)
    index = table if r is None else table[r]
    if mask is not None and r is not None:
        mask = mask[r]
    distance: np.ndarray = dist[None, :]
    if spec.k is None:
        return Members(index, distance, mask)
    if not isinstance(rng, np.random.Generator):
        raise ConfigError("sampling k neighbors needs a numpy Generator: pass rng=np.random.default_rng(seed)")
    start = int(spec.include_self)
    nb_index, nb_dist = index[:, start:], np.broadcast_to(dist[start:], index[:, start:].shape)
    keys = rng.random(nb_index.shape)
    if mask is not None:
        keys[~mask[:, start:]] = np.inf
    k = min(spec.k, nb_index.shape[1])
    pick = np.argpartition(keys, k - 1, axis=1)[:, :k] if k < nb_index.shape[1] else np.argsort(keys, axis=1)
    s_index = np.take_along_axis(nb_index, pick, axis=1)
    s_dist = np.take_along_axis(nb_dist, pick, axis=1)
    s_mask = None if mask is None else np.isfinite(np.take_along_axis(keys, pick, axis=1))
    if start:
        n = len(index)
        s_index = np.concatenate([index[:, :1], s_index], axis=1)
        s_dist = np.concatenate([np.zeros((n, 1), dtype=np.int8), s_dist], axis=1)
        if s_mask is not None:
            s_mask = np.concatenate([np.ones((n, 1), dtype=bool), s_mask], axis=1)
    return Members(s_index, s_dist, s_mask)


def members_of(space: Any, arch: int, spec: NeighborhoodSpec,
               rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The members of one arch's neighborhood in ``space`` and their distances to it (int64, int8).

    The center (when included) comes first. On NB201 this reads the cached tables of :func:`members`;
    in other spaces the shells come from ``space.neighbors(arch, d, exact=True)``, deduplication keeps
    the first neighbor per ``space.canonical`` class (shells in order, then ascending arch) and drops
    the center's class, and ``k`` neighbors are drawn from ``rng`` as in :func:`members`.
    """
    order = getattr(space, "order", None)
    if isinstance(order, OfficialOrder):
        mem = members(order, spec, rows=[arch], rng=rng)
        dist = np.broadcast_to(mem.distance, mem.index.shape)[0]
        if mem.mask is None:
            return mem.index[0], dist
        return mem.index[0][mem.mask[0]], dist[mem.mask[0]]
    shells = [spec.radius] if spec.exact else list(range(1, spec.radius + 1))
    parts = [np.asarray(space.neighbors(arch, d, exact=True), dtype=np.int64) for d in shells]
    idx = np.concatenate(parts)
    dist = np.concatenate([np.full(len(p), d, dtype=np.int8) for p, d in zip(parts, shells)])
    if spec.dedup:
        own = space.canonical(arch)
        seen: set = {own}
        keep = np.zeros(len(idx), dtype=bool)
        for i in np.lexsort((idx, dist)):
            c = space.canonical(int(idx[i]))
            if c not in seen:
                seen.add(c)
                keep[i] = True
        idx, dist = idx[keep], dist[keep]
    if spec.k is not None and spec.k < len(idx):
        if not isinstance(rng, np.random.Generator):
            raise ConfigError("sampling k neighbors needs a numpy Generator: pass rng=np.random.default_rng(seed)")
        pick = np.argpartition(rng.random(len(idx)), spec.k - 1)[: spec.k]
        idx, dist = idx[pick], dist[pick]
    if spec.include_self:
        idx = np.concatenate([[int(arch)], idx]).astype(np.int64)
        dist = np.concatenate([[0], dist]).astype(np.int8)
    return idx, dist


def reduce(member_values: np.ndarray, mem: Members, spec: NeighborhoodSpec) -> np.ndarray:
    """Aggregate a ``(n, m)`` matrix of member values (aligned with ``mem.index``) per row under ``spec``."""
    v = np.asarray(member_values, dtype=np.float64)
    mask = mem.mask
    if spec.agg == "mean":
        if mask is None:
            return v.mean(axis=1)
        return np.where(mask, v, 0.0).sum(axis=1) / mask.sum(axis=1)
    if spec.agg == "weighted":
        w = np.broadcast_to(float(spec.decay) ** mem.distance.astype(np.float64), v.shape)
        if mask is not None:
            w = np.where(mask, w, 0.0)
        return (v * w).sum(axis=1) / w.sum(axis=1)
    if spec.agg == "min":
        return v.min(axis=1) if mask is None else np.where(mask, v, np.inf).min(axis=1)
    q = 0.5 if spec.agg == "median" else float(spec.q)
    return _quantile(v, mask, q)


def _quantile(v: np.ndarray, mask: np.ndarray | None, q: float) -> np.ndarray:
    """Row-wise linear-interpolation quantile over the masked-in entries (numpy's default method)."""
    if mask is None:
        s = np.sort(v, axis=1)
        count = np.full(len(v), v.shape[1])
    else:
        s = np.sort(np.where(mask, v, np.inf), axis=1)
        count = mask.sum(axis=1)
    pos = q * (count - 1)
    lo = np.floor(pos).astype(np.intp)
    hi = np.minimum(lo + 1, count - 1)
    a = np.take_along_axis(s, lo[:, None], axis=1)[:, 0]
    b = np.take_along_axis(s, hi[:, None], axis=1)[:, 0]
    return a + (b - a) * (pos - lo)


def _check_values(values: Any) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64)
    if v.shape != (N_ARCHS,):
        raise ConfigError(f"values must hold one number per official index, shape ({N_ARCHS},), got shape {v.shape}")
    if np.isnan(v).any():
        raise ConfigError(f"values hold {int(np.isnan(v).sum())} NaNs; neighborhoods need a value for every cell "
                          "(fill the missing cells or restrict the study)")
    return v


def aggregate(values: Any, order: OfficialOrder, spec: NeighborhoodSpec = NeighborhoodSpec(), *,
              rng: np.random.Generator | None = None, rows: Any = None) -> np.ndarray:
    """The neighborhood aggregate ``F({values[b] : b in N(a)})`` for every cell ``a`` (or for ``rows``)."""
    v = _check_values(values)
    if spec.agg in ("mean", "weighted") and spec.k is None and not spec.dedup:
        if not isinstance(order, OfficialOrder):
            raise ConfigError(f"expected an OfficialOrder (e.g. bench.order), got {type(order).__name__}")
        out = _linear_aggregate(v, order, spec)
        r = _rows(rows)
        return out if r is None else out[r]
    mem = members(order, spec, rows=rows, rng=rng)
    return reduce(v[mem.index], mem, spec)


def _shell_sums(values_code: np.ndarray, radius: int) -> list[np.ndarray]:
    """Sums of the values at Hamming distance exactly 0..radius from every cell (code order)."""
    t = values_code.reshape((N_OPS,) * N_EDGES)
    g1 = np.zeros_like(t)
    for e in range(N_EDGES):
        g1 += t.sum(axis=e, keepdims=True)
    shells = [t, g1 - N_EDGES * t]
    if radius >= 2:
        g2 = np.zeros_like(t)
        for pair in combinations(range(N_EDGES), 2):
            g2 += t.sum(axis=pair, keepdims=True)
        shells.append(g2 - (N_EDGES - 1) * g1 + comb(N_EDGES, 2) * t)
    return [s.reshape(-1) for s in shells]


def _linear_aggregate(v: np.ndarray, order: OfficialOrder, spec: NeighborhoodSpec) -> np.ndarray:
    """Mean or distance-weighted mean over whole neighborhoods via shell sums (no gather)."""
    from nabench.spaces.nb201 import n_neighbors

    shells = _shell_sums(v[order.index_of_code], spec.radius)
    ds = [spec.radius] if spec.exact else list(range(1, spec.radius + 1))
    if spec.include_self:
        ds = [0] + ds
    w = [float(spec.decay) ** d if spec.agg == "weighted" else 1.0 for d in ds]
    total = sum(wi * shells[d] for wi, d in zip(w, ds))
    norm = sum(wi * (n_neighbors(d) if d else 1) for wi, d in zip(w, ds))
    return (total / norm)[order.code_of_index]


def flatness(values: Any, order: OfficialOrder, radius: int = 1, *, dedup: bool = False, exact: bool = False,
             rows: Any = None) -> Flatness:
    """Flatness of each cell (or of ``rows``): how the signal changes over its neighbors (center excluded)."""
    v = _check_values(values)
    spec = NeighborhoodSpec(radius=radius, include_self=False, dedup=dedup, exact=exact)
    mem = members(order, spec, rows=rows)
    nv = v[mem.index]
    r = _rows(rows)
    center = v if r is None else v[r]
    if mem.mask is None:
        n = np.full(len(nv), nv.shape[1])
        mean, std, low = nv.mean(axis=1), nv.std(axis=1), nv.min(axis=1)
    else:
        n = mem.mask.sum(axis=1)
        mean = np.where(mem.mask, nv, 0.0).sum(axis=1) / n
        std = np.sqrt(np.where(mem.mask, (nv - mean[:, None]) ** 2, 0.0).sum(axis=1) / n)
        low = np.where(mem.mask, nv, np.inf).min(axis=1)
    return Flatness(center=center.copy(), mean=mean, std=std, min=low, drop=center - mean,
                    worst_drop=center - low, n=n)
