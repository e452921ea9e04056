"""The flatness study's bootstrap: exact resample-count statistics against one scipy call per resample.

The default study (``nabench analyze flatness --dataset cifar10 --fidelity 12``: 2 dedup settings x 4
subsets x 13 predictors x 1,000 resamples of Kendall tau-b and Spearman rho) runs end to end the new
way (:mod:`nabench.analysis.bootstrap`). The old way (``scipy.stats.kendalltau`` and ``spearmanr`` on
every resample, as ``scipy.stats.bootstrap(vectorized=False)`` called them) runs on ``--old-resamples``
resamples of every block and is extrapolated to 1,000; on those resamples the two ways must agree to
1e-12. Same machine, same run.

Target (issue 14 item 2): the default study under 30 s on 2 cores.

    python benchmarks/flatness_bootstrap.py [--data-dir DIR] [--old-resamples 5]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from scipy import stats

import nabench
from nabench.analysis.bootstrap import resample_indices
from nabench.analysis.flatness import StudyConfig, _population, load_signal_and_test, run_study
from nabench.analysis.stats import at_data_precision, bootstrap_correlations, resample_counts, top_fraction


def old_way(x_all: np.ndarray, y: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """tau and rho of every predictor on every resample (rows of ``idx``), one scipy call each."""
    taus = np.empty((x_all.shape[0], idx.shape[0]))
    rhos = np.empty_like(taus)
    for b, i in enumerate(idx):
        yy = y[i]
        for j in range(x_all.shape[0]):
            taus[j, b] = stats.kendalltau(x_all[j, i], yy).statistic
            rhos[j, b] = stats.spearmanr(x_all[j, i], yy).statistic
    return taus, rhos


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=None, help="store folder (default $NABENCH_DATA)")
    ap.add_argument("--old-resamples", type=int, default=5, help="resamples per block for the old way (default 5)")
    ap.add_argument("--resamples", type=int, default=1000, help="resamples of the study (default 1000)")
    a = ap.parse_args()
    bench = nabench.load("nb201", a.data_dir)
    config = StudyConfig(n_resamples=a.resamples)

    t0 = time.perf_counter()
    cpu0 = time.process_time()
    run_study(bench, "cifar10", 12, rng=np.random.default_rng(0), config=config)
    new_wall, new_cpu = time.perf_counter() - t0, time.process_time() - cpu0

    signal, test, _ = load_signal_and_test(bench, "cifar10", 12)
    old_total, worst = 0.0, 0.0
    t_pred = time.perf_counter()
    pops = {d: _population(signal, test, bench.order, config, d) for d in config.dedup}
    old_total += time.perf_counter() - t_pred      # the predictors, computed by both ways
    for dedup in config.dedup:
        pred, target = pops[dedup]
        for fraction in config.fractions:
            pos = top_fraction(pred["signal"].to_numpy(), fraction)
            x_all = at_data_precision(np.stack([pred[c].to_numpy()[pos] for c in pred.columns]))
            y = at_data_precision(target[pos])
            idx = resample_indices(np.random.default_rng(1), y.size, a.old_resamples)
            t = time.perf_counter()
            tau_old, rho_old = old_way(x_all, y, idx)
            old_total += (time.perf_counter() - t) * a.resamples / a.old_resamples
            counts = resample_counts(np.random.default_rng(1), y.size, a.old_resamples)
            tau_new, rho_new = bootstrap_correlations(x_all, y, counts)
            worst = max(worst, float(np.nanmax(np.abs(tau_new - tau_old))), float(np.nanmax(np.abs(rho_new - rho_old))))
    print(f"flatness study cifar10 @ 12 epochs, {a.resamples} resamples, {os.cpu_count()} CPUs")
    print(f"  new (resample counts, whole study):    {new_wall:7.1f} s wall, {new_cpu:6.1f} s CPU")
    print(f"  old (scipy per resample, extrapolated from {a.old_resamples}/block): {old_total:7.1f} s")
    print(f"  speed-up {old_total / new_wall:.0f}x; largest |new - old| on the same resamples: {worst:.1e}")
    ok = new_wall < 30 and worst < 1e-12
    print(f"target: whole study < 30 s and equal to scipy to 1e-12: {'PASS' if ok else 'FAIL'}")


if __name__ == "__main__":
    main()
