"""Speed and memory of the tabular store, against baselines measured in the same run.

* Cold load: a fresh Python process imports nabench and loads the whole store (checksum verified),
  against a fresh process importing pandas and reading the three canonical CSVs.
* Lookups: vectorized ``bench.accuracy`` (and one-at-a-time calls) against per-query calls of the
  official ``nats_bench`` API on the official sample folder (its per-query cost does not depend on
  how many architectures the folder holds).
* Memory: resident memory added by loading the store, and the bytes of its arrays.
* Verification: what each check of ``store.read`` costs in a warm process (the sha256 of ``arrays.bin``
  and of the index are checked on every load, issue 12), against the whole read.

Targets (issue 2): cold load < 100 ms, >= 100x the official per-query throughput, < 50 MB resident.

    python benchmarks/tables_load.py [--data-dir DIR] [--shared ../shared/data] [--repeat 7]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

COLD_NABENCH = """
import time, json, resource
t0 = time.perf_counter()
rss0 = int(open('/proc/self/statm').read().split()[1]) * {page}
import nabench
bench = nabench.load('nb201', data_dir={data_dir!r})
t1 = time.perf_counter()
rss1 = int(open('/proc/self/statm').read().split()[1]) * {page}
nbytes = sum(a.nbytes for a in bench._a.values())
print(json.dumps({{'seconds': t1 - t0, 'rss_added': rss1 - rss0, 'nbytes': nbytes}}))
"""

COLD_PANDAS = """
import time, json
t0 = time.perf_counter()
import pandas as pd
frames = [pd.read_csv({shared!r} + '/' + name) for name in
          ('nb201_200epoch.csv.gz', 'nb201_200epoch_per_seed.csv.gz', 'nb201_12epoch.csv.gz')]
t1 = time.perf_counter()
print(json.dumps({{'seconds': t1 - t0}}))
"""


def _fresh(code: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    return json.loads(out.stdout.strip().splitlines()[-1])


def cold(data_dir: str, shared: str, repeat: int) -> None:
    page = os.sysconf("SC_PAGE_SIZE")
    ours = [_fresh(COLD_NABENCH.format(data_dir=data_dir, page=page)) for _ in range(repeat)]
    theirs = [_fresh(COLD_PANDAS.format(shared=shared)) for _ in range(max(2, repeat // 2))]
    t_ours = statistics.median(r["seconds"] for r in ours)
    t_pd = statistics.median(r["seconds"] for r in theirs)
    rss = statistics.median(r["rss_added"] for r in ours) / 2**20
    print(f"cold load (fresh process, import included, median of {repeat}):")
    print(f"  nabench store      {t_ours * 1e3:8.1f} ms   (target < 100 ms)")
    print(f"  pandas + CSVs      {t_pd * 1e3:8.1f} ms   -> nabench is {t_pd / t_ours:.1f}x faster")
    print(f"memory: store arrays {ours[0]['nbytes'] / 2**20:.1f} MB, resident memory added by import+load "
          f"{rss:.1f} MB (target < 50 MB)")


def verification(data_dir: str, repeat: int) -> None:
    import json

    from nabench.tables import paths, store

    path = paths.store_dir(Path(data_dir))
    raw = (path / store.META).read_bytes()
    meta = json.loads(raw)
    data = (path / store.ARRAYS).read_bytes()

    def median_ms(fn, n=max(repeat, 5) * 3) -> float:
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return statistics.median(times) * 1e3

    total = median_ms(lambda: store.read(path))
    parts = {
        "parse meta.json + check its keys": median_ms(lambda: store._check_meta(path, json.loads(raw.decode()))),
        "sha256 of the index": median_ms(lambda: store.index_sha256(meta["index"])),
        "check every index entry": median_ms(lambda: store._parse_index(path, meta["index"])),
        f"read arrays.bin ({len(data) / 2**20:.1f} MB)": median_ms(lambda: (path / store.ARRAYS).read_bytes()),
        "sha256 of arrays.bin": median_ms(lambda: store._sha256(data)),
    }
    print(f"verified store.read in a warm process (median): {total:.2f} ms, of which")
    for name, ms in parts.items():
        print(f"  {name:36s} {ms:7.3f} ms  ({ms / total:5.1%})")


def lookups(data_dir: str, shared: str) -> None:
    import numpy as np

    import nabench

    bench = nabench.load("nb201", data_dir=data_dir)
    idx = np.arange(bench.n_archs)
    reps = 50
    t0 = time.perf_counter()
    for _ in range(reps):
        bench.accuracy(idx, dataset="cifar10-valid", split="x-valid", fidelity=200)
    vec = (time.perf_counter() - t0) / (reps * len(idx))
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    for _ in range(reps):
        bench.accuracy(idx, dataset="cifar10-valid", split="x-valid", fidelity=200, seed=rng)
    vec_seed = (time.perf_counter() - t0) / (reps * len(idx))
    n_scalar = 3000
    t0 = time.perf_counter()
    for i in range(n_scalar):
        bench.accuracy(i, dataset="cifar10-valid", split="x-valid", fidelity=200)
    scalar = (time.perf_counter() - t0) / n_scalar

    import nats_bench

    folder = Path(shared) / "upstream" / "nats_official_sample" / "NATS-tss-v1_0-3ffb9-simple"
    api = nats_bench.create(str(folder), "tss", fast_mode=True, verbose=False)
    archs = [0, 11, 284]
    for a in archs:  # warm: files decompressed once
        api.get_more_info(a, "cifar10-valid", hp="200", is_random=False)
    n_official = 600
    t0 = time.perf_counter()
    for i in range(n_official):
        api.get_more_info(archs[i % 3], "cifar10-valid", hp="200", is_random=False)
    official = (time.perf_counter() - t0) / n_official
    print("lookups (cifar10-valid x-valid, 200 epochs):")
    print(f"  official nats_bench get_more_info   {official * 1e6:10.2f} us/query")
    print(f"  nabench, one call per arch          {scalar * 1e6:10.2f} us/query  -> {official / scalar:8.1f}x")
    print(f"  nabench, vectorized (seed mean)     {vec * 1e9:10.2f} ns/query  -> {official / vec:8.0f}x (target >= 100x)")
    print(f"  nabench, vectorized (random seed)   {vec_seed * 1e9:10.2f} ns/query  -> {official / vec_seed:8.0f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=None, help="store folder (default $NABENCH_DATA or ~/.cache/nabench)")
    ap.add_argument("--shared", default=str(REPO.parent / "shared" / "data"), help="canonical tables folder")
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    from nabench.tables import paths

    data_dir = str(paths.data_dir(args.data_dir))
    cold(data_dir, args.shared, args.repeat)
    verification(data_dir, args.repeat)
    lookups(data_dir, args.shared)


if __name__ == "__main__":
    main()
