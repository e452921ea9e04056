"""Rank correlations with bootstrap confidence intervals, top-fraction subsets and top-k picks.

Decisions (the issue leaves them open):

* Correlations are Kendall's tau-b and Spearman's rho from :mod:`scipy.stats` (tau-b handles the
  many ties of tabular accuracies).
* Confidence intervals come from :func:`scipy.stats.bootstrap` with the *percentile* method: cells
  are resampled with replacement (one resample of cell indices is shared by every predictor, so the
  predictors are compared on the same resamples), ``n_resamples`` times, with the caller's
  :class:`numpy.random.Generator`. BCa would need a jackknife over up to 15,625 cells per statistic,
  which costs far more than it adds at these sample sizes.
* When a ``baseline`` predictor is named, the table also holds the difference of each predictor's
  correlation minus the baseline's, with its own paired bootstrap interval: that difference, not two
  overlapping intervals, says whether an aggregate ranks better than the plain signal.
* A subset "top p by signal" is fixed once on the full data (the cells whose signal is at or above
  the ``1 - p`` quantile, ties broken by the lower position) and then resampled; it is not re-chosen
  inside each resample.
"""

from __future__ import annotations

import warnings
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from nabench.errors import ConfigError

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


def rank_correlation(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> tuple[float, float]:
    """Kendall's tau-b and Spearman's rho of ``x`` against ``y`` (NaN where one side is constant)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.ConstantInputWarning)
        tau = stats.kendalltau(x, y).statistic
        rho = stats.spearmanr(x, y).statistic
    return float(tau), float(rho)


def correlation_table(
    predictors: Mapping[str, Sequence[float] | np.ndarray],
    target: Sequence[float] | np.ndarray,
    *,
    rng: np.random.Generator,
    n_resamples: int = 1000,
    confidence_level: float = 0.95,
    baseline: str | None = None,
) -> pd.DataFrame:
    """Rank correlation of every predictor with ``target``, with paired bootstrap percentile CIs.

    Returns one row per predictor with the columns :data:`CORRELATION_COLUMNS`. With
    ``n_resamples=0`` the interval columns are NaN (point estimates only). The ``d_*`` columns hold
    ``predictor - baseline`` and are NaN when no ``baseline`` is given.
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
    x_all = np.stack(cols)
    base = names.index(baseline) if baseline is not None else None
    k = len(names)

    def statistic(idx: np.ndarray) -> np.ndarray:
        idx = np.asarray(idx, dtype=np.int64)
        yy = y[idx]
        out = np.empty(2 * k)
        for j in range(k):
            out[j], out[k + j] = rank_correlation(x_all[j, idx], yy)
        if base is None:
            return out
        diff = np.concatenate([out[:k] - out[base], out[k:] - out[k + base]])
        return np.concatenate([out, diff])

    point = statistic(np.arange(y.size))
    lo = np.full_like(point, np.nan)
    hi = np.full_like(point, np.nan)
    if n_resamples:
        with warnings.catch_warnings():
            # a constant resample gives a NaN correlation; the percentile of the rest is still valid
            warnings.simplefilter("ignore", RuntimeWarning)
            warnings.simplefilter("ignore", stats.DegenerateDataWarning)
            res = stats.bootstrap(
                (np.arange(y.size),),
                statistic,
                n_resamples=int(n_resamples),
                vectorized=False,
                method="percentile",
                confidence_level=confidence_level,
                rng=rng,
            )
        lo, hi = np.asarray(res.confidence_interval.low), np.asarray(res.confidence_interval.high)

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


def top_fraction(signal: Sequence[float] | np.ndarray, fraction: float) -> np.ndarray:
    """Positions of the ``ceil(fraction * n)`` highest values of ``signal`` (ties: lower position first).

    ``fraction=1`` gives every position. The result is sorted ascending.
    """
    s = _as_vector("signal", signal)
    if not 0.0 < fraction <= 1.0:
        raise ConfigError(f"a top fraction must lie in (0, 1], got {fraction}; e.g. 0.01 for the top 1%")
    m = int(np.ceil(fraction * s.size - 1e-9))
    order = np.argsort(-s, kind="stable")
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
    pick = np.argsort(-s, kind="stable")[:k]
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
