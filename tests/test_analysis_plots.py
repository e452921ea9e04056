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
    assert fig.get_suptitle() == "curves"
    assert ax.get_xscale() == "log"
    assert ax.get_legend() is None and len(fig.legends) == 1          # one legend, for the figure
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["rs (n=6)", "na-rs (n=6)"]
    assert len(ax.lines) == 2 and len(ax.collections) == 2  # a line and a band per searcher
    assert [ln.get_linestyle() for ln in ax.lines] == ["--", "-"]  # X dashed, NA-X solid
    assert ax.lines[0].get_color() == ax.lines[1].get_color()     # ... in one colour
    assert _written(plots.save_figure(fig, tmp_path, "curves")) == {".png", ".pdf"}


def grid_curves(n_points: int = 30) -> pd.DataFrame:
    """Curves of a reproduction-like grid: 3 families x (X, NA-X default, NA-X k4, NA-X candidate)."""
    g = np.random.default_rng(3)
    rows = []
    labels = [f"{na}{fam}{st}" for fam in ("rs", "rea", "bo") for na, st in
              (("", ""), ("na-", ""), ("na-", " [k4]"), ("na-", " [candidate]"))]
    t = np.geomspace(10, 1e4, n_points)
    for lab in labels:
        m = np.minimum(99.5, 80 + 15 * np.log10(t) / 4 + g.normal(0, 0.2, n_points))
        rows.append(pd.DataFrame({"searcher": lab, "time": t, "mean": m, "lo": m - 30, "hi": m + 30, "n_runs": 3}))
    return pd.concat(rows, ignore_index=True)


def _visible(fig):
    return [ax for ax in fig.axes if ax.get_visible()]


def test_curves_facet_by_setting_pairs_x_and_na_x_in_one_colour():
    fig = plots.anytime_curves_figure(grid_curves(), facet="auto")   # several settings: one panel each
    axes = _visible(fig)
    assert [ax.get_title() for ax in axes] == ["setting: default", "setting: candidate", "setting: k4"]
    for ax in axes:
        assert len(ax.lines) == 6                                       # 3 families x (X, NA-X)
        styles = [ln.get_linestyle() for ln in ax.lines]
        assert styles.count("--") == 3 and styles.count("-") == 3
        by_colour = {}
        for ln in ax.lines:
            by_colour.setdefault(ln.get_color(), []).append(ln.get_linestyle())
        assert sorted(map(sorted, by_colour.values())) == [["-", "--"]] * 3   # each hue: one X, one NA-X


def test_curves_facet_by_family():
    fig = plots.anytime_curves_figure(grid_curves(), facet="family")
    axes = _visible(fig)
    assert [ax.get_title() for ax in axes] == ["searcher: bo", "searcher: rea", "searcher: rs"]
    for ax in axes:
        assert [ln.get_linestyle() for ln in ax.lines] == ["--", "-", "-", "-"]
        assert len({ln.get_color() for ln in ax.lines}) == 4            # X in black, one colour per setting


def test_curves_bands_are_clipped_to_the_metric_range_and_the_legend_sits_outside():
    fig = plots.anytime_curves_figure(grid_curves(), facet="setting")
    for ax in _visible(fig):
        for band in ax.collections:
            ys = np.concatenate([p.vertices[:, 1] for p in band.get_paths()])
            assert ys.max() <= 100.0 and ys.min() >= 0.0
        assert ax.get_ylim()[1] <= 100.0
    fig.canvas.draw()
    legend = fig.legends[0].get_window_extent()
    right = max(ax.get_window_extent().x1 for ax in _visible(fig))
    assert legend.x0 >= right                                           # right of every panel
    assert len(fig.legends[0].get_texts()) == 3 + 9                    # 3 X + 9 NA-X lines, each once
    with pytest.raises(ConfigError, match="facet"):
        plots.anytime_curves_figure(grid_curves(), facet="dataset")


def na_diffs() -> pd.DataFrame:
    g = np.random.default_rng(1)
    rows = []
    for ds, report in (("cifar10", "cifar10/ori-test"), ("cifar100", "cifar100/x-test")):
        for na in ("na-rs", "na-rea"):
            for st in ("default", "k4"):
                rows.append(pd.DataFrame({"protocol": "nats", "dataset": ds, "report": report, "setting": st,
                                          "na": na, "base": na[3:], "base_setting": "default", "seed": range(20),
                                          "diff": g.normal(0.3 if st == "k4" else -1.0, 0.5, 20)}))
    return pd.concat(rows, ignore_index=True)


def test_na_gain_figure_shows_mean_and_ci_per_pair(tmp_path):
    from nabench.analysis.stats import mean_ci

    d = na_diffs()
    fig = plots.na_gain_figure(d)
    axes = _visible(fig)
    assert len(axes) == 2
    ax = axes[0]
    assert ax.get_title() == "nats / search cifar10\nreport cifar10/ori-test"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["na-rea vs rea", "na-rea vs rea", "na-rs vs rs", "na-rs vs rs"]
    assert any(ln.get_xdata()[0] == 0.0 and ln.get_xdata()[-1] == 0.0 for ln in ax.lines)   # the no-gain line
    bars = [c for c in ax.containers]
    assert len(bars) == 4
    first = d[(d["dataset"] == "cifar10") & (d["na"] == "na-rea") & (d["setting"] == "default")]["diff"].to_numpy()
    m, lo, hi = mean_ci(first)
    x = bars[0].lines[0].get_xdata()[0]
    seg = bars[0].lines[2][0].get_segments()[0]
    assert x == pytest.approx(m) and sorted(seg[:, 0]) == pytest.approx([lo, hi])
    assert sum(len(c.get_offsets()) for c in ax.collections if hasattr(c, "get_offsets")) >= 80   # every seed
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["default", "k4"]
    assert _written(plots.save_figure(fig, tmp_path, "gain")) == {".png", ".pdf"}
    with pytest.raises(ConfigError, match="paired_differences"):
        plots.na_gain_figure(d.drop(columns="diff"))


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
    assert "the architecture itself" in fig.legends[0].get_texts()[0].get_text()   # the outline, explained
    assert _written(plots.save_figure(fig, tmp_path, "nbh")) == {".png", ".pdf"}
    fixed = plots.neighborhood_heatmap(grid, ops, title="x", vmin=-10.0, vmax=100.0)
    assert fixed.axes[0].images[0].get_clim() == (-10.0, 100.0)
    assert fig.axes[0].images[0].get_clim() == (0.0, 29.0)
    with pytest.raises(ConfigError, match="vmin < vmax"):
        plots.neighborhood_heatmap(grid, ops, title="x", vmin=5.0, vmax=5.0)
    with pytest.raises(ConfigError, match="6 edges x 5 ops"):
        plots.neighborhood_heatmap(grid[:5], ops, title="x")
