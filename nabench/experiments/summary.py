"""Tidy tables from finished runs, summaries per cell, and paired NA-X vs X tests.

* :func:`tables` turns run records into the per-evaluation table and the per-run table. Test
  accuracies are looked up here, after the search, from each step's incumbent.
* :func:`summarize`: per cell and report target, the number of runs and the mean, standard
  deviation (ddof 1), standard error, min and max of the final test accuracy, beside the mean
  simulated time and three counts kept apart (:class:`nabench.search.loop.Trajectory`): candidates
  proposed (``candidates``), cell values read (``cells_read``, from the signal or the run's memory)
  and cells charged (``queries``; under ``charge = "every"`` a repeat is charged again).
* :func:`timings`: wall-clock seconds per run. They differ between executions of the same grid, so
  they live in their own table (``timings.csv``) and never in the result tables, which are a pure
  function of the grid, the seeds and the store (byte-identical whether a grid ran at once, was
  resumed after a kill, or ran on another launcher).
* :func:`paired`: each NA cell against its base searcher's cell (same protocol, dataset and
  setting, or the ``default`` setting when the base searcher was not run under that setting),
  matched on seed: mean difference with its standard error, the paired t-test and the Wilcoxon
  signed-rank test (scipy; zero differences dropped, ``wilcoxon_p`` is NaN when all pairs tie),
  and wins / losses / ties.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable, Iterable, Mapping

import numpy as np
import pandas as pd
from scipy import stats

from nabench.analysis.stats import at_data_precision
from nabench.search import registry

CELL_COLUMNS: tuple[str, ...] = ("protocol", "dataset", "searcher", "setting")
EVALUATION_COLUMNS: tuple[str, ...] = CELL_COLUMNS + (
    "run", "seed", "step", "time", "queries", "arch", "signal", "raw", "charged", "incumbent", "incumbent_signal",
    "incumbent_test", "candidates", "cells_read",
)
RUN_COLUMNS: tuple[str, ...] = CELL_COLUMNS + (
    "run", "seed", "report", "final_arch", "final_signal", "test_acc", "steps", "queries", "time", "stop",
    "candidates", "cells_read",
)
TIMING_COLUMNS: tuple[str, ...] = CELL_COLUMNS + ("run", "seed", "wall_s")

#: ``(dataset, split, fidelity, archs) -> reported accuracy of each arch`` (archs: unique int64, ascending)
ReportLookup = Callable[[str, str, int, np.ndarray], np.ndarray]


class _Values:
    """Reported values of the archs that need them, indexable by arch arrays (any space: no full table)."""

    def __init__(self, archs: np.ndarray, values: np.ndarray) -> None:
        self.archs, self.values = archs, values

    def __getitem__(self, archs: Any) -> Any:
        return self.values[np.searchsorted(self.archs, archs)]


def _reports(cell: Mapping[str, Any]) -> list[tuple[str, str, int, str]]:
    out = []
    for r in cell["task"]["reports"]:
        label, fid = r.rsplit("@", 1)
        ds, split = label.split("/")
        out.append((ds, split, int(fid), label))
    return out


def tables(records: Iterable[Mapping[str, Any]], cells: Mapping[str, Mapping[str, Any]],
           lookup: ReportLookup) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(evaluations, runs)`` tables of the records, sorted by cell order, run and step."""
    keys = list(cells)
    pos = {k: i for i, k in enumerate(keys)}
    ev: dict[str, list[np.ndarray]] = {c: [] for c in EVALUATION_COLUMNS if c not in CELL_COLUMNS}
    ev_cell: list[np.ndarray] = []
    runs: list[dict[str, Any]] = []
    run_cells: list[int] = []
    cache: dict[tuple[str, str, int], _Values] = {}
    records = list(records)
    wanted: dict[tuple, list[np.ndarray]] = {}
    for rec in records:
        if rec["cell"] in pos:
            reports = _reports(cells[rec["cell"]])
            inc = np.asarray(rec["incumbent"], dtype=np.int64)
            wanted.setdefault(tuple(reports[0][:3]), []).append(inc)
            for r in reports[1:]:
                wanted.setdefault(tuple(r[:3]), []).append(inc[-1:])

    def test_of(ds: str, split: str, fid: int) -> _Values:
        """The report values of every incumbent in the records: one batched lookup per report target."""
        k = (ds, split, fid)
        if k not in cache:
            archs = np.unique(np.concatenate(wanted.get(k, [np.zeros(0, dtype=np.int64)])))
            cache[k] = _Values(archs, np.asarray(lookup(ds, split, fid, archs), dtype=np.float64))
        return cache[k]

    seen: set[tuple[str, int]] = set()
    for rec in records:
        key, run = rec["cell"], int(rec["run"])
        if key not in pos or (key, run) in seen:
            continue
        seen.add((key, run))
        cell = cells[key]
        reports = _reports(cell)
        inc = np.asarray(rec["incumbent"], dtype=np.int64)
        n = len(inc)
        primary = test_of(*reports[0][:3])
        ev_cell.append(np.full(n, pos[key], dtype=np.int32))
        cols = {"run": np.full(n, run), "seed": np.full(n, int(rec["seed"])), "step": np.arange(n),
                "time": rec["time"], "queries": rec["queries"], "arch": rec["arch"], "signal": rec["score"],
                "raw": rec["raw"], "charged": rec["charged"], "incumbent": inc,
                "incumbent_signal": rec["incumbent_score"], "incumbent_test": primary[inc],
                "candidates": rec["candidates"], "cells_read": rec["cells_read"]}
        for c, v in cols.items():
            ev[c].append(np.asarray(v))
        for ds, split, fid, label in reports:
            run_cells.append(pos[key])
            runs.append({
                **{c: cell[c] for c in CELL_COLUMNS}, "run": run, "seed": int(rec["seed"]), "report": label,
                "final_arch": int(inc[-1]), "final_signal": float(rec["incumbent_score"][-1]),
                "test_acc": float(test_of(ds, split, fid)[inc[-1]]), "steps": n, "queries": int(rec["queries"][-1]),
                "time": float(rec["time"][-1]), "stop": rec["stop"], "candidates": int(rec["candidates"][-1]),
                "cells_read": int(rec["cells_read"][-1]),
            })
    codes = np.concatenate(ev_cell) if ev_cell else np.zeros(0, dtype=np.int32)
    data: dict[str, Any] = {}
    for c in CELL_COLUMNS:
        data[c] = np.asarray([cells[k][c] for k in keys], dtype=object)[codes]
    for c, parts in ev.items():
        data[c] = np.concatenate(parts) if parts else np.zeros(0)
    evaluations = pd.DataFrame(data, columns=list(EVALUATION_COLUMNS))
    run_df = pd.DataFrame(runs, columns=list(RUN_COLUMNS))
    if len(run_df):
        run_df["_o"] = run_cells
        run_df = run_df.sort_values(["_o", "run"], kind="stable").drop(columns="_o").reset_index(drop=True)
        evaluations["_o"] = codes
        evaluations = evaluations.sort_values(["_o", "run", "step"], kind="stable").drop(columns="_o").reset_index(drop=True)
    return evaluations, run_df


def timings(records: Iterable[Mapping[str, Any]], cells: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """Wall-clock seconds of each run's search, in cell order and run order (one row per run)."""
    pos = {k: i for i, k in enumerate(cells)}
    rows = sorted((pos[r["cell"]], int(r["run"]), int(r["seed"]), float(r["wall_s"])) for r in records
                  if r["cell"] in pos)
    out = [{**{c: cells[list(cells)[i]][c] for c in CELL_COLUMNS}, "run": run, "seed": seed, "wall_s": w}
           for i, run, seed, w in rows]
    return pd.DataFrame(out, columns=list(TIMING_COLUMNS))


def summarize(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean ± std (and standard error) of final test accuracy per cell and report target."""
    keys = list(CELL_COLUMNS) + ["report"]
    g = runs.groupby(keys, sort=False, observed=True)
    out = g.agg(n=("test_acc", "size"), mean=("test_acc", "mean"), std=("test_acc", "std"),
                min=("test_acc", "min"), max=("test_acc", "max"), sim_time=("time", "mean"),
                queries=("queries", "mean"), steps=("steps", "mean"), candidates=("candidates", "mean"),
                cells_read=("cells_read", "mean")).reset_index()
    out["se"] = out["std"] / np.sqrt(out["n"])
    return out[keys + ["n", "mean", "std", "se", "min", "max", "sim_time", "queries", "steps", "candidates",
                       "cells_read"]]


def paired(runs: pd.DataFrame) -> pd.DataFrame:
    """NA-X against X on matched seeds, per protocol, dataset, report and setting."""
    rows = []
    cells = runs[list(CELL_COLUMNS)].drop_duplicates()
    for _, c in cells[cells["searcher"].map(registry.is_na).astype(bool)].iterrows():
        base = registry.base_of(c["searcher"])
        same = (runs["protocol"] == c["protocol"]) & (runs["dataset"] == c["dataset"]) & (runs["searcher"] == base)
        base_setting = c["setting"] if ((runs["setting"] == c["setting"]) & same).any() else "default"
        b = runs[same & (runs["setting"] == base_setting)]
        a = runs[(runs[list(CELL_COLUMNS)] == c.values).all(axis=1)]
        if b.empty:
            continue
        m = a.merge(b, on=["seed", "report"], suffixes=("_na", "_base"))
        for report, grp in m.groupby("report", sort=False):
            # compared at the data's precision (analysis.stats.at_data_precision, the rule the rank
            # correlations use): two cells whose seed means differ by float noise (~1e-8) are a tie, not
            # a win or a loss, and their zero difference is left out of the Wilcoxon test as a tie
            d = at_data_precision(grp["test_acc_na"].to_numpy() - grp["test_acc_base"].to_numpy())
            n = len(d)
            with warnings.catch_warnings():
                # expected when every seed gives (nearly) the same difference: the tables print "-" for it
                warnings.filterwarnings("ignore", "Precision loss occurred", RuntimeWarning)
                t_p = float(stats.ttest_1samp(d, 0.0).pvalue) if n > 1 and np.any(d != d[0]) else np.nan
                w_p = float(stats.wilcoxon(d).pvalue) if n > 1 and np.any(d != 0) else np.nan
            rows.append({
                "protocol": c["protocol"], "dataset": c["dataset"], "report": report, "setting": c["setting"],
                "na": c["searcher"], "base": base, "base_setting": base_setting, "n": n,
                "na_mean": grp["test_acc_na"].mean(), "base_mean": grp["test_acc_base"].mean(),
                "diff_mean": d.mean(), "diff_se": d.std(ddof=1) / np.sqrt(n) if n > 1 else np.nan,
                "t_p": t_p, "wilcoxon_p": w_p,
                "wins": int((d > 0).sum()), "losses": int((d < 0).sum()), "ties": int((d == 0).sum()),
            })
    return pd.DataFrame(rows, columns=["protocol", "dataset", "report", "setting", "na", "base", "base_setting", "n",
                                       "na_mean", "base_mean", "diff_mean", "diff_se", "t_p", "wilcoxon_p",
                                       "wins", "losses", "ties"])


def report_what(protocol: str) -> str:
    """What a protocol's reported number is: test accuracy, or (NB301) a surrogate validation prediction."""
    from nabench.search.protocols import PROTOCOL_BENCHMARK
    from nabench.spaces.base import TASKS

    notes = {t.note for t in TASKS.get(PROTOCOL_BENCHMARK.get(str(protocol), ""), {}).values() if t.note}
    return f"final accuracy, %; {', '.join(sorted(notes))}" if notes else "final test accuracy, %"


def format_summary(summary: pd.DataFrame, timings: pd.DataFrame | None = None) -> str:
    """The summary as a fixed-width text table: mean ± std of final test accuracy (and, given the
    :func:`timings` table, the mean optimizer wall time per run)."""
    if summary.empty:
        return "(no finished runs)"
    wall: dict[tuple, float] = {}
    if timings is not None and len(timings):
        wall = timings.groupby(list(CELL_COLUMNS), sort=False)["wall_s"].mean().to_dict()
    lines = []
    for (proto, ds, report), grp in summary.groupby(["protocol", "dataset", "report"], sort=False):
        lines.append(f"{proto} / search {ds} / report {report} ({report_what(proto)})")
        lines.append(f"  {'searcher':14s} {'setting':12s} {'runs':>5s} {'mean ± std':>16s} {'se':>6s} "
                     f"{'sim time (s)':>12s} {'cands':>6s} {'read':>7s} {'charged':>7s} {'wall (ms)':>9s}")
        for _, r in grp.iterrows():
            std = 0.0 if np.isnan(r["std"]) else r["std"]
            se = 0.0 if np.isnan(r["se"]) else r["se"]
            lines.append(f"  {r['searcher']:14s} {r['setting']:12s} {int(r['n']):5d} {r['mean']:8.2f} ± {std:5.2f} "
                         f"{se:6.3f} {r['sim_time']:12.0f} {r['candidates']:6.1f} {r['cells_read']:7.1f} "
                         f"{r['queries']:7.1f} "
                         f"{1e3 * wall.get(tuple(r[c] for c in CELL_COLUMNS), np.nan):9.2f}")
    return "\n".join(lines)


def format_paired(table: pd.DataFrame) -> str:
    """The paired NA-X vs X tests as a fixed-width text table (p-values: ``-`` where no test applies)."""
    from nabench.analysis.stats import p_value_text

    if table.empty:
        return ""
    what = sorted({report_what(p) for p in table["protocol"]})
    lines = [f"NA-X vs X on matched seeds ({'; '.join(what)}; p-values of the paired t-test and Wilcoxon)"]
    lines.append(f"  {'protocol':8s} {'dataset':15s} {'report':22s} {'pair':22s} {'n':>4s} {'NA - X':>8s} "
                 f"{'se':>6s} {'t p':>8s} {'W p':>8s} {'W/L/T':>11s}")
    for _, r in table.iterrows():
        pair = f"{r['na']}/{r['setting']} vs {r['base']}"
        lines.append(f"  {r['protocol']:8s} {r['dataset']:15s} {r['report']:22s} {pair:22s} {int(r['n']):4d} "
                     f"{r['diff_mean']:+8.3f} {r['diff_se']:6.3f} {p_value_text(r['t_p'], r['diff_se']):>8s} "
                     f"{p_value_text(r['wilcoxon_p'], r['diff_se']):>8s} "
                     f"{r['wins']:>3d}/{r['losses']:d}/{r['ties']:d}".rstrip())
    return "\n".join(lines)
