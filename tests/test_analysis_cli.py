"""`nabench analyze flatness` and `nabench plot ...` write their files and fail cleanly on bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nabench.analysis import io
from nabench.cli import main


def _run(capsys, *argv):
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory, tiny_data_dir):
    """Study tables of cifar10 at both fidelities (point estimates), written by the CLI (synthetic store)."""
    out = tmp_path_factory.mktemp("study")
    for fid, figs in ((12, ["--formats", "png"]), (200, ["--no-figures"])):
        assert main(["analyze", "flatness", "--dataset", "cifar10", "--fidelity", str(fid), "--bootstrap", "0",
                     "--out", str(out), "--data-dir", str(tiny_data_dir), *figs]) == 0
    assert (out / "flatness_cifar10_12_correlations.png").exists()
    assert not list(out.glob("flatness_cifar10_200_*.png"))
    return out


def test_analyze_flatness_writes_table_and_figures(capsys, tmp_path, data_dir):
    rc, out, err = _run(capsys, "analyze", "flatness", "--dataset", "cifar100", "--fidelity", "12", "--bootstrap", "50",
                        "--seed", "3", "--out", tmp_path, "--data-dir", data_dir)
    assert rc == 0, err
    t = pd.read_csv(tmp_path / "flatness_cifar100_12.csv")
    assert len(t) == 2 * 4 * 13  # dedup x subsets x predictors
    assert set(t["subset"]) == {"all", "top10%", "top5%", "top1%"}
    assert (t["kendall_lo"] <= t["kendall_tau"] + 1e-12).all() and (t["kendall_tau"] <= t["kendall_hi"] + 1e-12).all()
    assert "== all cells | all | n=15625" in out and "bootstrap 50 resamples" in out and "seed 3" in out
    for ext in ("png", "pdf"):
        assert (tmp_path / f"flatness_cifar100_12_correlations.{ext}").stat().st_size > 1000


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--dataset", "cifar1000", "--fidelity", "12"], "unknown dataset 'cifar1000'"),
        (["--dataset", "cifar10", "--fidelity", "100"], "--fidelity must be 12 or 200"),
        (["--dataset", "cifar10", "--fidelity", "12", "--bootstrap", "-5"], "--bootstrap must be 0 or more"),
        (["--dataset", "cifar10", "--fidelity", "12", "--bootstrap", "10"], "too few"),
        (["--dataset", "cifar10", "--fidelity", "12", "--formats", "gif"], "--formats"),
    ],
)
def test_analyze_rejects_bad_input_without_writing(capsys, tmp_path, tiny_data_dir, argv, message):
    rc, out, err = _run(capsys, "analyze", "flatness", *argv, "--out", tmp_path / "o", "--data-dir", tiny_data_dir)
    assert rc == 2
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_analyze_flatness_shows_progress_on_stderr(capsys, tmp_path, tiny_data_dir):
    rc, out, err = _run(capsys, "analyze", "flatness", "--dataset", "cifar10", "--fidelity", "200", "--bootstrap", "50",
                        "--out", tmp_path, "--data-dir", tiny_data_dir, "--no-figures")
    assert rc == 0, err
    assert "flatness bootstrap" in err and "predictor" in err and "flatness bootstrap" not in out
    t = pd.read_csv(tmp_path / "flatness_cifar10_200.csv")
    assert t["kendall_lo"].notna().all() and (t["kendall_lo"] < t["kendall_hi"]).all()
    rc, _, err = _run(capsys, "analyze", "flatness", "--dataset", "cifar10", "--fidelity", "200", "--bootstrap", "50",
                      "--out", tmp_path, "--data-dir", tiny_data_dir, "--no-figures", "--quiet")
    assert rc == 0 and "flatness bootstrap" not in err


def test_analyze_without_a_subcommand_prints_help(capsys):
    rc, out, _ = _run(capsys, "analyze")
    assert rc == 2 and "flatness" in out


def test_missing_store_is_a_clear_error(capsys, tmp_path):
    rc, _, err = _run(capsys, "analyze", "flatness", "--dataset", "cifar10", "--fidelity", "12",
                      "--data-dir", tmp_path / "nothing", "--out", tmp_path / "o")
    assert rc == 2 and "no nabench store" in err and "nabench data fetch" in err
    assert not (tmp_path / "o").exists()


def test_plot_flatness_writes_hexbin_and_heatmap(capsys, tmp_path, data_dir):
    rc, out, err = _run(capsys, "plot", "flatness", "--dataset", "cifar10", "--fidelity", "200", "--out", tmp_path,
                        "--data-dir", data_dir, "--formats", "png")
    assert rc == 0, err
    assert (tmp_path / "flatness_cifar10_200_hexbin.png").stat().st_size > 1000
    assert (tmp_path / "flatness_cifar10_200_neighborhood_6111.png").exists()  # best by 200-epoch x-valid
    arch = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
    rc, _, err = _run(capsys, "plot", "flatness", "--dataset", "cifar10", "--fidelity", "12", "--arch", arch,
                      "--out", tmp_path, "--data-dir", data_dir, "--formats", "png")
    assert rc == 0, err
    assert len(list(tmp_path.glob("flatness_cifar10_12_neighborhood_*.png"))) == 1


def test_plot_flatness_bad_arch_writes_nothing(capsys, tmp_path, tiny_data_dir):
    for arch in ("99999", "resnet"):
        rc, _, err = _run(capsys, "plot", "flatness", "--dataset", "cifar10", "--fidelity", "12", "--arch", arch,
                          "--out", tmp_path / "o", "--data-dir", tiny_data_dir)
        assert rc == 2 and "Traceback" not in err and ("out of range" in err or "neither an index" in err)
    assert not (tmp_path / "o").exists()


def test_plot_correlations_reads_the_study_tables(capsys, tmp_path, study_dir):
    rc, out, err = _run(capsys, "plot", "correlations", study_dir, "--out", tmp_path, "--formats", "png")
    assert rc == 0, err
    assert (tmp_path / "flatness_correlations_all.png").stat().st_size > 1000
    rc, _, err = _run(capsys, "plot", "correlations", study_dir, "--subset", "top5%", "--dedup", "--out", tmp_path,
                      "--formats", "png")
    assert rc == 0, err
    assert (tmp_path / "flatness_correlations_top5pct_dedup.png").exists()
    rc, _, err = _run(capsys, "plot", "correlations", study_dir, "--subset", "top3%")
    assert rc == 2 and "top3%" in err
    rc, _, err = _run(capsys, "plot", "correlations", tmp_path / "empty")
    assert rc == 2 and "not a folder" in err
    (tmp_path / "empty").mkdir()
    rc, _, err = _run(capsys, "plot", "correlations", tmp_path / "empty")
    assert rc == 2 and "nabench analyze flatness" in err


def test_plot_curves_from_a_results_table(capsys, tmp_path):
    g = np.random.default_rng(0)
    rows = []
    for k, name in enumerate(("rs", "na-rs")):
        for s in range(5):
            t = np.cumsum(g.uniform(100, 300, 20))
            rows.append(pd.DataFrame({"protocol": "nb201", "dataset": "cifar10", "searcher": name, "setting": "default",
                                      "run": s, "seed": s, "time": t, "queries": np.arange(1, 21),
                                      "incumbent_test": np.maximum.accumulate(g.normal(93, 0.5, 20))}))
    pd.concat(rows).to_csv(tmp_path / "evaluations.csv.gz", index=False)
    pd.DataFrame({"na": ["na-rs"], "base": ["rs"], "diff_mean": [0.1], "wilcoxon_p": [0.5]}).to_csv(
        tmp_path / "paired.csv", index=False)
    rc, out, err = _run(capsys, "plot", "curves", tmp_path, "--formats", "png")
    assert rc == 0, err
    assert (tmp_path / "figures" / "anytime_time_nb201_cifar10.png").stat().st_size > 1000
    assert (tmp_path / "figures" / "final_accuracy_nb201_cifar10.png").stat().st_size > 1000
    assert "== nb201 / cifar10: final incumbent test accuracy" in out and "paired NA-X vs X" in out
    table = out.split("\n")
    assert [ln.split()[0] for ln in table[2:4]] == ["rs", "na-rs"]
    rc, _, err = _run(capsys, "plot", "curves", tmp_path, "--x", "queries", "--linear", "--out", tmp_path / "q",
                      "--formats", "png")
    assert rc == 0, err
    assert (tmp_path / "q" / "anytime_queries_nb201_cifar10.png").exists()
    rc, _, err = _run(capsys, "plot", "curves", tmp_path / "figures")
    assert rc == 2 and "no evaluations.csv.gz" in err


def test_write_csv_keeps_the_old_file_when_writing_fails(tmp_path, monkeypatch):
    path = io.write_csv(pd.DataFrame({"a": [1, 2]}), tmp_path / "t.csv")
    before = path.read_bytes()

    def broken(self, f, **kw):
        f.write("a\n9\n")
        raise KeyboardInterrupt

    monkeypatch.setattr(pd.DataFrame, "to_csv", broken)
    with pytest.raises(KeyboardInterrupt):
        io.write_csv(pd.DataFrame({"a": [3]}), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["t.csv"]


def test_analysis_and_its_commands_import_without_torch():
    import subprocess
    import sys

    code = ("import sys; import nabench.analysis.flatness, nabench.analysis.plots, nabench.analysis.curves, "
            "nabench.commands.analyze, nabench.commands.plot; print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def _results_folder(path, g):
    """runs.csv and paired.csv as the runner writes them: rs / na-rs (default, k4), 8 seeds, 2 reports."""
    rows = []
    shared = g.normal(0, 0.3, size=(2, 8))      # rs and na-rs [k4] differ by exactly 0.5 on every seed
    for searcher, setting, shift in (("rs", "default", 0.0), ("na-rs", "default", -1.0), ("na-rs", "k4", 0.5)):
        for r, report in enumerate(("cifar10/ori-test", "cifar100/x-test")):
            for seed in range(8):
                noise = g.normal(0, 0.3) if setting == "default" and searcher != "rs" else shared[r, seed]
                rows.append({"protocol": "nb201", "dataset": "cifar10", "searcher": searcher, "setting": setting,
                             "run": seed, "seed": seed, "report": report, "test_acc": 90 + shift + noise})
    runs = pd.DataFrame(rows)
    runs.to_csv(path / "runs.csv", index=False)
    from nabench.experiments.summary import paired

    paired(runs).to_csv(path / "paired.csv", index=False)
    return runs


def test_plot_na_gain_draws_and_prints_the_paired_differences(capsys, tmp_path):
    runs = _results_folder(tmp_path, np.random.default_rng(0))
    rc, out, err = _run(capsys, "plot", "na-gain", tmp_path, "--formats", "png")
    assert rc == 0, err
    assert (tmp_path / "figures" / "na_gain.png").stat().st_size > 1000
    line = next(ln for ln in out.splitlines() if "na-rs" in ln and "default" in ln and "cifar10/ori" in ln)
    base = runs[(runs.searcher == "rs") & (runs.report == "cifar10/ori-test")].set_index("seed")["test_acc"]
    na = runs[(runs.searcher == "na-rs") & (runs.setting == "default") & (runs.report == "cifar10/ori-test")]
    gain = (na.set_index("seed")["test_acc"] - base).mean()
    assert f"{gain:+.3f}" in line.split()
    rc, _, err = _run(capsys, "plot", "na-gain", tmp_path / "nothing")
    assert rc == 2 and "runs.csv" in err


def test_paired_table_prints_a_dash_where_no_test_applies(capsys, tmp_path):
    from nabench.commands.plot import format_paired_csv

    _results_folder(tmp_path, np.random.default_rng(1))
    table = pd.read_csv(tmp_path / "paired.csv")
    text = format_paired_csv(table)
    rows = [ln.split() for ln in text.splitlines()[1:]]                  # protocol dataset report setting ...
    k4 = [r for r in rows if r[3] == "k4"]
    assert k4 and all(r[-5:-3] == ["-", "-"] for r in k4)  # se = 0 (same difference on every seed): no p-value
    default = [r for r in rows if r[3] == "default"]
    assert default and all("e-" in r[-5] or "e+" in r[-5] for r in default)  # p in scientific notation


def test_plot_options_facet_and_colour_range_parse():
    from nabench.cli import build_parser

    args = build_parser("plot").parse_args(["plot", "curves", "R", "--facet", "family"])
    assert args.facet == "family"
    args = build_parser("plot").parse_args(["plot", "flatness", "--dataset", "cifar10", "--fidelity", "12",
                                            "--vmin", "60", "--vmax", "95"])
    assert (args.vmin, args.vmax) == (60.0, 95.0)
