"""The resample-count bootstrap equals scipy's Kendall tau-b and Spearman rho on the same resamples."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from nabench.analysis import bootstrap as bs
from nabench.analysis.stats import (
    DECIMALS, at_data_precision, correlation_table, rank_correlation, top_count, top_fraction, top_k_mean,
)
from nabench.errors import ConfigError


def _data(n: int, seed: int, x_levels: int | None, y_levels: int | None) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    y = 0.6 * x + rng.normal(size=n)
    if x_levels:
        x = np.round(x * x_levels) / x_levels          # many ties in x
    if y_levels:
        y = np.round(y * y_levels) / y_levels
    x[: n // 8] = 0.25                                 # one big tie group (larger than a chunk)
    return x, y


@pytest.mark.parametrize("n, x_levels, y_levels, m", [
    (40, 3, 2, 4), (257, None, None, None), (1000, 20, None, 16), (1000, 4, 6, 24), (3000, 50, 50, None),
])
def test_tau_and_rho_equal_scipy_on_the_same_resamples(n, x_levels, y_levels, m):
    x, y = _data(n, n, x_levels, y_levels)
    idx = bs.resample_indices(np.random.default_rng(7), n, 6)
    counts = bs.resample_counts(np.random.default_rng(7), n, 6)
    assert counts.shape == (n, 6) and (counts.sum(axis=0) == n).all()
    assert (np.bincount(idx[4], minlength=n) == counts[:, 4]).all()
    target = bs.TargetPlan.build(y)
    tau, rho = bs.PairPlan.build(x, target, m=m).statistics(target.batch(counts))
    ref_tau = [stats.kendalltau(x[i], y[i]).statistic for i in idx]   # duplicates of the resample included
    ref_rho = [stats.spearmanr(x[i], y[i]).statistic for i in idx]
    np.testing.assert_allclose(tau, ref_tau, rtol=0, atol=1e-12)
    np.testing.assert_allclose(rho, ref_rho, rtol=0, atol=1e-12)


def test_unit_weights_give_the_full_sample_statistic():
    x, y = _data(500, 3, 10, 10)
    tau, rho = bs.rank_correlations(x, y, np.ones((500, 1), dtype=np.int32))
    assert tau[0] == pytest.approx(stats.kendalltau(x, y).statistic, abs=1e-12)
    assert rho[0] == pytest.approx(stats.spearmanr(x, y).statistic, abs=1e-12)


def test_a_resample_with_a_constant_side_is_nan():
    x, y = np.arange(10.0), np.arange(10.0) ** 2
    w = np.zeros((10, 2), dtype=np.int32)
    w[3, 0] = 10                                    # every draw is item 3: both sides constant
    w[:, 1] = 1
    tau, rho = bs.rank_correlations(x, y, w)
    assert np.isnan(tau[0]) and np.isnan(rho[0])
    assert tau[1] == pytest.approx(1.0) and rho[1] == pytest.approx(1.0)


def test_weights_are_validated():
    target = bs.TargetPlan.build(np.arange(5.0))
    with pytest.raises(ConfigError, match="one column per resample"):
        target.batch(np.ones((4, 3)))


def test_correlation_table_interval_is_the_percentile_of_the_exact_resampled_statistics():
    """The CI is the 2.5/97.5% quantile of scipy's tau over the resamples the generator draws."""
    x, y = _data(300, 11, 8, None)
    table = correlation_table({"x": x}, y, rng=np.random.default_rng(5), n_resamples=60)
    idx = bs.resample_indices(np.random.default_rng(5), 300, 60)
    xr, yr = at_data_precision(x), at_data_precision(y)
    taus = [stats.kendalltau(xr[i], yr[i]).statistic for i in idx]
    lo, hi = np.quantile(taus, [0.025, 0.975])
    assert table["kendall_lo"].iloc[0] == pytest.approx(lo, abs=1e-12)
    assert table["kendall_hi"].iloc[0] == pytest.approx(hi, abs=1e-12)
    one = correlation_table({"x": x}, y, rng=np.random.default_rng(5), n_resamples=60)
    assert one.equals(table)


def test_float_noise_ties_are_ties():
    """Seed means equal up to ~1e-9 rank as ties (the tables' precision), real differences stay."""
    base = np.array([81.982666666, 81.982666666, 81.98, 90.0, 75.5])
    noisy = base + np.array([3e-9, -2e-9, 0.0, 1e-10, 0.0])
    y = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    assert rank_correlation(noisy, y) == rank_correlation(base, y)
    assert np.unique(at_data_precision(noisy)).size == 4
    assert 10.0 ** -DECIMALS < 4e-6                       # below the smallest real difference of a mean of 25
    # ties at the data's precision go to the lower position, not to whichever noise is larger
    assert list(top_fraction(noisy, 0.2)) == [3]
    assert top_k_mean(noisy[:2], np.array([10.0, 20.0]), 1) == 10.0


@pytest.mark.parametrize("n, fraction, expected", [
    (15625, 0.01, 157), (15625, 0.1, 1563), (6466, 0.05, 324), (100, 0.07, 7), (3, 1.0, 3), (10, 0.001, 1),
])
def test_top_count_rounds_up(n, fraction, expected):
    assert top_count(n, fraction) == expected
    assert top_fraction(np.arange(float(n)), fraction).size == expected


def test_top_count_rejects_bad_fractions():
    with pytest.raises(ConfigError, match="top fraction"):
        top_count(10, 0.0)
