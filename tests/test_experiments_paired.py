"""Paired NA-X vs X tables compare final accuracies at the data's precision (float noise is a tie)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from nabench.experiments.summary import paired


def _runs(na: list[float], base: list[float]) -> pd.DataFrame:
    rows = []
    for searcher, vals in (("na-rs", na), ("rs", base)):
        for seed, v in enumerate(vals):
            rows.append({"protocol": "nb201", "dataset": "cifar10", "searcher": searcher, "setting": "default",
                         "run": seed, "seed": seed, "report": "cifar10/ori-test", "test_acc": v})
    return pd.DataFrame(rows)


def test_float_noise_is_a_tie_and_real_differences_count():
    base = [94.0, 93.5, 93.0, 92.5, 92.0, 91.0]
    noise = [b + 3e-8 for b in base[:3]]          # the same cell reached through another path: a tie
    na = noise + [base[3] + 0.2, base[4] - 0.1, base[5] + 0.3]
    row = paired(_runs(na, base)).iloc[0]
    assert (row.wins, row.losses, row.ties) == (2, 1, 3)
    assert np.isclose(row.diff_mean, (0.2 - 0.1 + 0.3) / 6)


def test_all_ties_give_no_p_value():
    base = [94.0, 93.5, 93.0]
    row = paired(_runs([b - 1e-9 for b in base], base)).iloc[0]
    assert (row.wins, row.losses, row.ties) == (0, 0, 3)
    assert np.isnan(row.t_p) and np.isnan(row.wilcoxon_p)
