"""Exact Kendall tau-b and Spearman rho on many bootstrap resamples at once, from resample counts.

A bootstrap resample of ``n`` paired values is the original sample with integer weights: ``w[i]``
copies of pair ``i`` (``sum(w) = n``). Every rank statistic of the resample is a function of the
fixed values and the weights, so the sorting, tie groups and comparison structure are computed once
per predictor and only the weights change between resamples. This module evaluates tau-b and rho
for a whole batch of weight vectors with a few BLAS calls and array passes, instead of one
``scipy.stats.kendalltau`` call per resample (the flatness study's 8 blocks x 13 predictors x 1,000
resamples took ~9 minutes that way; see ``benchmarks/flatness_bootstrap.py``).

Decisions:

* **Exactly scipy's tau-b.** ``tau = (n0 - xtie - ytie + ntie - 2 dis) / sqrt(n0 - xtie) /
  sqrt(n0 - ytie)`` with ``n0 = n(n-1)/2``, ``xtie`` (``ytie``) the pairs tied in x (y), ``ntie``
  the pairs tied in both and ``dis`` the discordant pairs, the same expression and float order
  ``scipy.stats.kendalltau`` uses, so results agree to rounding (tested to 1e-12). Duplicates that
  a resample creates are pairs tied in both x and y: a tie group of total weight ``W`` holds
  ``W(W-1)/2`` tied pairs, which counts them. All counts are integers below 2**53, held exactly
  in float64.
* **Discordant pairs, weighted**, ``dis = sum over pairs i, j with x_i < x_j and y_i > y_j of
  w_i w_j``: the pairs are sorted by x, cut into chunks of about ``m`` consecutive cells that
  never split a tie group of x, and the y values into buckets of about ``m`` that never split a
  tie group of y. Pairs inside one chunk, pairs in different chunks but one bucket, and pairs in
  different chunks and different buckets partition all pairs. The first two are quadratic forms
  ``w^T D w`` with small 0/1 matrices ``D`` (one batched matmul each); the third needs only the
  weight per (chunk, bucket) cell and two cumulative sums. Cost per resample about ``3 n m`` +
  ``(n/m)^2`` multiply-adds.
* **Spearman rho** is Pearson's r of the average ranks of the resample; every copy of pair ``i``
  gets the same rank (the weight below its tie group plus half the group's weight, plus 1/2), so
  rho is a weighted Pearson r over the original pairs.
* **Shared work.** Tie counts and ranks come from one cumulative sum of the weights in sorted
  order. The target's side (its order, ties, ranks) is the same for every predictor of a study
  block, so :class:`TargetPlan` computes it once per batch of resamples (:class:`Batch`) and each
  :class:`PairPlan` adds only the predictor's side. Weights are laid out cells x resamples, so
  every gather and cumulative sum runs over contiguous rows. The 0/1 matmuls run in float32
  (exact: every partial sum is an integer below 2**24) and are accumulated in float64.
* A constant side gives NaN, as scipy does.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from nabench.errors import ConfigError

def resample_counts(rng: np.random.Generator, n: int, n_resamples: int) -> np.ndarray:
    """``(n, n_resamples)`` int32 counts: how often each of ``n`` items is drawn in each resample (a column).

    Resample ``b`` draws ``n`` indices uniformly with replacement (``rng.integers(0, n, n)``, as
    :func:`scipy.stats.bootstrap` does); row ``b`` of :func:`resample_indices` holds the same draws as
    indices. Cells-by-resamples keeps each cell's weights contiguous, so the gathers and cumulative
    sums below run over contiguous rows.
    """
    idx = resample_indices(rng, n, n_resamples)
    flat = (idx * n_resamples + np.arange(n_resamples, dtype=np.int64)[:, None]).ravel()
    return np.bincount(flat, minlength=n * n_resamples).reshape(n, n_resamples).astype(np.int32)


def resample_indices(rng: np.random.Generator, n: int, n_resamples: int) -> np.ndarray:
    """``(n_resamples, n)`` indices drawn with replacement: the resamples behind :func:`resample_counts`."""
    if n < 1 or n_resamples < 0:
        raise ConfigError(f"need n >= 1 items and n_resamples >= 0, got {n} and {n_resamples}")
    return rng.integers(0, n, size=(n_resamples, n), dtype=np.int64)


def resample_indices(rng: np.random.Generator, n: int, n_resamples: int) -> np.ndarray:
    """``(n_resamples, n)`` indices drawn with replacement, as :func:`scipy.stats.bootstrap` draws them."""
    if n < 1 or n_resamples < 0:
        raise ConfigError(f"need n >= 1 items and n_resamples >= 0, got {n} and {n_resamples}")
    return rng.integers(0, n, size=(n_resamples, n), dtype=np.int64)


def resample_counts(rng: np.random.Generator, n: int, n_resamples: int) -> np.ndarray:
    """``(n, n_resamples)`` int32: how often each of ``n`` items is drawn in each resample (one column each).

    Column ``b`` counts row ``b`` of :func:`resample_indices` with the same generator state.
    """
    idx = resample_indices(rng, n, n_resamples)
    flat = (idx * n_resamples + np.arange(n_resamples, dtype=np.int64)[:, None]).ravel()
    return np.bincount(flat, minlength=n * n_resamples).reshape(n, n_resamples).astype(np.int32)


def chunk_size(n: int) -> int:
    """Cells per chunk and bucket for ``n`` pairs: about 1.5 sqrt(n), which measured fastest."""
    return max(16, int(round(1.5 * np.sqrt(n))))


def _groups(sorted_values: np.ndarray) -> np.ndarray:
    """Start positions of the runs of equal values in a sorted array."""
    if sorted_values.size == 0:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(np.r_[True, sorted_values[1:] != sorted_values[:-1]])


def _blocks(starts: np.ndarray, n: int, m: int) -> list[tuple[int, int, bool]]:
    """Cut positions ``0..n`` into blocks of about ``m`` that never split a group.

    Returns ``(start, stop, single)`` per block; ``single`` marks a block that is one group (all
    values equal), which can hold no discordant pair inside it.
    """
    ends = np.r_[starts[1:], n]
    out: list[tuple[int, int, bool]] = []
    cur, n_groups = int(starts[0]) if starts.size else 0, 0
    for s, e in zip(starts.tolist(), ends.tolist()):
        if e - s >= m:
            if s > cur:
                out.append((cur, s, n_groups == 1))
            out.append((s, e, True))
            cur, n_groups = e, 0
        elif e - cur > m:
            out.append((cur, s, n_groups == 1))
            cur, n_groups = s, 1
        else:
            n_groups += 1
    if cur < n:
        out.append((cur, n, n_groups == 1))
    return out


def _padded(members: list[np.ndarray], pad: int) -> np.ndarray:
    """Stack index lists into a rectangle, padding with ``pad`` (the index of a zero-weight row)."""
    width = max((len(a) for a in members), default=0)
    out = np.full((len(members), width), pad, dtype=np.int64)
    for r, a in enumerate(members):
        out[r, : len(a)] = a
    return out


def _stack(mats: list[np.ndarray], width: int) -> np.ndarray:
    out = np.zeros((len(mats), width, width), dtype=np.float32)
    for r, d in enumerate(mats):
        out[r, : d.shape[0], : d.shape[1]] = d
    return out


@dataclass(frozen=True)
class _Sorted:
    """One variable's sort order and the boundaries of its runs of equal values (and of finer runs)."""

    order: np.ndarray
    bounds: np.ndarray              # starts of the runs of equal values, then n
    group_of: np.ndarray | None     # run of each sorted position; None when all values differ

    @classmethod
    def of(cls, order: np.ndarray, starts: np.ndarray, n: int) -> "_Sorted":
        tied = starts.size < n
        group_of = np.repeat(np.arange(starts.size), np.diff(np.r_[starts, n])) if tied else None
        return cls(order=order, bounds=np.r_[starts, n].astype(np.int64), group_of=group_of)


def _cumulative(ws: np.ndarray) -> np.ndarray:
    """Cumulative weights with a leading zero row: ``out[p]`` = weight of the first ``p`` sorted items.

    float32 like the weights: every partial sum is an integer <= n < 2**24, so it is exact.
    """
    out = np.empty((ws.shape[0] + 1, ws.shape[1]), dtype=np.float32)
    out[0] = 0.0
    np.cumsum(ws, axis=0, out=out[1:])
    return out


def _tied_pairs(cum: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """``sum over runs of W(W-1)/2`` per resample, from cumulative weights and run boundaries."""
    g = np.diff(cum[bounds], axis=0).astype(np.float64)
    return (g * (g - 1.0)).sum(axis=0) / 2.0


def _ranks(ws: np.ndarray, cum: np.ndarray, s: _Sorted) -> np.ndarray:
    """Average 1-based ranks of the sorted items' copies, ``(n, B)``: weight below the run + (run weight + 1) / 2."""
    if s.group_of is None:
        return cum[1:] - (ws - 1.0) / 2.0
    c = cum[s.bounds]
    g = np.diff(c, axis=0)
    return (c[:-1] + (g + 1.0) / 2.0)[s.group_of]


@lru_cache(maxsize=16)
def _strictly_lower(n: int) -> np.ndarray:
    """``(n, n)`` float32, ``[i, j] = 1`` for ``j < i``: its product with a matrix sums the rows above each row."""
    out = np.tril(np.ones((n, n), dtype=np.float32), k=-1)
    out.setflags(write=False)
    return out


@dataclass
class Batch:
    """A batch of resamples and the target's side of their statistics (shared by every predictor)."""

    wz: np.ndarray          # (n + 1, B) float32 weights (small integers, exact) and a zero row for padding
    tot: np.ndarray         # n(n-1)/2 per resample
    ytie: np.ndarray        # pairs tied in the target
    dy: np.ndarray          # (n, B) float32 target rank minus the mean rank (exact), in target order
    syy: np.ndarray         # sum of w * dy^2


@dataclass(frozen=True)
class TargetPlan:
    """The target's sort order and ties, fixed across resamples and predictors."""

    y: np.ndarray
    sorted: _Sorted

    @classmethod
    def build(cls, y: np.ndarray) -> "TargetPlan":
        y = np.asarray(y, dtype=np.float64)
        if y.ndim != 1:
            raise ConfigError(f"the target must be a 1-d array, got shape {y.shape}")
        order = np.argsort(y, kind="stable")
        return cls(y=y, sorted=_Sorted.of(order, _groups(y[order]), y.size))

    def batch(self, counts: np.ndarray) -> Batch:
        """The target's side for resample weights ``counts`` (``(n, B)``, one column per resample)."""
        counts = np.asarray(counts)
        if counts.ndim != 2 or counts.shape[0] != self.y.size:
            raise ConfigError(f"weights must be ({self.y.size}, resamples): one column per resample, got {counts.shape}")
        wz = np.zeros((counts.shape[0] + 1, counts.shape[1]), dtype=np.float32)
        wz[:-1] = counts
        wy = wz[self.sorted.order]
        cum = _cumulative(wy)
        size = cum[-1].astype(np.float64)
        dy = _ranks(wy, cum, self.sorted) - (size + 1.0) / 2.0     # (n + 1) / 2 is the mean rank
        return Batch(wz=wz, tot=size * (size - 1.0) / 2.0, ytie=_tied_pairs(cum, self.sorted.bounds),
                     dy=dy.astype(np.float32), syy=(wy * dy * dy).sum(axis=0))  # halves below 2**23: exact


@dataclass(frozen=True)
class PairPlan:
    """What tau-b and rho of one predictor against the target need, fixed across resamples."""

    n: int
    x: _Sorted                 # sorted by (x, y); runs of equal x
    xy_bounds: np.ndarray      # runs of equal (x, y) in the same order, then n
    y_pos: np.ndarray          # target-order position of each x-sorted item
    chunk_idx: np.ndarray      # (C', m') items of the chunks with more than one x value (padded with n)
    chunk_dt: np.ndarray       # (C', m', m') float32, [j, i] = x_i < x_j and y_i > y_j
    bucket_idx: np.ndarray     # (K', m'') items of the buckets with more than one y value
    bucket_dt: np.ndarray      # (K', m'', m''), [j, i] = chunk_i < chunk_j and y_i > y_j
    cell_order: np.ndarray     # items sorted by (chunk, bucket)
    cell_starts: np.ndarray
    cell_chunk: np.ndarray     # chunk of each nonempty cell
    cell_bucket: np.ndarray
    n_chunks: int
    n_buckets: int

    @classmethod
    def build(cls, x: np.ndarray, target: TargetPlan, m: int | None = None) -> "PairPlan":
        """Precompute the plan of predictor ``x`` against ``target``; ``m`` cells per chunk (default :func:`chunk_size`)."""
        x = np.asarray(x, dtype=np.float64)
        y = target.y
        if x.shape != y.shape:
            raise ConfigError(f"x and y must be 1-d arrays of equal length, got {x.shape} and {y.shape}")
        n = x.size
        m = chunk_size(n) if m is None else int(m)
        xo = np.lexsort((y, x))
        xs, ys = x[xo], y[xo]
        x_starts = _groups(xs)
        xy_starts = np.flatnonzero(np.r_[True, (xs[1:] != xs[:-1]) | (ys[1:] != ys[:-1])]) if n else x_starts
        yo = target.sorted.order
        y_rank = np.empty(n, dtype=np.int64)
        y_rank[yo] = np.arange(n)

        chunk_of = np.empty(n, dtype=np.int64)
        members, mats = [], []
        chunks = _blocks(x_starts, n, m)
        for c, (a, b, single) in enumerate(chunks):
            pos = xo[a:b]
            chunk_of[pos] = c
            if not single:
                members.append(pos)
                mats.append(((x[pos][:, None] < x[pos][None, :]) & (y[pos][:, None] > y[pos][None, :])).T)
        chunk_idx = _padded(members, n)
        chunk_dt = _stack(mats, chunk_idx.shape[1])

        bucket_of = np.empty(n, dtype=np.int64)
        members, mats = [], []
        buckets = _blocks(target.sorted.bounds[:-1], n, m)
        for k, (a, b, single) in enumerate(buckets):
            pos = yo[a:b]
            bucket_of[pos] = k
            if not single:
                members.append(pos)
                ch = chunk_of[pos]
                mats.append(((ch[:, None] < ch[None, :]) & (y[pos][:, None] > y[pos][None, :])).T)
        bucket_idx = _padded(members, n)
        bucket_dt = _stack(mats, bucket_idx.shape[1])

        cell = chunk_of * len(buckets) + bucket_of
        co = np.argsort(cell, kind="stable")
        cs = _groups(cell[co])
        return cls(n=n, x=_Sorted.of(xo, x_starts, n), xy_bounds=np.r_[xy_starts, n].astype(np.int64),
                   y_pos=y_rank[xo], chunk_idx=chunk_idx, chunk_dt=chunk_dt, bucket_idx=bucket_idx,
                   bucket_dt=bucket_dt, cell_order=co, cell_starts=cs, cell_chunk=cell[co][cs] // len(buckets),
                   cell_bucket=cell[co][cs] % len(buckets), n_chunks=len(chunks), n_buckets=len(buckets))

    def discordant(self, batch: Batch) -> np.ndarray:
        """Weighted discordant pair counts, one per resample of ``batch``."""
        wz = batch.wz
        total = np.zeros(wz.shape[1])
        for idx, dt in ((self.chunk_idx, self.chunk_dt), (self.bucket_idx, self.bucket_dt)):
            if len(dt):
                wb = wz[idx]                                        # (blocks, m, B)
                total += (np.matmul(dt, wb) * wb).sum(axis=(0, 1), dtype=np.float64)
        c, k, bsz = self.n_chunks, self.n_buckets, wz.shape[1]
        h = np.zeros((c, k, bsz), dtype=np.float32)                 # weight per (chunk, bucket) cell
        h[self.cell_chunk, self.cell_bucket] = np.add.reduceat(wz[self.cell_order], self.cell_starts, axis=0)
        # weight in earlier chunks and strictly higher buckets, as two 0/1 matmuls (exact: sums <= n < 2**24)
        earlier = (_strictly_lower(c) @ h.reshape(c, k * bsz)).reshape(c, k, bsz)
        above = np.matmul(_strictly_lower(k).T, earlier)
        return total + np.einsum("ckb,ckb->b", h, above, dtype=np.float64)

    def statistics(self, batch: Batch) -> tuple[np.ndarray, np.ndarray]:
        """Kendall's tau-b and Spearman's rho on every resample of ``batch``, as scipy computes them."""
        wx = batch.wz[self.x.order]
        cum = _cumulative(wx)
        xtie = _tied_pairs(cum, self.x.bounds)
        ntie = _tied_pairs(cum, self.xy_bounds)
        tot, ytie = batch.tot, batch.ytie
        dis = self.discordant(batch)
        with np.errstate(divide="ignore", invalid="ignore"):
            tau = (tot - xtie - ytie + ntie - 2.0 * dis) / np.sqrt(tot - xtie) / np.sqrt(tot - ytie)
        tau = np.clip(np.where((tot - xtie > 0) & (tot - ytie > 0), tau, np.nan), -1.0, 1.0)
        dx = _ranks(wx, cum, self.x) - (cum[-1].astype(np.float64) + 1.0) / 2.0   # float64 from here
        wdx = wx * dx
        sxy = (wdx * batch.dy[self.y_pos]).sum(axis=0)
        sxx = (wdx * dx).sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            rho = sxy / np.sqrt(sxx * batch.syy)
        rho = np.where((sxx > 0) & (batch.syy > 0), np.clip(rho, -1.0, 1.0), np.nan)
        return tau, rho


def rank_correlations(x: np.ndarray, y: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Kendall's tau-b and Spearman's rho of ``x`` vs ``y`` on each resample (columns of ``counts``, ``(n, B)``)."""
    target = TargetPlan.build(y)
    return PairPlan.build(x, target).statistics(target.batch(counts))
