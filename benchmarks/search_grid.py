"""Time the 500-run grid of all ten searchers under the NAS-Bench-201 protocol, and random search
through nabench against the same random search through per-query calls to the official nats_bench API.

    python benchmarks/search_grid.py [--data-dir DIR] [--workers 2] [--runs 500] [--official-runs 50]

Prints the grid's wall time (target: under a minute on 2 cores) and, per searcher, the optimizer's
own wall time per run and per evaluation beside the simulated training time it stands for. The
official baseline runs NAS-Bench-201's RS loop (``simulate_train_eval(arch, 'cifar10', hp='12')``,
12,000 s, crossing evaluation dropped) on the NATS-Bench sample folder, which holds archs 0, 11 and
284 only; the random candidates are mapped onto those three (the per-query cost of the official API
does not depend on how many archs the folder holds).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path


import nabench
from nabench.experiments import load_grid, run_grid
from nabench.experiments.worker import rngs
from nabench.search import Budget, Scorer, SearchSignal, Space, registry, run_search

REPO = Path(__file__).resolve().parents[1]
GRID = REPO / "benchmarks" / "configs" / "nb201_grid.toml"
SAMPLE = REPO.parent / "shared" / "data" / "upstream" / "nats_official_sample" / "NATS-tss-v1_0-3ffb9-simple"


def official_rs(runs: int, space: Space, folder: Path) -> tuple[float, int]:
    """Wall time and queries of NAS-Bench-201's RS loop driven through the official API."""
    import nats_bench

    api = nats_bench.create(str(folder), "tss", fast_mode=True, verbose=False)
    avail = (0, 11, 284)
    queries = 0
    t0 = time.perf_counter()
    for seed in range(runs):
        rs = registry.make("rs", space, rngs(seed)[0])
        api.reset_time()
        total = 0.0
        while total < 12_000:
            a = rs.ask()
            acc, _, cost, _ = api.simulate_train_eval(avail[a % 3], "cifar10", hp="12")
            queries += 1
            if total + cost > 12_000:
                break
            total += cost
            rs.tell(a, acc)
    return time.perf_counter() - t0, queries


def nabench_rs(runs: int, space: Space, signal: SearchSignal) -> tuple[float, int]:
    queries = 0
    t0 = time.perf_counter()
    for seed in range(runs):
        r1, r2 = rngs(seed)
        tr = run_search(registry.make("rs", space, r1), Scorer(signal, r2), Budget("time", 12_000.0, "drop"))
        queries += len(tr) + 1  # the dropped crossing evaluation was also looked up
    return time.perf_counter() - t0, queries


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--runs", type=int, default=500)
    ap.add_argument("--official-runs", type=int, default=50)
    ap.add_argument("--official-folder", default=str(SAMPLE))
    args = ap.parse_args()
    bench = nabench.load("nb201", args.data_dir)
    grid = replace(load_grid(GRID), runs=args.runs)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        res = run_grid(grid, Path(tmp) / "out", bench=bench, workers=args.workers, progress=False, log=lambda _: None)
        wall = time.perf_counter() - t0
    s = res.summary[res.summary.report == "cifar10/ori-test"]
    n_runs = int(s["n"].sum())
    print(f"grid: {len(grid.cells)} searchers x {args.runs} runs = {n_runs} runs, NAS-Bench-201 protocol, "
          f"{args.workers} workers: {wall:.1f} s wall (incl. worker start-up and writing the tables)")
    print(f"target under 60 s: {'met' if wall < 60 else 'MISSED'}")
    print(f"{'searcher':14s} {'test acc':>8s} {'evals/run':>9s} {'optimizer ms/run':>16s} {'us/eval':>8s} "
          f"{'simulated s/run':>15s} {'simulated/wall':>14s}")
    wall_of = res.timings.groupby("searcher")["wall_s"].mean()  # wall times live in timings.csv
    for _, r in s.iterrows():
        wall_s = wall_of[r["searcher"]]
        per_eval = 1e6 * wall_s / r["steps"]
        print(f"{r['searcher']:14s} {r['mean']:8.2f} {r['steps']:9.1f} {1e3 * wall_s:16.2f} {per_eval:8.1f} "
              f"{r['sim_time']:15.0f} {r['sim_time'] / wall_s:14.3g}")
    space = Space(bench.order)
    signal = SearchSignal.from_bench(bench, dataset="cifar10-valid", split="x-valid", fidelity=12, mode="mean")
    t_ours, q_ours = nabench_rs(args.official_runs, space, signal)
    t_off, q_off = official_rs(args.official_runs, space, Path(args.official_folder))
    print(f"random search, {args.official_runs} runs, in one process:")
    print(f"  nabench              {t_ours:8.3f} s  {q_ours:6d} queries  {1e6 * t_ours / q_ours:8.1f} us/query")
    print(f"  official nats_bench  {t_off:8.3f} s  {q_off:6d} queries  {1e6 * t_off / q_off:8.1f} us/query")
    print(f"  nabench is {t_off / q_off / (t_ours / q_ours):.0f}x faster per query")


if __name__ == "__main__":
    main()
