"""Make the committed tables of results/search/ from a finished reproduction folder.

    nabench run --config benchmarks/configs/reproduction.toml --out OUT --workers 2
    python results/search/report.py OUT

Writes summary.csv (per cell and report target), paired.csv (NA-X vs X on matched seeds) and
tables.md (the published comparison and one table per task) next to this file.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from nabench.experiments.summary import paired, summarize

HERE = Path(__file__).resolve().parent
#: NAS-Bench-201 paper, Table 5 (500 runs, CIFAR-10 test accuracy, %): mean, std.
PUBLISHED = {"rs": (93.70, 0.36), "rea": (93.92, 0.30), "reinforce": (93.85, 0.37)}
SEARCHERS = ("rs", "rea", "bo", "ls", "reinforce")
VARIANTS = (("X", None), ("NA-X, query-matched", "default"), ("NA-X, candidate-matched", "candidate"),
            ("NA-X, k=4, query-matched", "k4"))


def cell(s: pd.DataFrame, searcher: str, setting: str) -> str:
    r = s[(s.searcher == searcher) & (s.setting == setting)]
    if r.empty:
        return ""
    r = r.iloc[0]
    return f"{r['mean']:.2f} ± {r['std']:.2f} ({r['se']:.3f})"


def diff(p: pd.DataFrame, na: str, setting: str) -> str:
    r = p[(p.na == na) & (p.setting == setting)]
    if r.empty:
        return ""
    r = r.iloc[0]
    return f"{r['diff_mean']:+.2f} ± {r['diff_se']:.2f} (t p={r['t_p']:.1g}, W p={r['wilcoxon_p']:.1g})"


def published_table(summary: pd.DataFrame) -> list[str]:
    s = summary[(summary.protocol == "nb201") & (summary.report == "cifar10/ori-test") & (summary.setting == "default")]
    lines = ["| searcher | nabench (500 runs) | published | difference | SE of difference | difference / SE |",
             "|---|---|---|---|---|---|"]
    for name, (m, sd) in PUBLISHED.items():
        r = s[s.searcher == name].iloc[0]
        se = np.sqrt(r["se"] ** 2 + (sd / np.sqrt(500)) ** 2)
        d = r["mean"] - m
        lines.append(f"| {name} | {r['mean']:.2f} ± {r['std']:.2f} | {m:.2f} ± {sd:.2f} | {d:+.3f} | {se:.3f} | "
                     f"{d / se:+.1f} |")
    return lines


def task_tables(summary: pd.DataFrame, pairs: pd.DataFrame) -> list[str]:
    lines: list[str] = []
    for (proto, ds, report), s in summary.groupby(["protocol", "dataset", "report"], sort=False):
        p = pairs[(pairs.protocol == proto) & (pairs.dataset == ds) & (pairs.report == report)]
        lines += ["", f"### {proto}: search {ds}, report {report}", "",
                  "Final test accuracy, mean ± std (standard error) over 500 seeds; below, NA-X minus X on matched "
                  "seeds (± standard error) with the paired t-test and Wilcoxon p-values.", "",
                  "| searcher | " + " | ".join(v for v, _ in VARIANTS) + " |", "|---" * (len(VARIANTS) + 1) + "|"]
        for x in SEARCHERS:
            row = [cell(s, x, "default")] + [cell(s, f"na-{x}", st) for _, st in VARIANTS[1:]]
            lines.append(f"| {x} | " + " | ".join(row) + " |")
        lines += ["", "| searcher | " + " | ".join(v for v, _ in VARIANTS[1:]) + " |", "|---" * len(VARIANTS) + "|"]
        for x in SEARCHERS:
            lines.append(f"| {x} | " + " | ".join(diff(p, f"na-{x}", st) for _, st in VARIANTS[1:]) + " |")
        ev = s[s.setting.isin(["default", "candidate", "k4"])][["searcher", "setting", "candidates", "cells_read",
                                                                 "queries"]]
        lines += ["", "Candidates proposed / cells read / cells charged per run (mean): " + "; ".join(
            f"{r.searcher}/{r.setting} {r.candidates:.0f}/{r.cells_read:.0f}/{r.queries:.0f}" for r in ev.itertuples()
            if r.searcher in ("rs", "rea", "na-rs", "na-rea")) + "."]
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", help="the --out folder of the reproduction run")
    args = ap.parse_args()
    runs = pd.read_csv(Path(args.out) / "runs.csv")
    summary, pairs = summarize(runs), paired(runs)
    summary.to_csv(HERE / "summary.csv", index=False, float_format="%.4f")
    pairs.to_csv(HERE / "paired.csv", index=False, float_format="%.4g")
    lines = ["# Search reproduction tables", "",
             "Made by `python results/search/report.py OUT` from "
             "`nabench run --config benchmarks/configs/reproduction.toml --out OUT --workers 2`.", "",
             "## NAS-Bench-201 protocol against the published numbers (CIFAR-10 test accuracy, %)", ""]
    lines += published_table(summary)
    lines += ["", "## All tasks"]
    lines += task_tables(summary, pairs)
    (HERE / "tables.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {HERE / 'summary.csv'}, {HERE / 'paired.csv'}, {HERE / 'tables.md'}")


if __name__ == "__main__":
    main()
