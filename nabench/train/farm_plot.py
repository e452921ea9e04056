"""``nabench plot trained-vs-benchmark``: the farm's trained accuracy against the benchmark's value per cell.

One dot per trained network (cell x seed) from ``trained.csv`` (:mod:`nabench.train.farm`): x the benchmark's
accuracy for the cell, y the accuracy of our training; the seed mean per cell as a larger marker, the diagonal,
and Kendall's tau and Spearman's rho of the cell means in the title (scipy). Torch-free: it only reads the table.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from nabench.errors import ConfigError


def load_table(path: str | Path) -> Any:
    """``trained.csv`` from a farm folder (or the file itself), checked for the columns the figure needs."""
    import pandas as pd

    from nabench.train.farm import TABLE

    p = Path(path)
    if p.is_dir():
        p = p / TABLE
    if not p.is_file():
        raise ConfigError(f"no {TABLE} at {path}; run nabench train --from-run RUN_DIR first (it writes "
                          f"RUN_DIR/trained/{TABLE})")
    table = pd.read_csv(p)
    missing = {"canonical", "test_acc", "benchmark_acc", "benchmark"} - set(table.columns)
    if missing:
        raise ConfigError(f"{p} lacks the columns {sorted(missing)}; it was not written by nabench train --from-run")
    return table


def trained_vs_benchmark(table: Any) -> Any:
    """The figure (a matplotlib Figure on the Agg canvas)."""
    import numpy as np
    from scipy import stats

    from nabench.analysis.plots import new_figure

    data = table.dropna(subset=["test_acc", "benchmark_acc"])
    if data.empty:
        note = str(table["benchmark"].iloc[0]) if len(table) else "the table is empty"
        raise ConfigError(f"no trained network has a benchmark value to plot against ({note})")
    means = data.groupby("canonical", sort=False)[["benchmark_acc", "test_acc"]].mean()
    fig = new_figure(5.2, 4.6)
    ax = fig.add_subplot()
    ax.scatter(data["benchmark_acc"], data["test_acc"], s=12, alpha=0.45, color="tab:blue", label="network (cell x seed)")
    ax.scatter(means["benchmark_acc"], means["test_acc"], s=36, color="tab:orange", edgecolor="k", linewidth=0.5,
               label="cell (seed mean)")
    lo = float(np.nanmin([data["benchmark_acc"].min(), data["test_acc"].min()]))
    hi = float(np.nanmax([data["benchmark_acc"].max(), data["test_acc"].max()]))
    ax.plot([lo, hi], [lo, hi], color="0.5", linestyle="--", linewidth=1, label="y = x")
    title = f"{len(means)} cells, {len(data)} networks"
    if len(means) >= 3:
        tau = stats.kendalltau(means["benchmark_acc"], means["test_acc"]).statistic
        rho = stats.spearmanr(means["benchmark_acc"], means["test_acc"]).statistic
        title += f"; Kendall tau {tau:.2f}, Spearman rho {rho:.2f}"
    ax.set_title(title, fontsize=9)
    ax.set_xlabel(f"benchmark accuracy (%) [{data['benchmark'].iloc[0]}]", fontsize=8)
    ax.set_ylabel("trained test accuracy (%)")
    ax.legend(fontsize=7, loc="upper left")
    return fig


def register_plot(inner: argparse._SubParsersAction) -> None:
    """Add ``trained-vs-benchmark`` to ``nabench plot``."""
    t = inner.add_parser(
        "trained-vs-benchmark", help="a training farm's accuracies against the benchmark's, per cell",
        description="Scatter of trained test accuracy against the benchmark's accuracy for each cell of a training "
                    "farm (nabench train --from-run RUN_DIR writes RUN_DIR/trained/trained.csv).")
    t.add_argument("farm", metavar="FARM_DIR", help="the farm folder (or its trained.csv)")
    t.add_argument("--out", default=None, metavar="DIR", help="output folder (default: FARM_DIR)")
    t.add_argument("--formats", default="png,pdf", help="figure formats, comma-separated (default png,pdf)")
    t.set_defaults(func=_plot)


def _plot(args: argparse.Namespace) -> int:
    from nabench.analysis.plots import save_figure

    farm = Path(args.farm)
    out = Path(args.out) if args.out else (farm if farm.is_dir() else farm.parent)
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    paths = save_figure(trained_vs_benchmark(load_table(farm)), out, "trained_vs_benchmark", formats)
    for p in paths:
        print(p)
    return 0
