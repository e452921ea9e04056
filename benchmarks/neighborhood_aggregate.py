"""Speed of neighborhood aggregation over all 15,625 cells, against baselines measured in the same run.

    python benchmarks/neighborhood_aggregate.py [--data-dir DIR] [--repeat 50]

Targets: an r=1 aggregate over all cells under 5 ms (r=2 reported beside it). Baselines: (a) a
per-cell Python loop over the neighbor table (what one writes first), (b) the same gather without
the cached tables (rebuilding the official-index neighbor table on every call).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import nabench
from nabench import neighborhood as nh


def best_of(fn, repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def python_loop(values: np.ndarray, order, radius: int) -> np.ndarray:
    tables = [order.neighbors(d) for d in range(1, radius + 1)]
    out = np.empty(len(values))
    for a in range(len(values)):
        members = [a] + [int(b) for t in tables for b in t[a]]
        out[a] = sum(values[b] for b in members) / len(members)
    return out


def uncached(values: np.ndarray, order, radius: int) -> np.ndarray:
    table = np.concatenate([np.arange(len(values))[:, None]] + [order.neighbors(d) for d in range(1, radius + 1)], 1)
    return values[table].mean(axis=1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--repeat", type=int, default=50)
    args = ap.parse_args()
    bench = nabench.load("nb201", args.data_dir)
    values = bench.accuracy(np.arange(bench.n_archs), dataset="cifar10-valid", split="x-valid", fidelity=12)
    order = bench.order
    rng = np.random.default_rng(0)
    cases = [
        ("r=1 mean", nh.NeighborhoodSpec()),
        ("r=1 median", nh.NeighborhoodSpec(agg="median")),
        ("r=1 min", nh.NeighborhoodSpec(agg="min")),
        ("r=1 mean, dedup", nh.NeighborhoodSpec(dedup=True)),
        ("r=1 mean, k=4 sampled", nh.NeighborhoodSpec(k=4)),
        ("r=2 mean", nh.NeighborhoodSpec(radius=2)),
        ("r=2 weighted", nh.NeighborhoodSpec(radius=2, agg="weighted")),
        ("r=2 quantile 0.1", nh.NeighborhoodSpec(radius=2, agg="quantile", q=0.1)),
        ("r=2 min, dedup", nh.NeighborhoodSpec(radius=2, agg="min", dedup=True)),
    ]
    base = {}
    for r in (1, 2):
        t = time.perf_counter()
        ref = python_loop(values, order, r)
        base[r] = time.perf_counter() - t
        assert np.allclose(ref, nh.aggregate(values, order, nh.NeighborhoodSpec(radius=r)))
        unc = best_of(lambda: uncached(values, order, r), max(3, args.repeat // 10))
        print(f"baseline r={r}: python loop {1e3 * base[r]:9.1f} ms   uncached gather {1e3 * unc:7.2f} ms")
    print(f"{'aggregate over all 15,625 cells':34s} {'best (ms)':>10s} {'vs loop':>9s}")
    for label, spec in cases:
        t = best_of(lambda: nh.aggregate(values, order, spec, rng=rng), args.repeat)
        print(f"{label:34s} {1e3 * t:10.3f} {base[spec.radius] / t:8.0f}x")
    t1 = best_of(lambda: nh.aggregate(values, order, nh.NeighborhoodSpec()), args.repeat)
    print(f"target r=1 mean < 5 ms: {'met' if t1 < 5e-3 else 'MISSED'} ({1e3 * t1:.3f} ms)")
    tf = best_of(lambda: nh.flatness(values, order, radius=1), args.repeat)
    print(f"flatness r=1 (mean, std, min, drops): {1e3 * tf:.3f} ms")


if __name__ == "__main__":
    main()
