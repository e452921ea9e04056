"""Rank correlations with bootstrap confidence intervals, top-fraction subsets and top-k picks.

Decisions (the issue leaves them open):

* Correlations are Kendall's tau-b and Spearman's rho as :mod:`scipy.stats` defines them (tau-b
  handles the many ties of tabular accuracies); point estimates call scipy.
* **Values are compared at the data's precision.** The tables record accuracies with about 10
  significant digits (``63.36399998`` for 63.364), so seed means and neighborhood means that are
  equal in truth can differ by float noise of ~1e-9 (a third of NB201's cells would look distinct
  when they tie). Before any ranking (correlations, top fractions, top-k picks) every value is
  rounded to :data:`DECIMALS` = 6 decimals (1e-6 percent) by :func:`at_data_precision`: far below
  any real difference (the tables' 4 decimals, divided by a neighborhood of 25, is 4e-6) and far
  above the noise.
* Confidence intervals are bootstrap *percentile* intervals: cells are resampled with replacement
  (one resample of cell indices is shared by every predictor, so the predictors are compared on the
  same resamples), ``n_resamples`` times, with the caller's :class:`numpy.random.Generator`
  (indices drawn as :func:`scipy.stats.bootstrap` draws them). The statistics of all resamples are
  computed at once from resample counts by :mod:`nabench.analysis.bootstrap` (exact, equal to
  scipy's on each resample; ~100x faster than one scipy call per resample). The interval is the
  linear-interpolation quantile of the resampled statistics (as scipy's), over the resamples where
  the statistic is defined (a constant resample has none). BCa would need a jackknife over up to
  15,625 cells per statistic, which costs far more than it adds at these sample sizes.
* When a ``baseline`` predictor is named, the table also holds the difference of each predictor's
  correlation minus the baseline's, with its own paired bootstrap interval: that difference, not two
  overlapping intervals, says whether an aggregate ranks better than the plain signal.
* **Top-p subsets** ("top 10%" by signal) hold :func:`top_count` ``= ceil(p * n)`` cells (``p * n``
  rounded up, so a subset is never empty and 1% of 15,625 cells is 157): the highest by signal at
  the data's precision, ties broken by the lower position. The subset is fixed once on the full
  data and then resampled; it is not re-chosen inside each resample. :func:`top_fraction` is the
  one implementation; everything that takes a top share calls it.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from nabench.analysis.bootstrap import PairPlan, TargetPlan, resample_counts
from nabench.errors import ConfigError
from nabench.resources import available_cpus

#: Decimals at which values are compared before ranking (see the module notes).
DECIMALS = 6
#: Resample weights handled per batch, as resamples x cells (bounds the working memory to ~100 MB).
_BATCH_CELLS = 2_000_000

#: Columns of :func:`correlation_table`, in order.
CORRELATION_COLUMNS: tuple[str, ...] = (
    "predictor",
    "n",
    "kendall_tau",
    "kendall_lo",
    "kendall_hi",
    "spearman_rho",
    "spearman_lo",
    "spearman_hi",
    "d_kendall",
    "d_kendall_lo",
    "d_kendall_hi",
    "d_spearman",
    "d_spearman_lo",
    "d_spearman_hi",
)


def _as_vector(name: str, values: object) -> np.ndarray:
    a = np.asarray(values, dtype=np.float64)
    if a.ndim != 1:
        raise ConfigError(f"{name} must be a 1-d array of values, got shape {a.shape}")
    if not np.isfinite(a).all():
        bad = int(np.flatnonzero(~np.isfinite(a))[0])
        raise ConfigError(f"{name} holds a non-finite value at position {bad}; drop or fill missing values first")
    return a


def _check_resamples(n_resamples: int, confidence_level: float) -> None:
    if int(n_resamples) != n_resamples or n_resamples < 0:
        raise ConfigError(f"the number of bootstrap resamples must be a non-negative integer, got {n_resamples!r}")
    if 0 < n_resamples < 50:
        raise ConfigError(
            f"{n_resamples} bootstrap resamples are too few for a percentile interval; use 0 (no interval) or >= 50"
        )
    if not 0.0 < confidence_level < 1.0:
        raise ConfigError(f"confidence_level must lie strictly between 0 and 1, got {confidence_level}")


def at_data_precision(values: Sequence[float] | np.ndarray) -> np.ndarray:
    """``values`` rounded to :data:`DECIMALS` decimals, so that ties hidden by float noise are ties."""
    return np.round(np.asarray(values, dtype=np.float64), DECIMALS)


def rank_correlation(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> tuple[float, float]:
    """Kendall's tau-b and Spearman's rho of ``x`` against ``y`` at the data's precision (NaN if one side is constant)."""
    xr, yr = at_data_precision(x), at_data_precision(y)
    with warnings.catch_warnings():
        # expected: a constant side has no rank correlation (NaN), which the tables show as such
        warnings.simplefilter("ignore", stats.ConstantInputWarning)
        tau = stats.kendalltau(xr, yr).statistic
        rho = stats.spearmanr(xr, yr).statistic
    return float(tau), float(rho)


def bootstrap_correlations(
    x_all: np.ndarray, y: np.ndarray, counts: np.ndarray, *, progress: Any = None, workers: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Kendall tau-b and Spearman rho of each row of ``x_all`` with ``y`` on every resample.

    ``counts`` is ``(n, n_resamples)`` (:func:`nabench.analysis.bootstrap.resample_counts`); returns two
    ``(n_predictors, n_resamples)`` arrays. ``progress`` (e.g. a tqdm bar) gets ``update(1)`` per predictor.
    ``workers`` threads share the predictors (default: 2, or 1 on a one-core machine); the result does
    not depend on it.
    """
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_limits

    k, b = x_all.shape[0], counts.shape[1]
    taus, rhos = np.empty((k, b)), np.empty((k, b))
    step = max(1, _BATCH_CELLS // max(1, y.size))
    target = TargetPlan.build(y)
    n_workers = max(1, min(k, workers if workers is not None else min(2, available_cpus())))
    # one BLAS thread: the matmuls are small and batched, and nested BLAS threads only contend;
    # predictors run in parallel threads instead (numpy releases the GIL in the array passes)
    with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(n_workers) as pool:
        batches = [(lo, target.batch(counts[:, lo: lo + step])) for lo in range(0, b, step)]

        def one(j: int) -> None:
            plan = PairPlan.build(x_all[j], target)
            for lo, batch in batches:
                taus[j, lo: lo + step], rhos[j, lo: lo + step] = plan.statistics(batch)
            if progress is not None:
                progress.update(1)

        list(pool.map(one, range(k)))
    return taus, rhos


def p_value_text(p: float, se: float) -> str:
    """A paired test's p-value for a table: scientific notation, or ``-`` where no test applies.

    A test needs spread in the paired differences: where their standard error is below the data's
    precision (1e-6; every seed gives the same difference up to float noise) or undefined, a
    p-value of ``0`` would mislead, so the table shows ``-``.
    """
    if not (np.isfinite(se) and se >= 10.0 ** -DECIMALS) or not np.isfinite(p):
        return "-"
    return f"{p:.2e}"


def percentile_interval(samples: np.ndarray, confidence_level: float) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the percentile interval of the resampled statistics (NaN resamples left out)."""
    alpha = (1.0 - confidence_level) / 2.0
    out = np.full((2, samples.shape[0]), np.nan)
    ok = ~np.isnan(samples).all(axis=1)
    if ok.any():
        out[:, ok] = np.nanquantile(samples[ok], [alpha, 1.0 - alpha], axis=1)
    return out[0], out[1]


def correlation_table(
    predictors: Mapping[str, Sequence[float] | np.ndarray],
    target: Sequence[float] | np.ndarray,
    *,
    rng: np.random.Generator,
    n_resamples: int = 1000,
    confidence_level: float = 0.95,
    baseline: str | None = None,
    progress: Any = None,
) -> pd.DataFrame:
    """Rank correlation of every predictor with ``target``, with paired bootstrap percentile CIs.

    Returns one row per predictor with the columns :data:`CORRELATION_COLUMNS`. With
    ``n_resamples=0`` the interval columns are NaN (point estimates only). The ``d_*`` columns hold
    ``predictor - baseline`` and are NaN when no ``baseline`` is given. ``progress`` (a tqdm bar or
    anything with ``update(n)``) advances by one per predictor bootstrapped.
    """
    _check_resamples(n_resamples, confidence_level)
    if not isinstance(rng, np.random.Generator):
        raise ConfigError("pass an explicit numpy.random.Generator as rng (e.g. numpy.random.default_rng(0))")
    y = _as_vector("target", target)
    names = list(predictors)
    if not names:
        raise ConfigError("give at least one predictor to correlate with the target")
    cols = []
    for name in names:
        x = _as_vector(f"predictor {name!r}", predictors[name])
        if x.shape != y.shape:
            raise ConfigError(f"predictor {name!r} has {x.size} values but the target has {y.size}; they must pair up")
        cols.append(x)
    if y.size < 3:
        raise ConfigError(f"rank correlations need at least 3 paired values, got {y.size}")
    if baseline is not None and baseline not in predictors:
        raise ConfigError(f"baseline {baseline!r} is not one of the predictors {names}")
    x_all = at_data_precision(np.stack(cols))
    y = at_data_precision(y)
    base = names.index(baseline) if baseline is not None else None
    k = len(names)
    point = np.empty(2 * k)
    for j in range(k):
        point[j], point[k + j] = rank_correlation(x_all[j], y)
    if base is not None:
        point = np.concatenate([point, point[:k] - point[base], point[k:] - point[k + base]])
    lo = np.full_like(point, np.nan)
    hi = np.full_like(point, np.nan)
    if n_resamples:
        counts = resample_counts(rng, y.size, int(n_resamples))
        taus, rhos = bootstrap_correlations(x_all, y, counts, progress=progress)
        samples = np.concatenate([taus, rhos])
        if base is not None:
            samples = np.concatenate([samples, taus - taus[base], rhos - rhos[base]])
        lo, hi = percentile_interval(samples, confidence_level)

    nan = np.full(k, np.nan)
    d = (slice(2 * k, 3 * k), slice(3 * k, 4 * k))
    table = pd.DataFrame(
        {
            "predictor": names,
            "n": y.size,
            "kendall_tau": point[:k],
            "kendall_lo": lo[:k],
            "kendall_hi": hi[:k],
            "spearman_rho": point[k : 2 * k],
            "spearman_lo": lo[k : 2 * k],
            "spearman_hi": hi[k : 2 * k],
            "d_kendall": point[d[0]] if base is not None else nan,
            "d_kendall_lo": lo[d[0]] if base is not None else nan,
            "d_kendall_hi": hi[d[0]] if base is not None else nan,
            "d_spearman": point[d[1]] if base is not None else nan,
            "d_spearman_lo": lo[d[1]] if base is not None else nan,
            "d_spearman_hi": hi[d[1]] if base is not None else nan,
        }
    )
    return table[list(CORRELATION_COLUMNS)]


def top_count(n: int, fraction: float) -> int:
    """How many of ``n`` items a top ``fraction`` holds: ``ceil(fraction * n)`` (the one rounding rule).

    ``fraction * n`` is first rounded to 9 decimals, so float error (``0.07 * 100 = 7.000000000000001``)
    does not add an item.
    """
    if not 0.0 < fraction <= 1.0:
        raise ConfigError(f"a top fraction must lie in (0, 1], got {fraction}; e.g. 0.01 for the top 1%")
    return min(int(n), int(math.ceil(round(fraction * n, 9))))


def top_fraction(signal: Sequence[float] | np.ndarray, fraction: float) -> np.ndarray:
    """Positions of the :func:`top_count` highest values of ``signal`` at the data's precision (ties: lower position).

    ``fraction=1`` gives every position. The result is sorted ascending.
    """
    s = _as_vector("signal", signal)
    m = top_count(s.size, fraction)
    order = np.argsort(-at_data_precision(s), kind="stable")
    return np.sort(order[:m])


def top_k_mean(
    score: Sequence[float] | np.ndarray, target: Sequence[float] | np.ndarray, k: int
) -> float:
    """Mean ``target`` of the ``k`` items with the highest ``score`` (ties: lower position first).

    This is the test accuracy a searcher would report if it picked the top ``k`` cells by ``score``.
    """
    s = _as_vector("score", score)
    t = _as_vector("target", target)
    if s.shape != t.shape:
        raise ConfigError(f"score has {s.size} values but target has {t.size}; they must pair up")
    if not 1 <= k <= s.size:
        raise ConfigError(f"k must lie in 1..{s.size}, got {k}")
    pick = np.argsort(-at_data_precision(s), kind="stable")[:k]
    return float(t[pick].mean())


def mean_ci(
    values: Sequence[float] | np.ndarray, *, axis: int = 0, confidence_level: float = 0.95
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean along ``axis`` and its Student-t confidence interval, as ``(mean, lo, hi)`` arrays.

    Used for the bands of anytime curves (runs x grid points) and for final-accuracy summaries.
    NaN propagates: a column holding a NaN gets a NaN mean and band; fewer than 2 values give a NaN band.
    """
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0 or v.shape[axis] == 0:
        raise ConfigError("cannot average an empty set of values")
    if not 0.0 < confidence_level < 1.0:
        raise ConfigError(f"confidence_level must lie strictly between 0 and 1, got {confidence_level}")
    n = v.shape[axis]
    m = v.mean(axis=axis)
    if n < 2:
        nan = np.full_like(m, np.nan)
        return m, nan, nan.copy()
    half = stats.t.ppf(0.5 + confidence_level / 2, n - 1) * stats.sem(v, axis=axis)
    return m, m - half, m + half
