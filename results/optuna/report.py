"""Optuna's TPE and random samplers against nabench's BO, REA and RS (NAS-Bench-201 protocol, 500 seeds).

    nabench run --config benchmarks/configs/optuna.toml --out OUT --workers 2
    python results/optuna/report.py OUT

Writes summary.csv (per searcher and report target) and tables.md (means and the paired differences
of optuna-tpe against every other searcher on matched seeds: run r of every searcher uses seed r)
next to this file.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from nabench.analysis.stats import at_data_precision, p_value_text
from nabench.experiments.summary import summarize

HERE = Path(__file__).resolve().parent
REFERENCE = "optuna-tpe"


def paired_against(runs: pd.DataFrame, reference: str) -> pd.DataFrame:
    """``reference`` minus each other searcher on matched seeds, per report target."""
    rows = []
    wide = runs.pivot_table(index=["report", "seed"], columns="searcher", values="test_acc")
    for report, w in wide.groupby(level="report"):
        for other in (c for c in w.columns if c != reference):
            d = at_data_precision((w[reference] - w[other]).dropna().to_numpy())  # float noise is a tie
            se = d.std(ddof=1) / np.sqrt(len(d))
            nonzero = d[d != 0]
            wil = stats.wilcoxon(nonzero).pvalue if len(nonzero) else float("nan")
            rows.append({"report": report, "searcher": other, "n": len(d), "diff": d.mean(), "se": se,
                         "t_p": stats.ttest_1samp(d, 0.0).pvalue if se > 0 else float("nan"), "wilcoxon_p": wil,
                         "wins": int((d > 0).sum()), "losses": int((d < 0).sum()), "ties": int((d == 0).sum())})
    return pd.DataFrame(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path, help="the finished results folder of benchmarks/configs/optuna.toml")
    args = ap.parse_args()
    runs = pd.read_csv(args.out / "runs.csv")
    summary = summarize(runs)
    summary.to_csv(HERE / "summary.csv", index=False, float_format="%.6g")
    pairs = paired_against(runs, REFERENCE)
    lines = ["# optuna-tpe vs the other searchers (NAS-Bench-201 protocol, 500 seeds)", ""]
    for report, s in summary.groupby("report", sort=False):
        lines += [f"## {report} (200-epoch test accuracy, %)", "",
                  "| searcher | mean ± std (se) | optuna-tpe minus it (se) | t-test p | Wilcoxon p | W/L/T |",
                  "|---|---|---|---|---|---|"]
        for _, r in s.iterrows():
            p = pairs[(pairs.report == report) & (pairs.searcher == r.searcher)]
            if p.empty:
                extra = "| - | - | - | - |"
            else:
                q = p.iloc[0]
                extra = (f"| {q['diff']:+.3f} ({q.se:.3f}) | {p_value_text(q.t_p, q.se)} | "
                         f"{p_value_text(q.wilcoxon_p, q.se)} | {q.wins}/{q.losses}/{q.ties} |")
            lines.append(f"| {r.searcher} | {r['mean']:.2f} ± {r['std']:.2f} ({r.se:.3f}) {extra}")
        lines.append("")
    (HERE / "tables.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
