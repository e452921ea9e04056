"""Statistics of nabench.analysis.stats checked against scipy on known inputs."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from nabench.analysis.stats import correlation_table, mean_ci, rank_correlation, top_fraction, top_k_mean
from nabench.errors import ConfigError


def _data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    g = np.random.default_rng(seed)
    y = g.normal(size=n)
    good = y + 0.5 * g.normal(size=n)
    bad = y + 2.0 * g.normal(size=n)
    return y, good, bad


def test_rank_correlation_matches_scipy_and_known_values():
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    assert rank_correlation(x, x) == pytest.approx((1.0, 1.0))
    assert rank_correlation(x, -x) == pytest.approx((-1.0, -1.0))
    y, good, _ = _data(300)
    tau, rho = rank_correlation(good, y)
    assert tau == pytest.approx(stats.kendalltau(good, y).statistic)
    assert rho == pytest.approx(stats.spearmanr(good, y).statistic)
    # tau-b with ties: one hand-checked case (scipy documents this example)
    t, _ = rank_correlation([12, 2, 1, 12, 2], [1, 4, 7, 1, 0])
    assert t == pytest.approx(-0.47140452079103173)


def test_rank_correlation_of_constant_input_is_nan():
    tau, rho = rank_correlation([1.0, 1.0, 1.0], [1.0, 2.0, 3.0])
    assert np.isnan(tau) and np.isnan(rho)


def test_correlation_table_point_estimates_equal_scipy_and_ci_covers_them():
    y, good, bad = _data(400)
    t = correlation_table({"good": good, "bad": bad}, y, rng=np.random.default_rng(1), n_resamples=200)
    assert list(t["predictor"]) == ["good", "bad"]
    for row, x in zip(t.itertuples(), (good, bad)):
        assert row.kendall_tau == pytest.approx(stats.kendalltau(x, y).statistic)
        assert row.spearman_rho == pytest.approx(stats.spearmanr(x, y).statistic)
        assert row.kendall_lo < row.kendall_tau < row.kendall_hi
        assert row.spearman_lo < row.spearman_rho < row.spearman_hi
        assert row.n == 400
    assert t["d_kendall"].isna().all()


def test_correlation_table_is_reproducible_per_seed_and_varies_across_seeds():
    y, good, bad = _data(200)
    a = correlation_table({"g": good, "b": bad}, y, rng=np.random.default_rng(7), n_resamples=100)
    b = correlation_table({"g": good, "b": bad}, y, rng=np.random.default_rng(7), n_resamples=100)
    c = correlation_table({"g": good, "b": bad}, y, rng=np.random.default_rng(8), n_resamples=100)
    assert a.equals(b)
    assert not np.allclose(a["kendall_lo"], c["kendall_lo"])


def test_ci_shrinks_with_n():
    widths = []
    for n in (100, 1600):
        y, good, _ = _data(n, seed=3)
        t = correlation_table({"g": good}, y, rng=np.random.default_rng(0), n_resamples=200)
        widths.append(float(t["kendall_hi"].iloc[0] - t["kendall_lo"].iloc[0]))
    # the width falls roughly like 1/sqrt(n): 16x the data should give about a quarter the width
    assert widths[1] < 0.45 * widths[0]


def test_baseline_difference_is_paired_and_detects_the_better_predictor():
    y, good, bad = _data(500)
    t = correlation_table({"bad": bad, "good": good}, y, rng=np.random.default_rng(2), n_resamples=200, baseline="bad")
    row = t.set_index("predictor")
    assert row.loc["bad", "d_kendall"] == 0.0 and row.loc["bad", "d_kendall_lo"] == 0.0
    d = row.loc["good", "d_kendall"]
    assert d == pytest.approx(row.loc["good", "kendall_tau"] - row.loc["bad", "kendall_tau"])
    assert 0 < row.loc["good", "d_kendall_lo"] < d < row.loc["good", "d_kendall_hi"]
    assert row.loc["good", "d_spearman_lo"] > 0


def test_zero_resamples_gives_point_estimates_only():
    y, good, _ = _data(50)
    t = correlation_table({"g": good}, y, rng=np.random.default_rng(0), n_resamples=0)
    assert np.isfinite(t["kendall_tau"]).all()
    assert t[["kendall_lo", "kendall_hi", "spearman_lo", "spearman_hi"]].isna().all().all()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_resamples": 10}, "too few"),
        ({"n_resamples": -1}, "non-negative"),
        ({"confidence_level": 1.5}, "confidence_level"),
        ({"baseline": "nope"}, "baseline"),
    ],
)
def test_correlation_table_rejects_bad_arguments(kwargs, match):
    y, good, _ = _data(20)
    with pytest.raises(ConfigError, match=match):
        correlation_table({"g": good}, y, rng=np.random.default_rng(0), **kwargs)


def test_correlation_table_rejects_bad_data():
    y, good, _ = _data(20)
    with pytest.raises(ConfigError, match="pair up"):
        correlation_table({"g": good[:10]}, y, rng=np.random.default_rng(0))
    bad = good.copy()
    bad[3] = np.nan
    with pytest.raises(ConfigError, match="non-finite value at position 3"):
        correlation_table({"g": bad}, y, rng=np.random.default_rng(0))
    with pytest.raises(ConfigError, match="Generator"):
        correlation_table({"g": good}, y, rng=0)


def test_top_fraction_and_top_k():
    s = np.array([5.0, 1.0, 9.0, 7.0, 3.0, 9.0, 0.0, 2.0, 8.0, 4.0])
    assert top_fraction(s, 1.0).tolist() == list(range(10))
    assert top_fraction(s, 0.1).tolist() == [2]  # ties: the lower position wins
    assert top_fraction(s, 0.3).tolist() == [2, 5, 8]
    assert top_fraction(np.arange(1000.0), 0.01).size == 10
    target = np.arange(10.0)
    assert top_k_mean(s, target, 1) == 2.0
    assert top_k_mean(s, target, 3) == pytest.approx((2 + 5 + 8) / 3)
    with pytest.raises(ConfigError, match="fraction"):
        top_fraction(s, 0.0)
    with pytest.raises(ConfigError, match="k must"):
        top_k_mean(s, target, 11)


def test_mean_ci_matches_scipy_t_interval():
    v = np.array([93.1, 93.7, 94.0, 93.4, 93.9, 92.8])
    m, lo, hi = mean_ci(v)
    ref = stats.t.interval(0.95, v.size - 1, loc=v.mean(), scale=stats.sem(v))
    assert m == pytest.approx(v.mean())
    assert (lo, hi) == pytest.approx(ref)
    mat = np.vstack([v, v + 1.0]).T  # 6 runs x 2 grid points
    mm, ll, hh = mean_ci(mat, axis=0)
    assert mm.tolist() == pytest.approx([v.mean(), v.mean() + 1])
    assert hh - ll == pytest.approx([hi - lo, hi - lo])
    _, l1, h1 = mean_ci(np.array([1.0]))
    assert np.isnan(l1) and np.isnan(h1)
