"""The flatness-vs-test study: predictors, deduplication, subsets, top-k picks, on synthetic and real tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from nabench import neighborhood
from nabench.analysis.flatness import (
    StudyConfig,
    cell_predictors,
    check_fidelity,
    format_table,
    neighborhood_grid,
    representatives,
    run_study,
    study,
    study_spec,
)
from nabench.errors import ConfigError
from nabench.spaces import nb201

SMALL = StudyConfig(radii=(1,), aggregations=("mean", "min"), fractions=(1.0, 0.1), top_k=(1, 10), n_resamples=50)


@pytest.fixture(scope="module")
def order(bench):
    return bench.order


@pytest.fixture(scope="module")
def synthetic(order):
    """A smooth synthetic landscape over official indices: a function of the ops, and a Generator for noise."""
    g = np.random.default_rng(0)
    ops = nb201.all_ops()[order.code_of_index].astype(float)
    base = 60 + 5 * (ops == 3).sum(1) + 2 * (ops == 2).sum(1) - 8 * (ops[:, 3] == 0)
    return base, g


def test_study_spec_maps_datasets_to_signal_and_test_splits():
    c10 = study_spec("cifar10")
    assert (c10.signal_dataset, c10.signal_split, c10.test_dataset, c10.test_split) == (
        "cifar10-valid", "x-valid", "cifar10", "ori-test")
    assert study_spec("cifar10-valid") == c10
    assert study_spec("ImageNet16-120").test_split == "x-test"
    with pytest.raises(ConfigError, match="choose one of cifar10, cifar100, ImageNet16-120"):
        study_spec("imagenet")
    assert check_fidelity(12) == 12 and check_fidelity(200) == 200
    for bad in (13, "12", 12.5, None):
        with pytest.raises(ConfigError, match="12 or 200"):
            check_fidelity(bad)


def test_study_config_validates():
    with pytest.raises(ConfigError, match="radii"):
        StudyConfig(radii=(3,))
    with pytest.raises(ConfigError, match="fractions"):
        StudyConfig(fractions=(0.0,))
    with pytest.raises(ConfigError, match="top_k"):
        StudyConfig(top_k=(0,))


def test_representatives_keep_the_lowest_index_of_each_class(order):
    rep = representatives(order)
    ids = order.canonical_ids()
    assert rep.size == 6466 == np.unique(ids).size
    assert np.unique(ids[rep]).size == 6466
    for cls in ids[rep[:50]]:
        assert rep[np.searchsorted(rep, np.flatnonzero(ids == cls).min())] == np.flatnonzero(ids == cls).min()


def test_cell_predictors_use_the_neighborhood_module(order, bench):
    sig = bench.accuracy(np.arange(15625), dataset="cifar10-valid", split="x-valid", fidelity=12)
    pred = cell_predictors(sig, order, SMALL)
    assert list(pred.columns) == ["signal", "r1_mean", "r1_min", "r1_flat_drop", "r1_flat_std", "r1_flat_worst"]
    assert np.array_equal(pred["signal"], sig)
    nb = order.neighbors(1)
    i = 6111
    ball = np.concatenate([[sig[i]], sig[nb[i]]])
    assert pred["r1_mean"][i] == pytest.approx(ball.mean())
    assert pred["r1_min"][i] == pytest.approx(ball.min())
    assert pred["r1_flat_drop"][i] == pytest.approx(sig[nb[i]].mean() - sig[i])
    assert pred["r1_flat_std"][i] == pytest.approx(-sig[nb[i]].std())
    assert pred["r1_flat_worst"][i] == pytest.approx(sig[nb[i]].min() - sig[i])
    dd = cell_predictors(sig, order, SMALL, dedup=True)
    ref = neighborhood.aggregate(sig, order, neighborhood.NeighborhoodSpec(radius=1, dedup=True))
    assert np.allclose(dd["r1_mean"], ref)
    assert not np.allclose(dd["r1_mean"], pred["r1_mean"])
    with pytest.raises(ConfigError, match="one value per cell"):
        cell_predictors(sig[:10], order, SMALL)


def test_neighborhood_grid_sets_one_edge_to_each_op(order, bench):
    sig = bench.accuracy(np.arange(15625), dataset="cifar100", split="x-valid", fidelity=200)
    idx = 9930
    grid = neighborhood_grid(sig, order, idx)
    ops = order.ops(idx)
    assert grid.shape == (6, 5)
    for e in range(6):
        assert grid[e, ops[e]] == sig[idx]
        for o in range(5):
            cell = list(ops)
            cell[e] = o
            assert grid[e, o] == sig[order.index(tuple(cell))]
    # the 24 off-center entries are exactly the radius-1 neighbors
    off_center = np.array([[o != ops[e] for o in range(5)] for e in range(6)])
    off = np.sort(grid[off_center])
    assert np.array_equal(off, np.sort(sig[order.neighbors(1)[idx]]))


def test_study_table_on_a_synthetic_landscape(order, synthetic):
    base, g = synthetic
    test = base + g.normal(0, 1.0, base.size)
    signal = test + g.normal(0, 3.0, base.size)
    res = study(signal, test, order, rng=np.random.default_rng(5), config=SMALL)
    t = res.table
    n_pred = 6
    assert len(t) == 2 * 2 * n_pred
    assert set(t["subset"]) == {"all", "top10%"} and set(t["dedup"]) == {False, True}
    assert t.groupby(["dedup", "subset"])["n"].first().to_dict() == {
        (False, "all"): 15625, (False, "top10%"): 1563, (True, "all"): 6466, (True, "top10%"): 647}
    row = t[(~t["dedup"]) & (t["subset"] == "all") & (t["predictor"] == "signal")].iloc[0]
    assert row["kendall_tau"] == pytest.approx(stats.kendalltau(signal, test).statistic)
    assert row["top1_test"] == test[np.argmax(signal)]
    assert row["best_test"] == test.max()
    assert row["kendall_lo"] < row["kendall_tau"] < row["kendall_hi"]
    # the landscape is smooth and the signal noisy, so the r=1 mean ranks better than the signal
    agg = t[(~t["dedup"]) & (t["subset"] == "all") & (t["predictor"] == "r1_mean")].iloc[0]
    assert agg["d_kendall_lo"] > 0
    # subsets: the top 10% by signal, correlations recomputed within it
    top = np.argsort(-signal, kind="stable")[:1563]
    r10 = t[(~t["dedup"]) & (t["subset"] == "top10%") & (t["predictor"] == "signal")].iloc[0]
    assert r10["kendall_tau"] == pytest.approx(stats.kendalltau(signal[top], test[top]).statistic)
    # dedup rows use one cell per class
    rep = representatives(order)
    rd = t[(t["dedup"]) & (t["subset"] == "all") & (t["predictor"] == "signal")].iloc[0]
    assert rd["spearman_rho"] == pytest.approx(stats.spearmanr(signal[rep], test[rep]).statistic)
    assert len(res.cells) == 15625 and res.cells["representative"].sum() == 6466
    assert np.array_equal(res.cells["test"], test)
    # same seed, same table; another seed moves only the intervals
    small = StudyConfig(radii=(1,), aggregations=("mean",), fractions=(0.1,), n_resamples=50, dedup=(True,))
    first = study(signal, test, order, rng=np.random.default_rng(5), config=small).table
    again = study(signal, test, order, rng=np.random.default_rng(5), config=small).table
    pd.testing.assert_frame_equal(first, again)
    other = study(signal, test, order, rng=np.random.default_rng(6), config=small).table
    assert np.allclose(other["kendall_tau"], first["kendall_tau"], equal_nan=True)
    assert not np.allclose(other["kendall_lo"], first["kendall_lo"], equal_nan=True)
    text = format_table(t)
    assert "== all cells | all | n=15625" in text and "== dedup (one cell per class) | top10% | n=647" in text
    assert "kendall tau [95% CI]" in text


def test_top_k_larger_than_the_subset_is_nan(order, synthetic):
    base, g = synthetic
    cfg = StudyConfig(radii=(1,), aggregations=("mean",), fractions=(0.001,), top_k=(1, 100), n_resamples=0, dedup=(False,))
    t = study(base + g.normal(0, 1, base.size), base, order, rng=np.random.default_rng(0), config=cfg).table
    assert (t["n"] == 16).all()
    assert t["top100_test"].isna().all() and t["top1_test"].notna().all()


def test_real_tables_reproduce_the_first_look(bench):
    """DESIGN.md: with the 12-epoch signal the r=1 mean ranks better than the signal; at 200 epochs worse."""
    cfg = StudyConfig(radii=(1,), aggregations=("mean",), fractions=(1.0,), n_resamples=0, dedup=(False,))
    taus = {}
    for fid in (12, 200):
        t = run_study(bench, "cifar10", fid, rng=np.random.default_rng(0), config=cfg).table.set_index("predictor")
        assert (t["dataset"] == "cifar10").all() and (t["fidelity"] == fid).all()
        taus[fid] = (t.loc["signal", "kendall_tau"], t.loc["r1_mean", "kendall_tau"])
        assert t.loc["signal", "best_test"] == pytest.approx(94.3733, abs=1e-3)
    assert taus[12][1] > taus[12][0] + 0.03
    assert taus[200][1] < taus[200][0] - 0.05
