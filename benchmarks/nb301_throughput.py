"""Throughput of the NAS-Bench-301 surrogate: one batched onnxruntime call against one call per architecture.

    python benchmarks/nb301_throughput.py [--data-dir DIR] [--n 1000] [--repeat 5]

Three measurements, each against its baseline in the same run:

1. **Batched queries.** ``NB301Benchmark.predict`` on ``--n`` random DARTS cells: the arch codes are
   turned into the model's ``(n, 34)`` input with array gathers and go through one
   ``InferenceSession.run``. Baseline: the loop yahpo-gym's ``objective_function`` runs for a list of
   configurations, one at a time: the NB301 configuration dict of each cell, its values mapped
   through the encoding dict column by column, one ``(1, 34)`` model call each.
2. **The NA score of one candidate.** The mean over a DARTS cell and its 120 radius-1 neighbors
   (121 cells): neighbors enumerated vectorized and predicted in one batch, against 121 calls.
3. **An NA-RS step on the search path**: ``NeighborhoodScorer.evaluate`` of fresh candidates (k = all
   120 neighbors), i.e. what one NA step costs in a search.

Each time is the best of ``--repeat`` repetitions (one onnxruntime thread, as the search uses).
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Callable

import numpy as np

import nabench
from nabench import neighborhood as nh
from nabench.search import NeighborhoodScorer, make_signal
from nabench.surrogates.nb301 import CAT_NAMES


def best_of(fn: Callable[[], object], repeat: int) -> float:
    fn()
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return min(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--n", type=int, default=1000, help="architectures per batch")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    bench = nabench.load("nb301", args.data_dir)
    space = bench.space
    archs = space.sample(np.random.default_rng(0), args.n)
    enc = json.loads((bench.folder / "encoding_v2.json").read_text())
    prefix = "NetworkSelectorDatasetInfo_COLON_darts_COLON_"
    configs = [{k.replace(":", "_COLON_"): v for k, v in space.to_config(int(a)).items()} for a in archs]
    bench.predict(archs[:2], fidelity=98)  # open the session
    session = bench._session

    def loop() -> np.ndarray:
        out = np.empty(len(configs))
        epoch = np.full((1, 1), 98.0, dtype=np.float32)
        for i, cfg in enumerate(configs):
            x = np.array([[enc[prefix + n][cfg.get(prefix + n, "#na#")] for n in CAT_NAMES]], dtype=np.int32)
            out[i] = session.run(None, {"x_cat": x, "x_cont": epoch})[0][0, 0]
        return out

    assert np.allclose(100 * loop(), bench.predict(archs, fidelity=98)[0], atol=1e-4)
    t_batch = best_of(lambda: bench.predict(archs, fidelity=98), args.repeat)
    t_loop = best_of(loop, max(1, args.repeat // 2))
    print(f"NB301 surrogate, {args.n} random DARTS cells, epoch 98, one onnxruntime thread:")
    print(f"  batched (one call)         {t_batch * 1e3:9.2f} ms  {t_batch / args.n * 1e6:8.1f} us/arch  "
          f"{args.n / t_batch:10.0f} archs/s")
    print(f"  one call per arch (yahpo)  {t_loop * 1e3:9.2f} ms  {t_loop / args.n * 1e6:8.1f} us/arch  "
          f"{args.n / t_loop:10.0f} archs/s")
    print(f"  batched is {t_loop / t_batch:.0f}x faster")

    center = int(archs[0])
    spec = nh.NeighborhoodSpec(radius=1, include_self=True)

    def na_batch() -> float:
        members, _ = nh.members_of(space, center, spec)
        return float(bench.predict(members, fidelity=12)[0].mean())

    members, _ = nh.members_of(space, center, spec)
    single = [int(m) for m in members]

    def na_loop() -> float:
        return float(np.mean([bench.predict([m], fidelity=12)[0][0] for m in single]))

    assert len(members) == 121 and abs(na_batch() - na_loop()) < 1e-6
    t_na = best_of(na_batch, args.repeat)
    t_na_loop = best_of(na_loop, max(1, args.repeat // 2))
    print(f"NA score of one DARTS candidate (the cell and its 120 radius-1 neighbors, epoch 12):")
    print(f"  one batch of 121           {t_na * 1e3:9.2f} ms")
    print(f"  121 single calls           {t_na_loop * 1e3:9.2f} ms   batch is {t_na_loop / t_na:.0f}x faster")

    signal = make_signal(bench, dataset="cifar10", split="valid", fidelity=12, mode="mean")
    fresh = iter(space.sample(np.random.default_rng(1), 10 * (args.repeat + 1)).tolist())

    def na_step() -> None:
        scorer = NeighborhoodScorer(signal, np.random.default_rng(0), space, spec)
        for _ in range(10):
            scorer.evaluate(next(fresh))

    t_step = best_of(na_step, args.repeat) / 10
    print(f"NA-RS step on the search path (NeighborhoodScorer.evaluate, 121 new cells): {t_step * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
