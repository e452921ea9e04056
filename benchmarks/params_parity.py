"""Parameter parity of the NAS-Bench-201 network builder with the benchmark tables, for every cell.

Builds :class:`nabench.models.nb201_net.NB201Net` for all 15,625 cells with 10, 100 and 120 classes
(CIFAR-10, CIFAR-100, ImageNet16-120) and compares its parameter count, in millions rounded to 1e-6, with
the ``*_params_mb`` columns of ``nb201_200epoch.csv.gz`` (never copied into the repository; read from
``../shared/data`` or ``$NABENCH_SHARED_DATA``). Prints the number of matches, any mismatch, and the time.
Exit status 1 if any count differs.

    .venv/bin/python benchmarks/params_parity.py                 # all 46,875 networks
    .venv/bin/python benchmarks/params_parity.py --limit 300     # a seeded sample of 300 cells
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

COLUMNS = {"cifar10_valid_params_mb": 10, "cifar100_params_mb": 100, "imagenet16_params_mb": 120}


def _count_chunk(archs: list[str]) -> list[tuple[int, int, int]]:
    """Parameter counts of each cell's network for 10, 100 and 120 classes."""
    import torch

    from nabench.models.nb201_net import NB201Net, count_parameters

    torch.set_num_threads(1)
    return [tuple(count_parameters(NB201Net(a, c)) for c in COLUMNS.values()) for a in archs]  # type: ignore[misc]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default_data = Path(os.environ.get("NABENCH_SHARED_DATA", REPO.parent / "shared" / "data"))
    parser.add_argument("--table", type=Path, default=default_data / "nb201_200epoch.csv.gz")
    parser.add_argument("--limit", type=int, default=None, help="check a seeded random sample of this many cells")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sample (with --limit)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--json", type=Path, default=None, help="also write the results as JSON here")
    args = parser.parse_args(argv)

    if not args.table.is_file():
        print(f"error: {args.table} not found; set NABENCH_SHARED_DATA or pass --table", file=sys.stderr)
        return 2
    table = pd.read_csv(args.table, usecols=["arch_index", "arch_str", *COLUMNS])
    if args.limit is not None:
        rows = np.sort(np.random.default_rng(args.seed).choice(len(table), size=min(args.limit, len(table)),
                                                               replace=False))
        table = table.iloc[rows]
    archs = table.arch_str.tolist()
    chunks = [archs[i:i + 250] for i in range(0, len(archs), 250)]
    start = time.perf_counter()
    if args.workers > 1:
        with ProcessPoolExecutor(args.workers) as pool:
            counts = [c for part in pool.map(_count_chunk, chunks) for c in part]
    else:
        counts = [c for part in map(_count_chunk, chunks) for c in part]
    seconds = time.perf_counter() - start

    got = np.round(np.asarray(counts, dtype=np.float64) / 1e6, 6)
    want = np.round(table[list(COLUMNS)].to_numpy(dtype=np.float64), 6)
    bad = np.argwhere(got != want)
    for r, c in bad[:20]:
        row = table.iloc[r]
        print(f"MISMATCH arch {row.arch_index} {list(COLUMNS)[c]}: built {got[r, c]:.6f} M, table {want[r, c]:.6f} M")
    n = got.size
    print(f"{n - len(bad)}/{n} parameter counts match ({len(archs)} cells x {len(COLUMNS)} datasets) "
          f"in {seconds:.1f} s with {args.workers} workers ({1e3 * seconds / n:.2f} ms per network)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"cells": len(archs), "networks": n, "matches": int(n - len(bad)),
                                         "mismatches": [[int(table.iloc[r].arch_index), list(COLUMNS)[c]]
                                                        for r, c in bad], "seconds": seconds}, indent=2) + "\n")
    return 1 if len(bad) else 0


if __name__ == "__main__":
    sys.exit(main())
