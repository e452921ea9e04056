"""Neighborhood engine: sizes, symmetry, sampling, deduplication and aggregates against a slow reference."""

from __future__ import annotations

import numpy as np
import pytest

from nabench import neighborhood as nh
from nabench.errors import ConfigError
from nabench.spaces import nb201

ROWS = [0, 11, 284, 6111, 9930, 857, 15624, 4000]


@pytest.fixture(scope="module")
def order(bench):
    return bench.order


@pytest.fixture(scope="module")
def ops(order):
    """Op array by official index."""
    return nb201.all_ops()[order.code_of_index].astype(np.int64)


@pytest.fixture(scope="module")
def values(bench):
    return bench.accuracy(np.arange(bench.n_archs), dataset="cifar10-valid", split="x-valid", fidelity=12)


def slow_members(ops: np.ndarray, order, a: int, radius: int, exact: bool, include_self: bool, dedup: bool):
    """Reference neighborhood by brute force over all cells: list of (index, distance)."""
    d = (ops != ops[a]).sum(axis=1)
    ok = (d == radius) if exact else ((d >= 1) & (d <= radius))
    found = [(int(i), int(d[i])) for i in np.flatnonzero(ok)]
    if dedup:
        cid = order.canonical_ids()
        best: dict[int, tuple[int, int]] = {}
        for i, dist in found:
            c = int(cid[i])
            if c == cid[a]:
                continue
            if c not in best or (dist, i) < (best[c][1], best[c][0]):
                best[c] = (i, dist)
        found = list(best.values())
    if include_self:
        found = [(a, 0)] + found
    return found


def slow_aggregate(values, found, spec: nh.NeighborhoodSpec) -> float:
    v = np.array([values[i] for i, _ in found])
    d = np.array([dist for _, dist in found])
    if spec.agg == "mean":
        return float(np.mean(v))
    if spec.agg == "median":
        return float(np.median(v))
    if spec.agg == "min":
        return float(np.min(v))
    if spec.agg == "quantile":
        return float(np.quantile(v, spec.q))
    w = spec.decay ** d
    return float(np.sum(w * v) / np.sum(w))


@pytest.mark.parametrize("radius,exact,size", [(1, False, 24), (2, False, 264), (2, True, 240)])
def test_sizes_and_distances(order, ops, radius, exact, size):
    spec = nh.NeighborhoodSpec(radius=radius, exact=exact, include_self=False)
    mem = nh.members(order, spec)
    assert mem.index.shape == (nb201.N_ARCHS, size) and spec.size == size
    dist = (ops[mem.index] != ops[:, None, :]).sum(axis=2)
    assert np.array_equal(dist, np.broadcast_to(mem.distance, dist.shape))
    assert dist.min() >= (radius if exact else 1) and dist.max() == radius
    sorted_rows = np.sort(mem.index, axis=1)
    assert (np.diff(sorted_rows, axis=1) > 0).all(), "members of a row must be distinct"


def test_symmetry(order):
    table = nh.members(order, nh.NeighborhoodSpec(include_self=False)).index
    n = table.shape[0]
    adj = np.zeros((n, n), dtype=bool)
    adj[np.repeat(np.arange(n), table.shape[1]), table.ravel()] = True
    assert (adj == adj.T).all()
    assert not adj.diagonal().any()


def test_self_is_column_zero(order):
    mem = nh.members(order, nh.NeighborhoodSpec(radius=2), rows=ROWS)
    assert np.array_equal(mem.index[:, 0], ROWS)
    assert mem.distance[0, 0] == 0 and mem.index.shape == (len(ROWS), 265)


@pytest.mark.parametrize("spec", [
    nh.NeighborhoodSpec(),
    nh.NeighborhoodSpec(include_self=False),
    nh.NeighborhoodSpec(agg="median"),
    nh.NeighborhoodSpec(agg="min", radius=2),
    nh.NeighborhoodSpec(agg="quantile", q=0.1, radius=2, exact=True),
    nh.NeighborhoodSpec(agg="weighted", radius=2),
    nh.NeighborhoodSpec(agg="weighted", radius=2, decay=0.9, include_self=False),
    nh.NeighborhoodSpec(radius=2, exact=True),
    nh.NeighborhoodSpec(dedup=True),
    nh.NeighborhoodSpec(dedup=True, agg="median", radius=2),
    nh.NeighborhoodSpec(dedup=True, agg="weighted", radius=2),
    nh.NeighborhoodSpec(dedup=True, agg="quantile", q=0.75, include_self=False),
])
def test_aggregate_matches_slow_reference(order, ops, values, spec):
    fast_all = nh.aggregate(values, order, spec)
    fast_rows = nh.aggregate(values, order, spec, rows=ROWS)
    for j, a in enumerate(ROWS):
        found = slow_members(ops, order, a, spec.radius, spec.exact, spec.include_self, spec.dedup)
        ref = slow_aggregate(values, found, spec)
        assert fast_rows[j] == pytest.approx(ref, abs=1e-9)
        assert fast_all[a] == pytest.approx(ref, abs=1e-9)


def test_linear_fast_path_equals_gather(order, values):
    for spec in (nh.NeighborhoodSpec(radius=2), nh.NeighborhoodSpec(agg="weighted", radius=2, include_self=False),
                 nh.NeighborhoodSpec(radius=2, exact=True, agg="weighted", decay=0.3)):
        mem = nh.members(order, spec)
        gathered = nh.reduce(values[mem.index], mem, spec)
        assert np.allclose(nh.aggregate(values, order, spec), gathered, atol=1e-10)


def test_dedup_members_match_reference(order, ops):
    spec = nh.NeighborhoodSpec(radius=2, dedup=True, include_self=False)
    mem = nh.members(order, spec, rows=ROWS)
    cid = order.canonical_ids()
    for j, a in enumerate(ROWS):
        kept = sorted(mem.row(j).tolist())
        assert kept == sorted(i for i, _ in slow_members(ops, order, a, 2, False, False, True))
        assert len(set(cid[kept].tolist())) == len(kept) and cid[a] not in set(cid[kept].tolist())
    full = nh.members(order, nh.NeighborhoodSpec(dedup=True, include_self=False))
    assert full.mask.sum(axis=1).min() >= 1


def test_sampling_is_seeded_and_valid(order, values):
    spec = nh.NeighborhoodSpec(radius=2, k=7)
    a = nh.members(order, spec, rows=ROWS, rng=np.random.default_rng(3))
    b = nh.members(order, spec, rows=ROWS, rng=np.random.default_rng(3))
    c = nh.members(order, spec, rows=ROWS, rng=np.random.default_rng(4))
    assert np.array_equal(a.index, b.index) and not np.array_equal(a.index, c.index)
    assert a.index.shape == (len(ROWS), 8) and np.array_equal(a.index[:, 0], ROWS)
    full = nh.members(order, nh.NeighborhoodSpec(radius=2), rows=ROWS)
    for j in range(len(ROWS)):
        assert len(set(a.index[j].tolist())) == 8
        assert set(a.index[j].tolist()) <= set(full.index[j].tolist())
    agg = nh.aggregate(values, order, spec, rng=np.random.default_rng(3), rows=ROWS)
    assert np.allclose(agg, values[a.index].mean(axis=1))


def test_sampling_with_dedup_takes_at_most_the_valid(order):
    spec = nh.NeighborhoodSpec(k=30, dedup=True, include_self=False)
    mem = nh.members(order, spec, rows=ROWS, rng=np.random.default_rng(0))
    ref = nh.members(order, nh.NeighborhoodSpec(dedup=True, include_self=False), rows=ROWS)
    for j in range(len(ROWS)):
        assert sorted(mem.row(j).tolist()) == sorted(ref.row(j).tolist())


def test_sampling_is_uniform(order):
    """Each of the 24 neighbors is drawn about equally often."""
    spec = nh.NeighborhoodSpec(k=3, include_self=False)
    rng = np.random.default_rng(0)
    counts = np.zeros(24)
    full = nh.members(order, nh.NeighborhoodSpec(include_self=False), rows=[11]).index[0]
    for _ in range(800):
        picked = nh.members(order, spec, rows=[11], rng=rng).index[0]
        counts += np.isin(full, picked)
    expected = 800 * 3 / 24
    assert np.abs(counts - expected).max() < 0.35 * expected


def test_flatness(order, ops, values):
    f = nh.flatness(values, order, radius=1, rows=ROWS)
    for j, a in enumerate(ROWS):
        nv = np.array([values[i] for i, _ in slow_members(ops, order, a, 1, False, False, False)])
        assert f.mean[j] == pytest.approx(nv.mean()) and f.std[j] == pytest.approx(nv.std())
        assert f.drop[j] == pytest.approx(values[a] - nv.mean())
        assert f.worst_drop[j] == pytest.approx(values[a] - nv.min())
        assert f.n[j] == 24
    fd = nh.flatness(values, order, radius=2, dedup=True)
    assert fd.center.shape == (nb201.N_ARCHS,) and (fd.n < 264).any() and (fd.worst_drop >= fd.drop).all()
    for j, a in enumerate(ROWS):
        nv = np.array([values[i] for i, _ in slow_members(ops, order, a, 2, False, False, True)])
        assert fd.std[a] == pytest.approx(nv.std()) and fd.n[a] == len(nv)


@pytest.mark.parametrize("kwargs,match", [
    ({"radius": 3}, "radius"),
    ({"radius": 0}, "radius"),
    ({"k": 0}, "positive"),
    ({"agg": "max"}, "aggregate"),
    ({"q": 1.5}, "quantile"),
    ({"decay": 0.0}, "decay"),
    ({"dedup": "yes"}, "dedup"),
])
def test_bad_spec(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        nh.NeighborhoodSpec(**kwargs)


def test_bad_inputs(order, values):
    with pytest.raises(ConfigError, match="shape"):
        nh.aggregate(values[:100], order)
    bad = values.copy()
    bad[5] = np.nan
    with pytest.raises(ConfigError, match="NaN"):
        nh.aggregate(bad, order)
    with pytest.raises(ConfigError, match="Generator"):
        nh.aggregate(values, order, nh.NeighborhoodSpec(k=3))
    with pytest.raises(ConfigError, match="OfficialOrder"):
        nh.aggregate(values, "order")
    with pytest.raises(ConfigError, match="out of range"):
        nh.aggregate(values, order, rows=[20000])
