"""Make the committed tables and figures of results/na-modes/ from finished NA-modes grids.

    nabench run --config benchmarks/configs/na-modes.toml --out OUT201 --workers 2
    nabench run --space 301 --config benchmarks/configs/na-modes-nb301.toml --out OUT301 --workers 2
    python results/na-modes/report.py OUT201 OUT301

Writes, next to this file: ``summary.csv`` (per cell and report target: mean, std, standard error of
the final accuracy, candidates proposed, cells read, cells charged), ``paired.csv`` (NA-X minus X on
matched seeds: mean, standard error, paired t and Wilcoxon p, wins / losses / ties, the runner's
:func:`nabench.experiments.summary.paired`), ``tables.md`` (one table per protocol, dataset and report:
NA mode x searcher, NA-X minus X ± standard error, ``*`` where the Wilcoxon test's p-value, adjusted by
Benjamini-Hochberg over the whole study, is below 0.05) and ``na_gain_<protocol>.png`` (per-seed differences and their
mean with a 95% confidence interval, :func:`nabench.analysis.plots.na_gain_figure`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import false_discovery_control

from nabench.analysis import plots
from nabench.analysis.curves import paired_differences
from nabench.experiments.summary import paired, summarize

HERE = Path(__file__).resolve().parent
SEARCHERS = ("rs", "rea", "bo", "ls", "reinforce")
#: setting -> what it is, in the order of the tables
MODES = {"default": "full (NB301: k=8 sampled)", "k4": "k=4 sampled", "history": "history", "select": "select",
         "low": "low-fidelity", "select-low": "select, low-fidelity"}


def adjusted(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values over the whole study (NaN, where no test applies, stays NaN)."""
    p = np.asarray(p, dtype=float)
    out = np.full_like(p, np.nan)
    ok = np.isfinite(p)
    out[ok] = false_discovery_control(p[ok], method="bh")
    return out


def tables(summary: pd.DataFrame, pairs: pd.DataFrame) -> list[str]:
    lines: list[str] = []
    for (proto, ds, report), p in pairs.groupby(["protocol", "dataset", "report"], sort=False):
        s = summary[(summary.protocol == proto) & (summary.dataset == ds) & (summary.report == report)]
        base = s[s.setting == "default"].set_index("searcher")
        lines += ["", f"### {proto}: search {ds}, report {report}", "",
                  "X: mean final accuracy (± standard error) over the seeds; below it, NA-X minus X on matched "
                  "seeds (± standard error of the difference); `*`: Wilcoxon q < 0.05 (Benjamini-Hochberg over the study); "
                  "last columns: candidates / cells read / cells charged per run (NA-RS).", "",
                  "| mode | " + " | ".join(SEARCHERS) + " | NA-RS counts |", "|---" * (len(SEARCHERS) + 2) + "|"]
        row = [f"{base.loc[x, 'mean']:.2f} ± {base.loc[x, 'se']:.2f}" if x in base.index else "" for x in SEARCHERS]
        counts = (f"{base.loc['rs', 'candidates']:.0f} / {base.loc['rs', 'cells_read']:.0f} / "
                  f"{base.loc['rs', 'queries']:.0f}" if "rs" in base.index else "")
        lines.append("| X | " + " | ".join(row) + f" | {counts} (RS) |")
        for st, label in MODES.items():
            q = p[p.setting == st].set_index("na")
            if q.empty:
                continue
            cells = []
            for x in SEARCHERS:
                if f"na-{x}" not in q.index:
                    cells.append("")
                    continue
                r = q.loc[f"na-{x}"]
                star = "*" if r["q"] < 0.05 else ""
                cells.append(f"{r['diff_mean']:+.2f} ± {r['diff_se']:.2f}{star}")
            c = s[(s.searcher == "na-rs") & (s.setting == st)]
            counts = (f"{c['candidates'].iloc[0]:.0f} / {c['cells_read'].iloc[0]:.0f} / {c['queries'].iloc[0]:.0f}"
                      if len(c) else "")
            lines.append(f"| {label} | " + " | ".join(cells) + f" | {counts} |")
    return lines


def wins(pairs: pd.DataFrame) -> list[str]:
    """Every NA-X that beats X significantly (BH-adjusted Wilcoxon q < 0.05, positive mean difference)."""
    w = pairs[(pairs.q < 0.05) & (pairs.diff_mean > 0)].sort_values("diff_mean", ascending=False)
    if w.empty:
        return ["", "No NA-X beats its X significantly anywhere in the study."]
    lines = ["", "| protocol | dataset | report | NA-X | mode | NA-X minus X | q | W/L/T |", "|---" * 8 + "|"]
    for r in w.itertuples():
        lines.append(f"| {r.protocol} | {r.dataset} | {r.report} | {r.na} | {MODES.get(r.setting, r.setting)} | "
                     f"{r.diff_mean:+.3f} ± {r.diff_se:.3f} | {r.q:.1g} | {r.wins}/{r.losses}/{r.ties} |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", nargs="+", help="the --out folders of the NA-modes grids")
    args = ap.parse_args()
    runs = pd.concat([pd.read_csv(Path(o) / "runs.csv") for o in args.out], ignore_index=True)
    summary, pairs = summarize(runs), paired(runs)
    pairs["q"] = adjusted(pairs["wilcoxon_p"].to_numpy())
    summary.to_csv(HERE / "summary.csv", index=False, float_format="%.4f")
    pairs.to_csv(HERE / "paired.csv", index=False, float_format="%.4g")
    lines = ["# NA modes against their base searchers: tables", "",
             "Made by `python results/na-modes/report.py OUT201 OUT301` (commands in README.md).", "",
             "## Where NA-X beats X", ""]
    lines += wins(pairs)
    lines += ["", "## All cells"]
    lines += tables(summary, pairs)
    (HERE / "tables.md").write_text("\n".join(lines) + "\n")
    written = []
    for o in args.out:
        diffs = paired_differences(o)
        for proto, d in diffs.groupby("protocol", sort=False):
            fig = plots.na_gain_figure(d, title=f"NA-X minus X, protocol {proto}")
            written += plots.save_figure(fig, HERE, f"na_gain_{proto}", formats=("png",))
    print(f"wrote {HERE / 'summary.csv'}, {HERE / 'paired.csv'}, {HERE / 'tables.md'}, "
          + ", ".join(str(w) for w in written))


if __name__ == "__main__":
    main()
