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

from nabench.analysis.curves import DEFAULT_SETTING, base_of, is_na, searcher_order, split_label
from nabench.analysis.stats import mean_ci
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


#: Facets of :func:`anytime_curves_figure`.
FACETS: tuple[str, ...] = ("auto", "setting", "family", "none")


def _clip_range(value_range: tuple[float, float] | None) -> tuple[float, float]:
    lo, hi = value_range if value_range is not None else (-np.inf, np.inf)
    if not lo < hi:
        raise ConfigError(f"the metric's range must be (low, high) with low < high, got {value_range}")
    return float(lo), float(hi)


def anytime_curves_figure(
    curves: pd.DataFrame,
    *,
    title: str = "Incumbent test accuracy over simulated time",
    ylabel: str = "incumbent test accuracy (%)",
    xlabel: str = "simulated time (s)",
    log_time: bool = True,
    facet: str = "auto",
    value_range: tuple[float, float] | None = (0.0, 100.0),
) -> Figure:
    """Mean incumbent curves (step lines) with confidence bands, faceted so that no panel is crowded.

    ``curves`` holds rows of :func:`nabench.analysis.curves.anytime_curves` whose ``searcher`` is a
    :func:`~nabench.analysis.curves.line_label` (``na-rs [k4]``). Decisions:

    * ``facet="setting"``: one panel per NA setting (``default``, ``k4``, ...); each panel draws every
      base searcher X (dashed) and its NA-X in that setting (solid) in the *same colour*, one colour
      per searcher family, so a pair reads at a glance. X runs only in the default setting, so it is
      the reference repeated in every panel.
    * ``facet="family"``: one panel per searcher family (rs, rea, ...): X dashed in black, each NA-X
      setting solid in its own colour (one colour per setting, the same in every panel).
    * ``facet="none"``: one panel, paired colours as for ``setting``; ``auto`` is ``setting`` when the
      curves hold more than one setting, else ``none``.
    * Bands are clipped to ``value_range`` (the metric's range: 0..100 for accuracies in percent), so
      a wide t-interval over few runs never suggests accuracies above 100%.
    * One legend for the whole figure, outside the panels (right), so it never covers a curve or the title.
    """
    need = {"searcher", "time", "mean", "lo", "hi", "n_runs"}
    if not need <= set(curves.columns):
        raise ConfigError(f"the curves lack columns {sorted(need - set(curves.columns))}; pass anytime_curves(...) output")
    if facet not in FACETS:
        raise ConfigError(f"unknown facet {facet!r}; choose one of {', '.join(FACETS)}")
    lo_clip, hi_clip = _clip_range(value_range)
    labels = searcher_order(curves["searcher"].unique())
    parts = {lab: split_label(lab) for lab in labels}                 # label -> (searcher, setting)
    settings = sorted({st for sr, st in parts.values() if is_na(sr)}, key=lambda st: (st != DEFAULT_SETTING, st))
    families = list(dict.fromkeys(base_of(sr) for sr, _ in parts.values()))
    if facet == "auto":
        facet = "setting" if len(settings) > 1 else "none"
    if facet == "setting" and settings:
        panels = {st: [lab for lab in labels if not is_na(parts[lab][0]) or parts[lab][1] == st] for st in settings}
    elif facet == "family":
        panels = {fam: [lab for lab in labels if base_of(parts[lab][0]) == fam] for fam in families}
    else:
        panels = {"": labels}
    palette = matplotlib.colormaps["tab10"].colors
    fam_color = {f: palette[i % len(palette)] for i, f in enumerate(families)}
    set_color = {st: palette[i % len(palette)] for i, st in enumerate(settings)}

    ncols = min(3, len(panels))
    nrows = -(-len(panels) // ncols)
    fig = new_figure(4.6 * ncols + 2.4, 3.6 * nrows + 0.6)
    axes = fig.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False).ravel()
    handles: dict[str, object] = {}
    for ax, (name, members) in zip(axes, panels.items()):
        for lab in members:
            c = curves[curves["searcher"] == lab]
            searcher, setting = parts[lab]
            na = is_na(searcher)
            if facet == "family":
                color = set_color.get(setting, "black") if na else "black"
            else:
                color = fam_color[base_of(searcher)]
            n = int(c["n_runs"].iloc[0])
            (line,) = ax.step(c["time"], c["mean"], where="post", color=color, linestyle="-" if na else "--",
                              linewidth=1.4, label=f"{lab} (n={n})")
            ax.fill_between(c["time"], np.clip(c["lo"], lo_clip, hi_clip), np.clip(c["hi"], lo_clip, hi_clip),
                            step="post", alpha=0.12, color=color, linewidth=0)
            key = lab if facet != "setting" or na else searcher
            handles.setdefault(key, line)
        if name:
            ax.set_title(f"{'setting' if facet == 'setting' else 'searcher'}: {name}", fontsize=10)
        if log_time and (curves["time"] > 0).all():
            ax.set_xscale("log")
        ax.grid(alpha=0.3)
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    finite = curves[["lo", "hi", "mean"]].to_numpy(float)
    finite = finite[np.isfinite(finite)]
    if finite.size:
        pad = 0.02 * (finite.max() - finite.min() or 1.0)
        axes[0].set_ylim(max(lo_clip, finite.min() - pad), min(hi_clip, finite.max() + pad))
    for ax in axes[(nrows - 1) * ncols:]:
        ax.set_xlabel(xlabel)
    for ax in axes[::ncols]:
        ax.set_ylabel(ylabel)
    fig.suptitle(title)
    fig.legend(list(handles.values()), [h.get_label() for h in handles.values()], loc="outside right upper",
               fontsize=8, title="dashed: X, solid: NA-X", title_fontsize=8)
    return fig


def na_gain_figure(diffs: pd.DataFrame, *, title: str = "NA-X minus X on matched seeds",
                   confidence_level: float = 0.95) -> Figure:
    """NA-X minus X (percentage points): per pair, the per-seed differences (dots) and their mean ± CI.

    ``diffs`` holds rows of :func:`nabench.analysis.curves.paired_differences`. One panel per
    searched dataset, protocol and reported target; one row per NA-X and setting, coloured by
    setting; a vertical line at 0 (no gain). The interval is the Student-t interval of the mean
    paired difference (:func:`nabench.analysis.stats.mean_ci`), the paired test's own interval.
    """
    need = {"protocol", "dataset", "report", "setting", "na", "base", "seed", "diff"}
    if not need <= set(diffs.columns) or diffs.empty:
        raise ConfigError(f"pass paired_differences(...) output: rows with {sorted(need)}")
    panels = list(dict.fromkeys(zip(diffs["protocol"], diffs["dataset"], diffs["report"])))
    settings = list(dict.fromkeys(diffs["setting"]))
    palette = matplotlib.colormaps["tab10"].colors
    color = {st: palette[i % len(palette)] for i, st in enumerate(settings)}
    rows_per_panel = int(diffs[["protocol", "dataset", "report", "na", "setting"]].drop_duplicates()
                         .groupby(["protocol", "dataset", "report"]).size().max())
    ncols = min(3, len(panels))
    nrows = -(-len(panels) // ncols)
    fig = new_figure(4.4 * ncols + 1.8, (0.32 * rows_per_panel + 1.3) * nrows + 0.6)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    handles = {}
    for ax, (proto, ds, report) in zip(axes, panels):
        sub = diffs[(diffs["protocol"] == proto) & (diffs["dataset"] == ds) & (diffs["report"] == report)]
        pairs = list(dict.fromkeys(zip(sub["na"], sub["setting"])))
        pairs.sort(key=lambda p: (base_of(p[0]), settings.index(p[1])))
        for y, (na, st) in enumerate(pairs):
            d = sub.loc[(sub["na"] == na) & (sub["setting"] == st), "diff"].to_numpy(float)
            m, lo, hi = mean_ci(d, confidence_level=confidence_level)
            ax.scatter(d, np.full(d.size, y), s=5, alpha=0.25, color=color[st], linewidths=0)
            err = None if not np.isfinite(lo) else [[m - lo], [hi - m]]
            handles.setdefault(st, ax.errorbar([m], [y], xerr=err, fmt="o", color=color[st], capsize=3,
                                               markersize=4, label=st))
        ax.axvline(0.0, color="black", linewidth=0.8)
        ax.set_yticks(np.arange(len(pairs)), [f"{na} vs {base_of(na)}" for na, _ in pairs], fontsize=8)
        ax.set_ylim(len(pairs) - 0.5, -0.5)
        ax.set_title(f"{proto} / search {ds}\nreport {report}", fontsize=9)
        ax.set_xlabel("NA-X minus X (percentage points)")
        ax.grid(axis="x", alpha=0.3)
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    fig.suptitle(f"{title}: dots = seeds, bar = mean and {100 * confidence_level:g}% CI")
    fig.legend(list(handles.values()), list(handles), loc="outside right upper", fontsize=8, title="setting",
               title_fontsize=8)
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
    vmin: float | None = None,
    vmax: float | None = None,
) -> Figure:
    """An architecture's radius-1 neighborhood as an edge x op heatmap.

    ``grid[e, o]`` is the signal of the cell obtained by setting edge ``e`` to op ``o``: each row
    holds the 4 neighbors that change edge ``e``, and the outlined entry of every row is the
    architecture itself (its own op on that edge), which the legend under the panel says.
    ``vmin``/``vmax`` fix the colour range (default: the grid's range), so heatmaps of different
    architectures or fidelities can be compared colour for colour.
    """
    g = np.asarray(grid, dtype=float)
    if g.shape != (len(EDGES), len(OPS)):
        raise ConfigError(f"the neighborhood grid must be {len(EDGES)} edges x {len(OPS)} ops, got {g.shape}")
    if len(ops) != len(EDGES):
        raise ConfigError(f"give the architecture's {len(EDGES)} op indices, got {len(ops)}")
    fig = new_figure(7.0, 4.4)
    ax = fig.subplots()
    if vmin is not None and vmax is not None and not vmin < vmax:
        raise ConfigError(f"the colour range needs vmin < vmax, got {vmin} and {vmax}")
    im = ax.imshow(g, cmap="magma", aspect="auto", vmin=vmin, vmax=vmax)
    lo, hi = im.norm.vmin, im.norm.vmax
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
    outline = Rectangle((0, 0), 1, 1, fill=False, edgecolor="cyan", linewidth=2)
    fig.legend([outline], ["the architecture itself (its op on each edge); every other entry is a neighbor "
                           "that changes one edge"], loc="outside lower center", fontsize=7.5, frameon=False)
    return fig

