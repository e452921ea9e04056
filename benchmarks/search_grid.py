"""Time the 500-run grid of all ten searchers under the NAS-Bench-201 protocol, and random search
through nabench against the same random search through per-query calls to the official nats_bench API.

    python benchmarks/search_grid.py [--data-dir DIR] [--workers 2] [--runs 500] [--official-runs 50]
                                     [--baseline REV] [--repeat 2]

Prints the grid's wall time (target: under a minute on 2 cores) and, per searcher, the optimizer's
own wall time per run and per evaluation beside the simulated training time it stands for.

``--baseline REV`` (default ``85260a9``, the last commit before the space/benchmark protocols of
issue 9) also runs the same grid with the code of REV, checked out with ``git worktree`` into a
temporary folder (with its own store, built from the upstream mirror by that code), alternating
baseline and current runs ``--repeat`` times in this one invocation; it prints the best wall time of
each and their ratio (target: current within 1.2x of the baseline). ``--baseline none`` skips it;
``--current REV`` times revision REV instead of this checkout (to isolate one change from later ones).
Measured 2026-12-01 on the shared 2-core development machine (load average 6-9 from other jobs, so
absolute times are about 3x those of an idle machine; ratios come from alternating runs):

* the protocol change alone (``--compare-only --current 73b1b32``, the last issue-9 search commit):
  grid wall 60.4 s before, 59.7 s after: **0.99x**; the runs' own search time 80.1 s vs 84.0 s: 1.05x.
  NB201 trajectories of all ten searchers are bit-identical before and after (same archs, scores, costs).
* the checkout with later work as well (official charging ``every`` of issue 10, the runner's run keys
  and timings of issue 12): grid wall 56.8 s vs 67.7 s: 1.19x; search time 1.24x. The
official baseline runs NAS-Bench-201's RS loop (``simulate_train_eval(arch, 'cifar10', hp='12')``,
12,000 s, crossing evaluation dropped) on the NATS-Bench sample folder, which holds archs 0, 11 and
284 only; the random candidates are mapped onto those three (the per-query cost of the official API
does not depend on how many archs the folder holds).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path


import nabench
from nabench.experiments import load_grid, run_grid
from nabench.experiments.worker import rngs
from nabench.search import Budget, Scorer, SearchSignal, registry, run_search
from nabench.spaces.base import SearchSpace

REPO = Path(__file__).resolve().parents[1]
GRID = REPO / "benchmarks" / "configs" / "nb201_grid.toml"
MIRROR = REPO.parent / "shared" / "data" / "upstream"
SAMPLE = MIRROR / "nats_official_sample" / "NATS-tss-v1_0-3ffb9-simple"
#: the last commit before the SearchSpace / Benchmark protocols (issue 9)
BASELINE = "85260a9"

#: One timed grid, as a program that runs on both the baseline's and the current API.
_INNER = """
import json, sys, tempfile, time
from dataclasses import replace
from pathlib import Path
import nabench
from nabench.experiments import load_grid, run_grid
data, grid_file, runs, workers = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
bench = nabench.load("nb201", data)
grid = replace(load_grid(grid_file), runs=runs)
with tempfile.TemporaryDirectory() as tmp:
    t0 = time.perf_counter()
    res = run_grid(grid, Path(tmp) / "out", bench=bench, workers=workers, progress=False, log=lambda _: None)
    wall = time.perf_counter() - t0
timings = getattr(res, "timings", None)
opt = float(timings["wall_s"].sum()) if timings is not None and len(timings) else float(
    (res.summary["wall_s"] * res.summary["n"]).sum() / max(1, res.summary["report"].nunique()))
print(json.dumps({"wall": wall, "optimizer": opt}))
"""


def timed_grid(src: Path, data: str, runs: int, workers: int) -> dict[str, float]:
    """Wall time of the grid (and the optimizer's summed run time) with the code in ``src``."""
    env = dict(os.environ, PYTHONPATH=str(src))
    out = subprocess.run([sys.executable, "-c", _INNER, data, str(GRID), str(runs), str(workers)], cwd=src, env=env,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _checkout(rev: str, tmp: Path, name: str, mirror: Path) -> tuple[Path, Path]:
    """A worktree of ``rev`` and a store built from the mirror by that revision's own code."""
    src, data = tmp / name, tmp / f"{name}-data"
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(src), rev], check=True,
                   capture_output=True)
    build = (f"from nabench.tables import build_from_upstream; build_from_upstream({str(data)!r}, "
             f"{str(mirror)!r}, progress=False, log=lambda _: None)")
    subprocess.run([sys.executable, "-c", build], cwd=src, env=dict(os.environ, PYTHONPATH=str(src)), check=True,
                   capture_output=True)
    return src, data


def compare_with_baseline(rev: str, data: str | None, mirror: Path, runs: int, workers: int, repeat: int,
                          current: str | None = None) -> None:
    """Alternate the grid on the baseline revision and on this checkout (or revision ``current``)."""
    from nabench.tables import paths

    with tempfile.TemporaryDirectory() as tmp:
        made: list[Path] = []
        try:
            base, base_data = _checkout(rev, Path(tmp), "base", mirror)
            made.append(base)
            here, here_data = REPO, paths.data_dir(data)
            if current is not None:
                here, here_data = _checkout(current, Path(tmp), "current", mirror)
                made.append(here)
            times: dict[str, list[dict[str, float]]] = {"baseline": [], "current": []}
            for _ in range(repeat):
                times["baseline"].append(timed_grid(base, str(base_data), runs, workers))
                times["current"].append(timed_grid(here, str(here_data), runs, workers))
        finally:
            for m in made:
                subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(m)], capture_output=True)
    b = {k: min(t[k] for t in times["baseline"]) for k in ("wall", "optimizer")}
    c = {k: min(t[k] for t in times["current"]) for k in ("wall", "optimizer")}
    print(f"before/after the space protocols ({rev} vs {current or 'this checkout'}), {runs} runs x 10 searchers, "
          f"{workers} workers, "
          f"best of {repeat} alternating runs:")
    print(f"  grid wall   {b['wall']:7.1f} s before  {c['wall']:7.1f} s after  ratio {c['wall'] / b['wall']:.2f}x")
    print(f"  optimizer   {b['optimizer']:7.1f} s before  {c['optimizer']:7.1f} s after  ratio "
          f"{c['optimizer'] / b['optimizer']:.2f}x (sum of the runs' own search time)")
    print(f"  target within 1.2x: {'met' if c['wall'] / b['wall'] <= 1.2 else 'MISSED'}")


def official_rs(runs: int, space: SearchSpace, folder: Path) -> tuple[float, int]:
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


def nabench_rs(runs: int, space: SearchSpace, signal: SearchSignal) -> tuple[float, int]:
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
    ap.add_argument("--baseline", default=BASELINE, help="git revision to compare with, or 'none'")
    ap.add_argument("--mirror", default=str(MIRROR), help="upstream files for the baseline's store")
    ap.add_argument("--repeat", type=int, default=2, help="alternating baseline/current grid runs")
    ap.add_argument("--current", default=None, help="git revision to time instead of this checkout")
    ap.add_argument("--compare-only", action="store_true", help="only the before/after comparison")
    args = ap.parse_args()
    if args.compare_only:
        compare_with_baseline(args.baseline, args.data_dir, Path(args.mirror), args.runs, args.workers, args.repeat,
                              args.current)
        return
    bench = nabench.load("nb201", args.data_dir)
    grid = replace(load_grid(GRID), runs=args.runs)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        res = run_grid(grid, Path(tmp) / "out", bench=bench, workers=args.workers, progress=False, log=lambda _: None)
        wall = time.perf_counter() - t0
    s = res.summary[res.summary.report == "cifar10/ori-test"].copy()
    s["wall_s"] = res.timings.groupby("searcher", sort=False)["wall_s"].mean().reindex(s["searcher"]).to_numpy()
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
    space = bench.space
    signal = SearchSignal.from_bench(bench, dataset="cifar10-valid", split="x-valid", fidelity=12, mode="mean")
    t_ours, q_ours = nabench_rs(args.official_runs, space, signal)
    t_off, q_off = official_rs(args.official_runs, space, Path(args.official_folder))
    print(f"random search, {args.official_runs} runs, in one process:")
    print(f"  nabench              {t_ours:8.3f} s  {q_ours:6d} queries  {1e6 * t_ours / q_ours:8.1f} us/query")
    print(f"  official nats_bench  {t_off:8.3f} s  {q_off:6d} queries  {1e6 * t_off / q_off:8.1f} us/query")
    print(f"  nabench is {t_off / q_off / (t_ours / q_ours):.0f}x faster per query")
    if args.baseline != "none":
        compare_with_baseline(args.baseline, args.data_dir, Path(args.mirror), args.runs, args.workers, args.repeat,
                              args.current)


if __name__ == "__main__":
    main()
