"""Anytime-curve aggregation and final-accuracy comparisons on synthetic runner results."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nabench.analysis.curves import (
    RunColumns,
    anytime_curves,
    final_values,
    searcher_order,
    run_matrix,
    step_interpolate,
    time_grid,
)
from nabench.errors import ConfigError


def synthetic_runs(n_runs: int = 6, n_evals: int = 30, seed: int = 0, shift: float = 0.5) -> pd.DataFrame:
    """Runs of 'rs' and 'na-rs' (the latter better by ``shift``), paired by seed."""
    g = np.random.default_rng(seed)
    rows = []
    run = 0
    for name, bonus in (("rs", 0.0), ("na-rs", shift)):
        for s in range(n_runs):
            t = np.cumsum(g.uniform(50, 150, n_evals))
            acc = np.maximum.accumulate(g.normal(90 + bonus, 2.0, n_evals))
            rows.append(pd.DataFrame({"searcher": name, "run": run, "seed": s, "step": np.arange(n_evals), "time": t,
                                      "incumbent_test": acc}))
            run += 1
    return pd.concat(rows, ignore_index=True)


def test_step_interpolate_is_right_continuous_and_nan_before_first():
    t = np.array([1.0, 2.0, 2.0, 5.0])
    v = np.array([10.0, 11.0, 12.0, 13.0])
    out = step_interpolate(t, v, np.array([0.5, 1.0, 1.5, 2.0, 4.9, 5.0, 9.0]))
    assert np.isnan(out[0])
    assert out[1:].tolist() == [10.0, 10.0, 12.0, 12.0, 13.0, 13.0]
    with pytest.raises(ConfigError, match="sorted"):
        step_interpolate(np.array([2.0, 1.0]), np.array([1.0, 2.0]), np.array([1.0]))


def test_time_grid_covers_all_evaluations():
    runs = synthetic_runs()
    g = time_grid(runs, n_points=50)
    assert g[0] == pytest.approx(runs["time"].min()) and g[-1] == pytest.approx(runs["time"].max())
    assert np.all(np.diff(np.log(g)) > 0) and np.allclose(np.diff(np.log(g)), np.diff(np.log(g))[0])
    lin = time_grid(runs, n_points=50, log_grid=False)
    assert np.allclose(np.diff(lin), np.diff(lin)[0])


def test_anytime_curves_mean_and_band_match_per_run_values():
    runs = synthetic_runs()
    grid = np.array([10.0, 1000.0, 2000.0, 3000.0])
    cur = anytime_curves(runs, grid=grid)
    assert set(cur["searcher"]) == {"rs", "na-rs"}
    assert (cur["n_runs"] == 6).all()
    rs = cur[cur["searcher"] == "rs"].reset_index(drop=True)
    assert np.isnan(rs.loc[0, "mean"])  # before any run has evaluated anything
    # the value at t=2000 is the mean over runs of each run's last incumbent at or before 2000
    ref = []
    for _, r in runs[runs["searcher"] == "rs"].groupby("run"):
        ref.append(r.loc[r["time"] <= 2000, "incumbent_test"].iloc[-1])
    assert rs.loc[2, "mean"] == pytest.approx(np.mean(ref))
    assert rs.loc[2, "lo"] < rs.loc[2, "mean"] < rs.loc[2, "hi"]
    # incumbents never decrease, so neither does the mean
    m = rs["mean"].dropna().to_numpy()
    assert np.all(np.diff(m) >= 0)


def test_curve_is_nan_until_every_run_has_started():
    runs = synthetic_runs(n_runs=3)
    late = runs["run"] == 0
    runs.loc[late, "time"] += 500.0  # run 0 starts late
    first0 = runs.loc[late, "time"].min()
    grid = np.array([first0 - 1.0, first0])
    cur = anytime_curves(runs, grid=grid)
    rs = cur[cur["searcher"] == "rs"]["mean"].to_numpy()
    assert np.isnan(rs[0]) and np.isfinite(rs[1])


def test_run_matrix_orders_runs_and_final_values_take_the_last_evaluation():
    runs = synthetic_runs(n_runs=2)
    ids, mat = run_matrix(runs, np.array([1e9]))
    assert ids == [0, 1, 2, 3]
    fin = final_values(runs)
    assert list(fin.columns) == ["searcher", "run", "seed", "final"]
    assert len(fin) == 4
    last = runs.sort_values("time").groupby("run").tail(1).set_index("run")["incumbent_test"]
    assert fin.set_index("run")["final"].sort_index().tolist() == last.sort_index().tolist()
    assert mat[:, 0].tolist() == last.sort_index().tolist()


def test_custom_column_names():
    runs = synthetic_runs(n_runs=2).rename(columns={"time": "sim_time", "incumbent_test": "inc_acc"})
    cols = RunColumns(time="sim_time", value="inc_acc")
    cur = anytime_curves(runs, cols=cols, n_points=10)
    assert len(cur) == 20
    with pytest.raises(ConfigError, match="lack the column"):
        anytime_curves(runs)


def test_searcher_order_puts_na_after_its_base():
    names = ["rs", "na-rs [k4]", "NA_REA", "bo", "na-rs", "REA", "na-bohb"]
    assert searcher_order(names) == ["bo", "na-bohb", "REA", "NA_REA", "rs", "na-rs", "na-rs [k4]"]


def test_load_runs_reads_a_grid_folder(tmp_path):
    from nabench.analysis.curves import load_runs
    from nabench.errors import DataNotFoundError, IntegrityError

    runs = synthetic_runs(n_runs=2)
    runs["protocol"], runs["dataset"] = "nb201", "cifar10"
    runs["setting"] = np.where(runs["run"] % 2 == 0, "default", "k4")
    runs.to_csv(tmp_path / "evaluations.csv.gz", index=False)
    got, cols = load_runs(tmp_path)
    assert cols.searcher == "line"
    assert set(got["line"]) == {"rs", "rs [k4]", "na-rs", "na-rs [k4]"}
    assert set(got["panel"]) == {"nb201 / cifar10"}
    cur = anytime_curves(got, cols=cols, n_points=5)
    assert set(cur["searcher"]) == {"rs", "rs [k4]", "na-rs", "na-rs [k4]"} and (cur["n_runs"] == 1).all()
    with pytest.raises(DataNotFoundError, match="not a folder"):
        load_runs(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "runs.jsonl").write_text("")
    with pytest.raises(DataNotFoundError, match="run the grid again"):
        load_runs(tmp_path / "empty")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "evaluations.csv.gz").write_bytes(b"\x1f\x8bnot gzip")
    with pytest.raises(IntegrityError, match="not a readable results table"):
        load_runs(tmp_path / "bad")


def test_empty_results_are_rejected():
    with pytest.raises(ConfigError, match="no evaluations"):
        anytime_curves(synthetic_runs().iloc[:0])


def test_curves_from_a_real_runner_grid(bench, tmp_path):
    """load_runs reads what the runner writes; the curve's last mean is the mean final test accuracy of runs.csv."""
    from nabench.analysis.curves import load_runs
    from nabench.experiments import grid_from_dict, run_grid

    grid = grid_from_dict({"name": "t", "runs": 3, "seed": 0,
                           "experiment": [{"protocol": "nb201", "searchers": ["rs", "na-rs"]}]})
    run_grid(grid, tmp_path, bench=bench, progress=False, log=lambda _: None)
    runs, cols = load_runs(tmp_path)
    assert set(runs["line"]) == {"rs", "na-rs"} and set(runs["panel"]) == {"nb201 / cifar10"}
    grid_t = np.array([runs["time"].max()])
    cur = anytime_curves(runs, grid=grid_t, cols=cols).set_index("searcher")
    table = pd.read_csv(tmp_path / "runs.csv")
    primary = table[table["report"] == table["report"].iloc[0]]
    for name in ("rs", "na-rs"):
        assert cur.loc[name, "n_runs"] == 3
        assert cur.loc[name, "mean"] == pytest.approx(primary.loc[primary["searcher"] == name, "test_acc"].mean())
    fin = final_values(runs, cols=cols)
    assert sorted(fin["final"]) == pytest.approx(sorted(primary["test_acc"]))
