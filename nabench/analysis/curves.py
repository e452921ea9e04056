"""Anytime curves and final accuracies from search-run results (one row per evaluation).

Decisions (the issue leaves them open):

* Each run's incumbent curve is a right-continuous step function of simulated time: at time ``t`` it
  holds the value of the last evaluation finished at or before ``t`` (the last row when several
  share a time). Runs are sampled on one grid shared by all searchers.
* The grid is log-spaced between the earliest and the latest evaluation time by default (searches
  improve fastest early); ``log_grid=False`` gives a linear grid.
* The band is the 95% Student-t confidence interval of the mean over runs. A searcher's curve is
  drawn only from the first grid point at which *all* its runs have an incumbent, so the mean never
  mixes a changing set of runs.
* Plots place NA-X right after X (``na-rs`` / ``NA-RS`` / ``na_rs`` after ``rs``). Whether a name is
  an NA variant, and of which base, is :func:`nabench.search.registry.is_na` / ``base_of`` (the one
  home of that rule). A curve's label is ``searcher`` or ``searcher [setting]`` (:func:`line_label`,
  undone by :func:`split_label`).
* Paired tests of NA-X against X live in :mod:`nabench.experiments.summary` (the runner's
  ``paired.csv``, which also decides which X run each NA-X run is matched with);
  :func:`paired_differences` reads those pairs and returns the per-seed differences behind them,
  for the NA-gain figure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from nabench.analysis.stats import mean_ci
from nabench.errors import ConfigError, DataNotFoundError, IntegrityError
from nabench.search.registry import base_of, is_na

__all__ = ["RunColumns", "step_interpolate", "time_grid", "run_matrix", "anytime_curves", "final_values", "is_na",
           "base_of", "line_label", "split_label", "searcher_order", "load_runs", "paired_differences"]

DEFAULT_SETTING = "default"
_LABEL = re.compile(r"^(?P<searcher>.*?) \[(?P<setting>[^\]]*)\]$")


@dataclass(frozen=True)
class RunColumns:
    """Names of the result columns the curves read (the runner's results format)."""

    searcher: str = "searcher"
    run: str = "run"
    seed: str = "seed"
    time: str = "time"
    value: str = "incumbent_test"


def _check_columns(runs: pd.DataFrame, cols: RunColumns, need: Sequence[str]) -> None:
    missing = [getattr(cols, n) for n in need if getattr(cols, n) not in runs.columns]
    if missing:
        raise ConfigError(
            f"the results lack the column(s) {missing}; they hold {list(runs.columns)}. "
            "Pass results written by the nabench runner, or name the columns with RunColumns"
        )
    if runs.empty:
        raise ConfigError("the results hold no evaluations; run a search first")


def step_interpolate(times: np.ndarray, values: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Sample a right-continuous step function at ``grid`` (NaN before the first time).

    ``times`` must be sorted ascending; where several points share a time the last one counts.
    """
    t = np.asarray(times, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    if t.shape != v.shape or t.ndim != 1:
        raise ConfigError(f"times and values must be 1-d and of equal length, got {t.shape} and {v.shape}")
    if t.size and np.any(np.diff(t) < 0):
        raise ConfigError("times must be sorted ascending")
    pos = np.searchsorted(t, np.asarray(grid, dtype=np.float64), side="right") - 1
    out = np.full(pos.shape, np.nan)
    ok = pos >= 0
    out[ok] = v[pos[ok]]
    return out


def time_grid(runs: pd.DataFrame, *, n_points: int = 200, log_grid: bool = True, cols: RunColumns = RunColumns()) -> np.ndarray:
    """A grid of ``n_points`` simulated times covering every evaluation in ``runs``."""
    _check_columns(runs, cols, ["time"])
    if n_points < 2:
        raise ConfigError(f"a time grid needs at least 2 points, got {n_points}")
    t = runs[cols.time].to_numpy(dtype=np.float64)
    lo, hi = float(np.nanmin(t)), float(np.nanmax(t))
    if log_grid and lo > 0:
        return np.geomspace(lo, hi, n_points)
    return np.linspace(lo, hi, n_points)


def run_matrix(runs: pd.DataFrame, grid: np.ndarray, *, cols: RunColumns = RunColumns()) -> tuple[list, np.ndarray]:
    """Each run's incumbent value on ``grid``: ``(run ids, (n_runs, len(grid)) array)``."""
    _check_columns(runs, cols, ["run", "time", "value"])
    ids, rows = [], []
    for rid, r in runs.groupby(cols.run, sort=True):
        r = r.sort_values(cols.time, kind="stable")
        ids.append(rid)
        rows.append(step_interpolate(r[cols.time].to_numpy(), r[cols.value].to_numpy(), grid))
    return ids, np.vstack(rows)


def anytime_curves(
    runs: pd.DataFrame,
    *,
    grid: np.ndarray | None = None,
    n_points: int = 200,
    log_grid: bool = True,
    confidence_level: float = 0.95,
    cols: RunColumns = RunColumns(),
) -> pd.DataFrame:
    """Mean incumbent value per searcher on a common time grid, with a confidence band.

    Returns long-form rows ``searcher, time, mean, lo, hi, n_runs``; ``mean`` is NaN at grid points
    before every run of that searcher has an incumbent.
    """
    _check_columns(runs, cols, ["searcher", "run", "time", "value"])
    g = time_grid(runs, n_points=n_points, log_grid=log_grid, cols=cols) if grid is None else np.asarray(grid, float)
    parts = []
    for name, r in runs.groupby(cols.searcher, sort=True):
        _, mat = run_matrix(r, g, cols=cols)
        m, lo, hi = mean_ci(mat, axis=0, confidence_level=confidence_level)
        parts.append(pd.DataFrame({"searcher": name, "time": g, "mean": m, "lo": lo, "hi": hi, "n_runs": mat.shape[0]}))
    return pd.concat(parts, ignore_index=True)


def final_values(runs: pd.DataFrame, *, cols: RunColumns = RunColumns()) -> pd.DataFrame:
    """The last incumbent value of every run: rows ``searcher, run, [seed,] final``."""
    _check_columns(runs, cols, ["searcher", "run", "time", "value"])
    keep = [cols.searcher, cols.run] + ([cols.seed] if cols.seed in runs.columns else [])
    last = runs.sort_values([cols.searcher, cols.run, cols.time], kind="stable").groupby(
        [cols.searcher, cols.run], sort=True
    ).tail(1)
    out = last[keep + [cols.value]].rename(columns={cols.value: "final", cols.searcher: "searcher", cols.run: "run"})
    if cols.seed in out.columns and cols.seed != "seed":
        out = out.rename(columns={cols.seed: "seed"})
    return out.reset_index(drop=True)


def line_label(searcher: str, setting: str = DEFAULT_SETTING) -> str:
    """The label of one curve: the searcher, with ``[setting]`` unless the setting is ``default``."""
    return str(searcher) if setting == DEFAULT_SETTING else f"{searcher} [{setting}]"


def split_label(label: str) -> tuple[str, str]:
    """``(searcher, setting)`` of a :func:`line_label`."""
    m = _LABEL.match(str(label))
    return (m["searcher"], m["setting"]) if m else (str(label), DEFAULT_SETTING)


def searcher_order(names: Sequence[str]) -> list[str]:
    """Searcher labels ordered so that each NA-X follows its X: ``rea, na-rea, rs, na-rs, na-rs [k4]``."""
    def key(n: str) -> tuple[str, bool, str]:
        searcher = split_label(n)[0]
        return base_of(searcher), is_na(searcher), n

    return sorted(dict.fromkeys(names), key=key)


def load_runs(results_dir: str | Path) -> tuple[pd.DataFrame, RunColumns]:
    """The per-evaluation table a grid run wrote (``evaluations.csv.gz``), ready for the curves.

    Adds a ``line`` column (the searcher, with ``[setting]`` unless the setting is ``default``) and
    a ``panel`` column (``protocol / dataset``) so that every curve holds runs of one cell only;
    returns the rows and the :class:`RunColumns` that read them.
    """
    d = Path(results_dir)
    if not d.is_dir():
        raise DataNotFoundError(f"{d} is not a folder; pass the --out folder of a search grid")
    files = [d / n for n in ("evaluations.csv.gz", "evaluations.csv") if (d / n).is_file()]
    if not files:
        hint = " (its runs.jsonl exists: run the grid again into the same folder to finish its tables)" \
            if (d / "runs.jsonl").exists() else ""
        raise DataNotFoundError(f"no evaluations.csv.gz in {d}{hint}; pass the --out folder of a finished search grid")
    try:
        runs = pd.read_csv(files[0])
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError, EOFError) as e:
        raise IntegrityError(f"{files[0]} is not a readable results table ({e}); rerun the grid into a new folder") from e
    cols = RunColumns()
    _check_columns(runs, cols, ["searcher", "run", "time", "value"])
    label = runs[cols.searcher].astype(str)
    if "setting" in runs.columns:
        setting = runs["setting"].astype(str)
        label = label.where(setting == DEFAULT_SETTING, label + " [" + setting + "]")  # = line_label
    runs["line"] = label
    parts = [runs[c].astype(str) for c in ("protocol", "dataset") if c in runs.columns]
    runs["panel"] = parts[0].str.cat(parts[1:], sep=" / ") if parts else "all runs"
    return runs, RunColumns(searcher="line")


def paired_differences(results_dir: str | Path) -> pd.DataFrame:
    """Per matched seed, NA-X minus X in final accuracy, for every pair in the runner's ``paired.csv``.

    Rows: ``protocol, dataset, report, setting, na, base, base_setting, seed, diff`` (percentage
    points). The pairs and the X setting each NA-X is matched with are the runner's
    (:func:`nabench.experiments.summary.paired`); the values are read from ``runs.csv``.
    """
    d = Path(results_dir)
    need = {"runs.csv": ["protocol", "dataset", "searcher", "setting", "seed", "report", "test_acc"],
            "paired.csv": ["protocol", "dataset", "report", "setting", "na", "base", "base_setting"]}
    frames = {}
    for name, cols in need.items():
        f = d / name
        if not f.is_file():
            raise DataNotFoundError(f"no {name} in {d}; pass the --out folder of a finished `nabench run` with NA searchers")
        try:
            frames[name] = pd.read_csv(f)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as e:
            raise IntegrityError(f"{f} is not a readable results table ({e}); rerun the grid into a new folder") from e
        missing = sorted(set(cols) - set(frames[name].columns))
        if missing:
            raise IntegrityError(f"{f} lacks the columns {missing}; rerun the grid with this nabench")
    runs, pairs = frames["runs.csv"], frames["paired.csv"]
    if pairs.empty:
        raise ConfigError(f"{d / 'paired.csv'} holds no NA-X vs X pairs; run NA searchers beside their base (--searcher rs,na-rs)")
    keys = ["protocol", "dataset", "report"]
    out = []
    for _, p in pairs.iterrows():
        cell = (runs[keys] == p[keys].values).all(axis=1)
        a = runs[cell & (runs["searcher"] == p["na"]) & (runs["setting"] == p["setting"])]
        b = runs[cell & (runs["searcher"] == p["base"]) & (runs["setting"] == p["base_setting"])]
        m = a.merge(b, on="seed", suffixes=("_na", "_base"))
        out.append(pd.DataFrame({**{k: p[k] for k in ["protocol", "dataset", "report", "setting", "na", "base",
                                                       "base_setting"]},
                                 "seed": m["seed"].to_numpy(), "diff": (m["test_acc_na"] - m["test_acc_base"]).to_numpy()}))
    return pd.concat(out, ignore_index=True)
