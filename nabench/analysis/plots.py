"""Figures of the flatness study and of search runs, drawn on matplotlib's Agg canvas.

Every function builds and returns a :class:`matplotlib.figure.Figure` without touching pyplot's
global state (so it works headless, in threads and in notebooks); :func:`save_figure` writes it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from nabench.analysis.curves import is_na, searcher_order
from nabench.errors import ConfigError
from nabench.spaces.nb201 import EDGES, OPS

#: Edge labels in official string order, ``target<-source``.
EDGE_LABELS: tuple[str, ...] = tuple(f"{t}<-{s}" for t, s in EDGES)


def new_figure(width: float, height: float) -> Figure:
    """A figure on the Agg canvas."""
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig: Figure, out_dir: str | Path, stem: str, formats: Sequence[str] = ("png", "pdf"), dpi: int = 110) -> list[Path]:
    """Write ``fig`` as ``out_dir/stem.<fmt>`` for each format; returns the paths written."""
    bad = [f for f in formats if f not in ("png", "pdf", "svg")]
    if bad:
        raise ConfigError(f"unsupported figure format(s) {bad}; use png, pdf or svg")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in formats:
        p = out / f"{stem}.{fmt}"
        fig.savefig(p, dpi=dpi)
        paths.append(p)
    return paths


def hexbin_panels(
    panels: Mapping[str, np.ndarray],
    target: np.ndarray,
    *,
    target_label: str,
    title: str,
    annotations: Mapping[str, str] | None = None,
    gridsize: int = 45,
) -> Figure:
    """One hexbin panel per predictor against ``target`` (log-scaled counts), sharing the y axis.

    ``annotations`` maps a panel name to text shown in its corner (e.g. the rank correlation).
    """
    if not panels:
        raise ConfigError("give at least one predictor to plot against the target")
    y = np.asarray(target, dtype=float)
    names = list(panels)
    fig = new_figure(3.3 * len(names) + 0.8, 3.4)
    axes = fig.subplots(1, len(names), sharey=True, squeeze=False)[0]
    hb = None
    for ax, name in zip(axes, names):
        x = np.asarray(panels[name], dtype=float)
        if x.shape != y.shape:
            raise ConfigError(f"panel {name!r} has {x.size} values but the target has {y.size}")
        hb = ax.hexbin(x, y, gridsize=gridsize, norm=LogNorm(), cmap="viridis", mincnt=1, linewidths=0)
        ax.set_xlabel(name)
        if annotations and name in annotations:
            ax.text(0.03, 0.97, annotations[name], transform=ax.transAxes, va="top", ha="left", fontsize=8,
                    bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none"})
    axes[0].set_ylabel(target_label)
    fig.colorbar(hb, ax=list(axes), label="cells per bin")
    fig.suptitle(title)
    return fig


def correlation_bars(
    table: pd.DataFrame,
    *,
    stat: str = "kendall_tau",
    predictors: Sequence[str] | None = None,
    panel: str = "dataset",
    group: str = "fidelity",
    group_label: str = "{} epochs signal",
    title: str = "Rank correlation with 200-epoch test accuracy",
) -> Figure:
    """Bars of a rank correlation with its CI: one panel per value of ``panel``, one bar group per
    predictor, one color per value of ``group``.

    ``table`` holds rows of flatness study tables (:func:`nabench.analysis.flatness.run_study`):
    columns ``predictor``, ``panel``, ``group``, ``stat`` and its bounds ``*_lo``/``*_hi``. Filter it
    first so that each (panel, group, predictor) occurs once.
    """
    prefix = {"kendall_tau": "kendall", "spearman_rho": "spearman"}.get(stat)
    if prefix is None:
        raise ConfigError(f"stat must be 'kendall_tau' or 'spearman_rho', got {stat!r}")
    need = {panel, group, "predictor", stat, f"{prefix}_lo", f"{prefix}_hi"}
    if not need <= set(table.columns):
        raise ConfigError(f"the table lacks columns {sorted(need - set(table.columns))}; pass a flatness study table")
    if table.empty:
        raise ConfigError("the correlation table is empty; run `nabench analyze flatness` first")
    if table.duplicated([panel, group, "predictor"]).any():
        raise ConfigError(f"the table holds several rows per ({panel}, {group}, predictor); filter it to one subset and dedup setting")
    preds = list(predictors) if predictors is not None else list(dict.fromkeys(table["predictor"]))
    panels = list(dict.fromkeys(table[panel]))
    groups = sorted(table[group].unique())
    fig = new_figure(max(6.0, 0.3 * len(preds) * len(groups) + 1.5), 2.2 * len(panels) + 0.9)
    axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    width = 0.8 / len(groups)
    xs = np.arange(len(preds))
    for ax, pv in zip(axes, panels):
        for j, gv in enumerate(groups):
            sub = table[(table[panel] == pv) & (table[group] == gv)].set_index("predictor").reindex(preds)
            v = sub[stat].to_numpy(float)
            err = np.vstack([v - sub[f"{prefix}_lo"].to_numpy(float), sub[f"{prefix}_hi"].to_numpy(float) - v])
            err = np.where(np.isfinite(err), err, 0.0)
            ax.bar(xs + (j - (len(groups) - 1) / 2) * width, v, width, yerr=err, capsize=2, label=group_label.format(gv))
        ax.axhline(0.0, color="black", linewidth=0.6)
        ax.set_title(str(pv), fontsize=10)
        ax.set_ylabel(stat.replace("_", " "))
    axes[0].legend(fontsize=8, loc="best")
    axes[-1].set_xticks(xs, preds, rotation=35, ha="right", fontsize=8)
    fig.suptitle(title)
    return fig


def anytime_curves_figure(
    curves: pd.DataFrame,
    *,
    title: str = "Incumbent test accuracy over simulated time",
    ylabel: str = "incumbent test accuracy (%)",
    xlabel: str = "simulated time (s)",
    log_time: bool = True,
) -> Figure:
    """One step line per searcher (mean over runs) with a shaded confidence band; NA-X solid after X dashed.

    ``curves`` holds rows of :func:`nabench.analysis.curves.anytime_curves`.
    """
    need = {"searcher", "time", "mean", "lo", "hi", "n_runs"}
    if not need <= set(curves.columns):
        raise ConfigError(f"the curves lack columns {sorted(need - set(curves.columns))}; pass anytime_curves(...) output")
    fig = new_figure(6.4, 4.0)
    ax = fig.subplots()
    colors = matplotlib.colormaps["tab10"].colors
    for k, name in enumerate(searcher_order(curves["searcher"].unique())):
        c = curves[curves["searcher"] == name]
        n = int(c["n_runs"].iloc[0])
        # NA variants solid, plain searchers dashed, so each NA-X / X pair reads at a glance
        style = "-" if is_na(name) else "--"
        color = colors[k % len(colors)]
        ax.step(c["time"], c["mean"], where="post", label=f"{name} (n={n})", color=color, linestyle=style)
        ax.fill_between(c["time"], c["lo"], c["hi"], step="post", alpha=0.15, color=color, linewidth=0)
    if log_time and (curves["time"] > 0).all():
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    return fig


def final_distributions(
    final: pd.DataFrame,
    *,
    title: str = "Final test accuracy: NA-X vs X",
    ylabel: str = "final test accuracy (%)",
) -> Figure:
    """Box plots of final accuracies per searcher, each NA-X placed right of its X, with all runs as dots."""
    if not {"searcher", "final"} <= set(final.columns) or final.empty:
        raise ConfigError("pass final_values(...) output: rows with 'searcher' and 'final' columns")
    order = searcher_order(final["searcher"].unique())
    values = [final.loc[final["searcher"] == n, "final"].to_numpy(float) for n in order]
    fig = new_figure(max(4.0, 1.0 * len(order) + 1.5), 4.0)
    ax = fig.subplots()
    ax.boxplot(values, showfliers=False, widths=0.5)
    ax.set_xticks(np.arange(1, len(order) + 1), order)
    for i, v in enumerate(values, start=1):
        # deterministic spread of the dots: sorted values fanned across the box width
        offs = np.linspace(-0.18, 0.18, v.size) if v.size > 1 else np.zeros(v.size)
        ax.scatter(i + offs, np.sort(v), s=6, alpha=0.5, color="black", zorder=3)
    ax.set_xlabel("searcher")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    return fig


def neighborhood_heatmap(
    grid: np.ndarray,
    ops: Sequence[int],
    *,
    title: str,
    value_label: str = "signal (%)",
) -> Figure:
    """An architecture's radius-1 neighborhood as an edge x op heatmap.

    ``grid[e, o]`` is the signal of the cell obtained by setting edge ``e`` to op ``o``; the cells of
    the architecture's own ops (the center) are outlined.
    """
    g = np.asarray(grid, dtype=float)
    if g.shape != (len(EDGES), len(OPS)):
        raise ConfigError(f"the neighborhood grid must be {len(EDGES)} edges x {len(OPS)} ops, got {g.shape}")
    if len(ops) != len(EDGES):
        raise ConfigError(f"give the architecture's {len(EDGES)} op indices, got {len(ops)}")
    fig = new_figure(7.0, 4.4)
    ax = fig.subplots()
    im = ax.imshow(g, cmap="magma", aspect="auto")
    lo, hi = np.nanmin(g), np.nanmax(g)
    for e in range(g.shape[0]):
        for o in range(g.shape[1]):
            bright = (g[e, o] - lo) / (hi - lo) > 0.6 if hi > lo else False
            ax.text(o, e, f"{g[e, o]:.1f}", ha="center", va="center", fontsize=8, color="black" if bright else "white")
        # outline the architecture's own op on this edge: every row's outlined cell is the center
        ax.add_patch(Rectangle((int(ops[e]) - 0.5, e - 0.5), 1, 1, fill=False, edgecolor="cyan", linewidth=2))
    ax.set_xticks(np.arange(len(OPS)), [o.replace("_", " ") for o in OPS], rotation=20, ha="right", fontsize=8)
    ax.set_yticks(np.arange(len(EDGES)), EDGE_LABELS)
    ax.set_xlabel("operation")
    ax.set_ylabel("edge (target<-source)")
    ax.set_title(title, fontsize=7.5)
    fig.colorbar(im, ax=ax, label=value_label)
    return fig

