"""Figures render to files with the expected axes, labels and titles (synthetic inputs)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nabench.analysis import plots
from nabench.analysis.curves import anytime_curves, final_values
from nabench.errors import ConfigError
from nabench.spaces.nb201 import OPS


def synthetic_runs(n_runs: int = 6, n_evals: int = 30, seed: int = 0) -> pd.DataFrame:
    """Runs of 'rs' and 'na-rs' with increasing incumbents."""
    g = np.random.default_rng(seed)
    rows = []
    for k, name in enumerate(("rs", "na-rs")):
        for s in range(n_runs):
            t = np.cumsum(g.uniform(50, 150, n_evals))
            acc = np.maximum.accumulate(g.normal(90, 2.0, n_evals))
            rows.append(pd.DataFrame({"searcher": name, "run": k * n_runs + s, "seed": s, "time": t, "incumbent_test": acc}))
    return pd.concat(rows, ignore_index=True)


def _written(paths):
    for p in paths:
        assert p.exists() and p.stat().st_size > 1000
    return {p.suffix for p in paths}


def test_save_figure_writes_png_and_pdf(tmp_path):
    fig = plots.new_figure(3, 2)
    fig.subplots().plot([0, 1], [1, 0])
    paths = plots.save_figure(fig, tmp_path / "sub", "line")
    assert _written(paths) == {".png", ".pdf"}
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert paths[1].read_bytes()[:5] == b"%PDF-"
    with pytest.raises(ConfigError, match="unsupported figure format"):
        plots.save_figure(fig, tmp_path, "x", formats=("jpg",))


def test_hexbin_panels(tmp_path):
    g = np.random.default_rng(0)
    y = g.normal(90, 3, 2000)
    fig = plots.hexbin_panels(
        {"signal": y + g.normal(0, 1, 2000), "r1 mean": y + g.normal(0, 2, 2000)},
        y,
        target_label="test accuracy (%)",
        title="cifar10, 12 epochs",
        annotations={"signal": "tau = 0.70"},
    )
    axes = [a for a in fig.axes if a.get_label() != "<colorbar>"]
    assert [a.get_xlabel() for a in axes[:2]] == ["signal", "r1 mean"]
    assert axes[0].get_ylabel() == "test accuracy (%)"
    assert fig._suptitle.get_text() == "cifar10, 12 epochs"
    assert any(t.get_text() == "tau = 0.70" for t in axes[0].texts)
    assert len(axes[0].collections) == 1 and axes[0].collections[0].get_array().sum() == 2000
    assert _written(plots.save_figure(fig, tmp_path, "hex", formats=("png",))) == {".png"}
    with pytest.raises(ConfigError, match="panel"):
        plots.hexbin_panels({"x": y[:5]}, y, target_label="t", title="t")


def _corr_table():
    rows = []
    for ds in ("cifar10", "cifar100"):
        for fid in (12, 200):
            for k, p in enumerate(("signal", "r1_mean", "r1_min")):
                v = 0.5 + 0.1 * k - 0.001 * fid
                rows.append({"dataset": ds, "fidelity": fid, "predictor": p, "kendall_tau": v, "kendall_lo": v - 0.02,
                             "kendall_hi": v + 0.03, "spearman_rho": v + 0.1, "spearman_lo": v, "spearman_hi": v + 0.2})
    return pd.DataFrame(rows)


def test_correlation_bars(tmp_path):
    t = _corr_table()
    fig = plots.correlation_bars(t, title="bars")
    axes = fig.axes
    assert [a.get_title() for a in axes] == ["cifar10", "cifar100"]
    assert axes[0].get_ylabel() == "kendall tau"
    assert [tl.get_text() for tl in axes[-1].get_xticklabels()] == ["signal", "r1_mean", "r1_min"]
    bars = [p for p in axes[0].patches]
    assert len(bars) == 6
    heights = sorted(round(b.get_height(), 6) for b in bars)
    expected = sorted(round(0.5 + 0.1 * k - 0.001 * f, 6) for k in range(3) for f in (12, 200))
    assert heights == expected
    assert [t.get_text() for t in axes[0].get_legend().get_texts()] == ["12 epochs signal", "200 epochs signal"]
    assert _written(plots.save_figure(fig, tmp_path, "bars")) == {".png", ".pdf"}
    with pytest.raises(ConfigError, match="stat"):
        plots.correlation_bars(t, stat="pearson")
    with pytest.raises(ConfigError, match="lacks columns"):
        plots.correlation_bars(t.drop(columns="kendall_lo"))


def test_anytime_curves_figure(tmp_path):
    cur = anytime_curves(synthetic_runs(), n_points=40)
    fig = plots.anytime_curves_figure(cur, title="curves")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "simulated time (s)"
    assert ax.get_ylabel() == "incumbent test accuracy (%)"
    assert ax.get_title() == "curves"
    assert ax.get_xscale() == "log"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["rs (n=6)", "na-rs (n=6)"]
    assert len(ax.lines) == 2 and len(ax.collections) == 2  # a line and a band per searcher
    assert [ln.get_linestyle() for ln in ax.lines] == ["--", "-"]  # X dashed, NA-X solid
    assert _written(plots.save_figure(fig, tmp_path, "curves")) == {".png", ".pdf"}


def test_final_distributions_put_na_beside_its_base(tmp_path):
    runs = pd.concat([synthetic_runs(), synthetic_runs(seed=1).replace({"rs": "rea", "na-rs": "na-rea"})])
    runs.loc[runs["searcher"].str.endswith("rea"), "run"] += 100
    fig = plots.final_distributions(final_values(runs), title="final")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["rea", "na-rea", "rs", "na-rs"]
    assert ax.get_ylabel() == "final test accuracy (%)" and ax.get_title() == "final"
    assert sum(len(c.get_offsets()) for c in ax.collections) == 24  # every run drawn as a dot
    assert _written(plots.save_figure(fig, tmp_path, "final")) == {".png", ".pdf"}


def test_neighborhood_heatmap(tmp_path):
    grid = np.arange(30.0).reshape(6, 5)
    ops = (3, 3, 1, 3, 2, 0)
    fig = plots.neighborhood_heatmap(grid, ops, title="arch 6111")
    ax = fig.axes[0]
    assert ax.get_title() == "arch 6111"
    assert ax.get_xlabel() == "operation" and ax.get_ylabel() == "edge (target<-source)"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["1<-0", "2<-0", "2<-1", "3<-0", "3<-1", "3<-2"]
    assert [t.get_text() for t in ax.get_xticklabels()] == [o.replace("_", " ") for o in OPS]
    assert len(ax.texts) == 30 and ax.texts[7].get_text() == "7.0"
    boxes = [(round(p.get_x() + 0.5), round(p.get_y() + 0.5)) for p in ax.patches]
    assert boxes == [(o, e) for e, o in enumerate(ops)]
    assert fig.axes[1].get_ylabel() == "signal (%)"
    assert _written(plots.save_figure(fig, tmp_path, "nbh")) == {".png", ".pdf"}
    with pytest.raises(ConfigError, match="6 edges x 5 ops"):
        plots.neighborhood_heatmap(grid[:5], ops, title="x")
