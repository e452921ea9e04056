"""``nabench plot curves|na-gain|flatness|correlations|trained-vs-benchmark``: figures of search runs and of the flatness study."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from nabench.analysis.plots import FACETS
from nabench.commands.analyze import parse_fidelity, parse_formats
from nabench.commands.common import add_data_dir
from nabench import validate
from nabench.errors import ConfigError

DEFAULT_OUT = "nabench-results/figures"


#: x axes of ``plot curves``: evaluation-table column -> axis label
X_LABELS = {"time": "simulated time (s)", "queries": "cells charged", "candidates": "candidates proposed",
            "cells_read": "cells read"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plot", help="figures of search runs and of the flatness study", description="Draw figures.")
    inner = p.add_subparsers(dest="figure", metavar="FIGURE")

    c = inner.add_parser(
        "curves", help="anytime curves and final-accuracy distributions from runner results",
        description="Per protocol and dataset: incumbent test accuracy vs simulated time (mean over runs, 95% "
                    "t-interval band, step interpolation on a common grid, one line per searcher and setting) and "
                    "final-accuracy box plots with NA-X beside X; prints the final accuracies and the runner's "
                    "paired NA-X vs X tests.")
    c.add_argument("results", metavar="RESULTS_DIR", help="a results folder written by the nabench runner")
    c.add_argument("--out", default=None, metavar="DIR", help="output folder (default: RESULTS_DIR/figures)")
    c.add_argument("--points", type=int, default=200, help="points of the common time grid (default 200)")
    c.add_argument("--x", choices=tuple(X_LABELS), default="time",
                   help="x axis: simulated time (default), cells charged (queries), candidates proposed or cells "
                        "read (the three counts of nabench.search.loop.Trajectory)")
    c.add_argument("--linear", action="store_true", help="linear grid and axis (default: log)")
    c.add_argument("--facet", choices=FACETS, default="auto",
                   help="panels per figure: setting (one per NA setting, X dashed and NA-X solid in one colour), "
                        "family (one per searcher), none, or auto (setting when the grid has several; default)")
    c.add_argument("--formats", default="png,pdf", help="figure formats, comma-separated (default png,pdf)")
    c.set_defaults(func=_curves)

    g = inner.add_parser(
        "na-gain", help="NA-X minus X on matched seeds, mean and 95%% CI per dataset and setting",
        description="From a runner results folder (runs.csv and paired.csv): per searched dataset, protocol and "
                    "report target, the per-seed differences NA-X minus X in final accuracy (dots) with their mean "
                    "and 95%% t-interval, one row per NA searcher and setting. Prints the table it draws.")
    g.add_argument("results", metavar="RESULTS_DIR", help="a results folder written by `nabench run`")
    g.add_argument("--out", default=None, metavar="DIR", help="output folder (default: RESULTS_DIR/figures)")
    g.add_argument("--formats", default="png,pdf", help="figure formats, comma-separated (default png,pdf)")
    g.set_defaults(func=_na_gain)

    f = inner.add_parser(
        "flatness", help="hexbins of signal/aggregate/flatness vs test accuracy and a neighborhood heatmap",
        description="Hexbin plots of the signal, its radius-1 mean and the radius-1 flatness statistics against "
                    "200-epoch test accuracy over all cells, and the edge x op heatmap of one architecture's "
                    "radius-1 neighborhood (default: the cell with the best signal).")
    f.add_argument("--dataset", required=True, help="cifar10, cifar100 or ImageNet16-120")
    f.add_argument("--fidelity", required=True, help="epochs of the search signal: 12 or 200")
    f.add_argument("--arch", default=None, help="architecture of the heatmap: official index or string "
                                                "(default: best by signal)")
    f.add_argument("--vmin", type=float, default=None, help="low end of the heatmap's colour range (default: its minimum)")
    f.add_argument("--vmax", type=float, default=None, help="high end of the heatmap's colour range (default: its maximum)")
    f.add_argument("--out", default=DEFAULT_OUT, metavar="DIR", help=f"output folder (default: {DEFAULT_OUT})")
    f.add_argument("--formats", default="png,pdf", help="figure formats, comma-separated (default png,pdf)")
    add_data_dir(f)
    f.set_defaults(func=_flatness)

    r = inner.add_parser(
        "correlations", help="rank-correlation bars across datasets, fidelities and aggregations",
        description="Bars of Kendall tau (or Spearman rho) with 95% CIs from the study tables in TABLE_DIR "
                    "(written by `nabench analyze flatness`): one panel per dataset, one bar group per predictor, "
                    "one color per signal fidelity.")
    r.add_argument("tables", metavar="TABLE_DIR", help="folder holding flatness_<dataset>_<fidelity>.csv tables")
    r.add_argument("--subset", default="all", help="all, top10%%, top5%% or top1%% (default all)")
    r.add_argument("--dedup", action="store_true", help="use the rows with isomorphism deduplication")
    r.add_argument("--stat", default="kendall_tau", choices=("kendall_tau", "spearman_rho"))
    r.add_argument("--out", default=None, metavar="DIR", help="output folder (default: TABLE_DIR)")
    r.add_argument("--formats", default="png,pdf", help="figure formats, comma-separated (default png,pdf)")
    r.set_defaults(func=_correlations)

    from nabench.train.farm_plot import register_plot  # torch-free: it reads the training farm's table

    register_plot(inner)

    def _help(_: argparse.Namespace) -> int:
        p.print_help()
        return 2

    p.set_defaults(func=_help)


def _curves(args: argparse.Namespace) -> int:
    import re
    from dataclasses import replace

    import pandas as pd

    from nabench.analysis import plots
    from nabench.analysis.curves import anytime_curves, final_values, load_runs, searcher_order
    from nabench.analysis.stats import mean_ci

    fmts = parse_formats(args.formats)
    if args.points < 2:
        raise ConfigError(f"--points must be at least 2, got {args.points}")
    runs, cols = load_runs(args.results)
    if args.x != "time":
        cols = replace(cols, time=args.x)
    reports = _primary_reports(Path(args.results))
    out = validate.writable_dir("--out", Path(args.out) if args.out else Path(args.results) / "figures")
    log = not args.linear
    written = []
    for panel, r in runs.groupby("panel", sort=True):
        slug = re.sub(r"[^A-Za-z0-9.-]+", "_", str(panel)).strip("_")
        ylabel = f"incumbent test accuracy (%): {reports.get(panel, 'primary report')}"
        cur = anytime_curves(r, n_points=args.points, log_grid=log, cols=cols)
        xlabel = X_LABELS[args.x]
        fig = plots.anytime_curves_figure(cur, title=f"{panel}: mean over runs, 95% CI", ylabel=ylabel, xlabel=xlabel,
                                          log_time=log, facet=args.facet)
        written += plots.save_figure(fig, out, f"anytime_{args.x}_{slug}", formats=fmts)
        final = final_values(r, cols=cols)
        written += plots.save_figure(plots.final_distributions(final, title=f"{panel}: final test accuracy",
                                                               ylabel=ylabel), out, f"final_accuracy_{slug}", formats=fmts)
        rows = []
        for name in searcher_order(final["searcher"].unique()):
            v = final.loc[final["searcher"] == name, "final"].to_numpy(float)
            m, lo, hi = mean_ci(v)
            rows.append({"searcher": name, "runs": v.size, "mean": m, "ci95_lo": lo, "ci95_hi": hi,
                         "std": v.std(ddof=1) if v.size > 1 else float("nan"), "min": v.min(), "max": v.max()})
        print(f"== {panel}: final incumbent test accuracy ({reports.get(panel, 'primary report')})")
        print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    paired = Path(args.results) / "paired.csv"
    if paired.is_file():
        print("\n== paired NA-X vs X on matched seeds (the runner's paired.csv)")
        print(format_paired_csv(pd.read_csv(paired)))
    print("wrote " + ", ".join(str(p) for p in written))
    return 0


def format_paired_csv(table: Any) -> str:
    """The runner's paired table as text, p-values by :func:`nabench.analysis.stats.p_value_text` (``-`` where no test applies)."""
    import numpy as np

    from nabench.analysis.stats import p_value_text

    t = table.copy()
    se = t["diff_se"] if "diff_se" in t.columns else np.full(len(t), np.inf)
    for col in [c for c in t.columns if c.endswith("_p")]:
        t[col] = [p_value_text(p, s) for p, s in zip(t[col], se)]
    return t.to_string(index=False, float_format=lambda v: f"{v:.4g}")


def _na_gain(args: argparse.Namespace) -> int:
    import pandas as pd

    from nabench.analysis import plots
    from nabench.analysis.curves import paired_differences
    from nabench.analysis.stats import mean_ci

    fmts = parse_formats(args.formats)
    diffs = paired_differences(args.results)
    out = validate.writable_dir("--out", Path(args.out) if args.out else Path(args.results) / "figures")
    written = plots.save_figure(plots.na_gain_figure(diffs), out, "na_gain", formats=fmts)
    rows = []
    for key, g in diffs.groupby(["protocol", "dataset", "report", "na", "setting"], sort=False):
        m, lo, hi = mean_ci(g["diff"].to_numpy(float))
        rows.append(dict(zip(["protocol", "dataset", "report", "na", "setting"], key), n=len(g), gain=m,
                         ci95_lo=lo, ci95_hi=hi))
    print("== NA-X minus X on matched seeds (percentage points; mean and 95% t-interval)")
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:+.3f}"))
    print("wrote " + ", ".join(str(p) for p in written))
    return 0


def _primary_reports(results: Path) -> dict[str, str]:
    """``protocol / dataset`` -> the report target of the ``incumbent_test`` column, from the manifest."""
    import json

    try:
        cells = json.loads((results / "manifest.json").read_text()).get("cells", {})
    except (OSError, ValueError, AttributeError, RecursionError):
        return {}
    out = {}
    for cell in cells.values() if isinstance(cells, dict) else []:
        try:
            out.setdefault(f"{cell['protocol']} / {cell['dataset']}", str(cell["task"]["reports"][0]))
        except (KeyError, IndexError, TypeError):
            continue
    return out


def _resolve_arch(bench: Any, text: str | None, signal: Any) -> int:
    """The official index ``--arch`` names (index or string), or the best cell by ``signal``."""
    import numpy as np

    from nabench.spaces import parse_arch

    if text is None:
        return int(np.argmax(signal))
    return parse_arch(bench.space, text)


def _flatness(args: argparse.Namespace) -> int:
    import nabench
    from nabench.analysis import plots
    from nabench.analysis.flatness import StudyConfig, cell_predictors, load_signal_and_test, neighborhood_grid
    from nabench.analysis.stats import rank_correlation

    fid = parse_fidelity(args.fidelity)
    fmts = parse_formats(args.formats)
    for flag, value in (("--vmin", args.vmin), ("--vmax", args.vmax)):
        if value is not None:
            validate.number(flag, value)  # finite: NaN or inf would draw an empty or one-colour heatmap
    out = validate.writable_dir("--out", args.out)  # before the tables load
    bench = nabench.load("nb201", args.data_dir)
    signal, test, spec = load_signal_and_test(bench, args.dataset, fid)
    idx = _resolve_arch(bench, args.arch, signal)  # before anything is written
    pred = cell_predictors(signal, bench.order, StudyConfig(radii=(1,), aggregations=("mean",)))
    labels = {"signal": f"signal: {spec.signal_split} @ {fid} ep", "r1_mean": "r=1 mean (with self)",
              "r1_flat_drop": "flatness: neighbor mean - cell", "r1_flat_std": "flatness: -neighbor std"}
    panels = {labels[c]: pred[c].to_numpy() for c in labels}
    notes = {}
    for name, x in panels.items():
        tau, rho = rank_correlation(x, test)
        notes[name] = f"tau = {tau:+.3f}\nrho = {rho:+.3f}"
    fig = plots.hexbin_panels(
        panels, test, target_label=f"{spec.test_dataset} {spec.test_split} @ 200 ep (%)",
        title=f"{spec.name}: {fid}-epoch signal, aggregate and flatness vs test accuracy (all 15,625 cells)",
        annotations=notes,
    )
    stem = f"flatness_{spec.name}_{fid}"
    written = plots.save_figure(fig, out, f"{stem}_hexbin", formats=fmts)
    grid = neighborhood_grid(signal, bench.order, idx)
    heat = plots.neighborhood_heatmap(
        grid, bench.order.ops(idx), vmin=args.vmin, vmax=args.vmax,
        title=f"#{idx} {bench.arch_str(idx)}\n{spec.signal_dataset} {spec.signal_split} @ {fid} ep: "
              f"center {signal[idx]:.2f}, r=1 mean {pred['r1_mean'][idx]:.2f}, test {test[idx]:.2f}",
        value_label=f"{spec.signal_split} accuracy @ {fid} ep (%)",
    )
    written += plots.save_figure(heat, out, f"{stem}_neighborhood_{idx}", formats=fmts)
    print("wrote " + ", ".join(str(p) for p in written))
    return 0


def _correlations(args: argparse.Namespace) -> int:
    from nabench.analysis import io, plots
    from nabench.analysis.flatness import STUDIES

    fmts = parse_formats(args.formats)
    out = validate.writable_dir("--out", Path(args.out) if args.out else Path(args.tables))
    table = io.read_study_tables(args.tables)
    subsets = sorted(table["subset"].unique())
    if args.subset not in subsets:
        raise ConfigError(f"--subset {args.subset!r} is not in the tables; they hold {', '.join(subsets)}")
    view = table[(table["subset"] == args.subset) & (table["dedup"].astype(str).str.lower() == str(args.dedup).lower())]
    if view.empty:
        raise ConfigError(f"the tables hold no rows with dedup={args.dedup}; rerun `nabench analyze flatness`")
    known = [d for d in STUDIES if d in set(view["dataset"])]
    view = view.assign(_o=view["dataset"].map({d: i for i, d in enumerate(known)}).fillna(len(known)))
    view = view.sort_values("_o", kind="stable").drop(columns="_o")  # panels in cifar10, cifar100, ImageNet order
    cells = "one cell per isomorphism class" if args.dedup else "all cells"
    what = cells if args.subset == "all" else f"{args.subset} of {cells} by signal"
    fig = plots.correlation_bars(
        view, stat=args.stat, title=f"{args.stat.replace('_', ' ')} with 200-epoch test accuracy ({what})",
    )
    stem = f"flatness_correlations_{args.subset.replace('%', 'pct')}" + ("_dedup" if args.dedup else "")
    written = plots.save_figure(fig, out, stem, formats=fmts)
    print("wrote " + ", ".join(str(p) for p in written))
    return 0
