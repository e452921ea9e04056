"""Cold start of the ``nabench`` command against a bare ``python -c "import numpy"``, in the same run.

Each command runs in a fresh process, interleaved with the baseline (so drifting machine load hits
both alike), ``--repeat`` times; the medians and their ratio are printed. The CLI imports only the
module of the subcommand it runs (see :mod:`nabench.cli`), so ``nabench query`` pays for numpy and
the store reader, not for scipy, pandas, matplotlib or torch.

Target (issue 14 item 3): ``nabench query ...`` <= 1.5x ``import numpy``.

    python benchmarks/cli_startup.py [--data-dir DIR] [--repeat 15]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

QUERY = ["query", "6111", "--dataset", "cifar10", "--split", "ori-test", "--fidelity", "200"]


def _nabench() -> list[str]:
    """The console script next to this interpreter (what users run), else ``python -m nabench.cli``."""
    script = Path(sys.executable).with_name("nabench")
    if script.is_file():
        return [str(script)]
    found = shutil.which("nabench")
    return [found] if found else [sys.executable, "-m", "nabench.cli"]


def _seconds(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    res = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    dt = time.perf_counter() - t0
    if res.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed (exit {res.returncode}): {res.stderr.strip()}")
    return dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=None, help="store folder (default $NABENCH_DATA)")
    ap.add_argument("--repeat", type=int, default=15, help="processes per command (default 15)")
    a = ap.parse_args()
    env = dict(os.environ, OMP_NUM_THREADS="1")
    if a.data_dir:
        env["NABENCH_DATA"] = a.data_dir
    cases = {
        "python -c 'import numpy'": [sys.executable, "-c", "import numpy"],
        "nabench query 6111 ... (CLI)": _nabench() + QUERY,
        "nabench --version": _nabench() + ["--version"],
        "python -c 'nabench.load(...).accuracy(...)' (API)": [
            sys.executable, "-c", "import nabench; b = nabench.load('nb201'); "
            "print(b.accuracy(6111, dataset='cifar10', split='ori-test', fidelity=200))"],
    }
    for cmd in cases.values():  # warm the page cache and .pyc files
        _seconds(cmd, env)
    times: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(a.repeat):
        for name, cmd in cases.items():
            times[name].append(_seconds(cmd, env))
    base = statistics.median(times["python -c 'import numpy'"])
    print(f"cold start, median of {a.repeat} fresh processes (interleaved), {os.cpu_count()} CPUs")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"  {name:52s} {1000 * med:7.1f} ms  {med / base:5.2f}x import numpy")
    ratio = statistics.median(times["nabench query 6111 ... (CLI)"]) / base
    print(f"nabench query / import numpy = {ratio:.2f}x (target <= 1.5x): {'PASS' if ratio <= 1.5 else 'FAIL'}")


if __name__ == "__main__":
    main()
