"""The runner: identical results in and across processes, resume after a kill, tidy tables, the CLI."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from nabench import cli
from nabench.errors import ConfigError, IntegrityError
from nabench.experiments import grid_from_dict, run_grid
from nabench.experiments.store import ResultsStore
from nabench.experiments.summary import EVALUATION_COLUMNS, RUN_COLUMNS
from nabench.search import registry
from nabench.search.synthetic import SyntheticBenchmark

REPO = Path(__file__).resolve().parents[1]


def grid(searchers, runs=3, protocol="nb201", settings=None, datasets=("cifar10",)):
    return grid_from_dict({"runs": runs, "seed": 11, "settings": settings or {},
                           "experiment": [{"protocol": protocol, "searchers": list(searchers),
                                           "datasets": list(datasets)}]})


def test_identical_across_processes(tmp_path, bench):
    g = grid(registry.NAMES, runs=3)
    a = run_grid(g, tmp_path / "a", bench=bench, workers=1, progress=False)
    b = run_grid(g, tmp_path / "b", bench=bench, workers=2, progress=False)
    assert a.ran == b.ran == 30
    for name in ("runs.csv", "evaluations.csv.gz", "summary.csv", "paired.csv"):
        assert (a.out / name).read_bytes() == (b.out / name).read_bytes(), name
    ra = pd.read_csv(a.out / "runs.csv")
    assert len(ra) == 30 * 3 and ra["seed"].unique().tolist() == [11, 12, 13] and "wall_s" not in ra
    ta = pd.read_csv(a.out / "timings.csv")
    assert len(ta) == 30 and (ta["wall_s"] > 0).all() and ta[["searcher", "run"]].equals(ra[ra.report == "cifar10/ori-test"][["searcher", "run"]].reset_index(drop=True))


def test_tables_are_consistent(tmp_path, bench):
    g = grid(["rs", "na-rs", "ls"], runs=6)
    res = run_grid(g, tmp_path / "o", bench=bench, workers=1, progress=False)
    ev = pd.read_csv(tmp_path / "o" / "evaluations.csv.gz")
    runs = pd.read_csv(tmp_path / "o" / "runs.csv")
    assert list(ev.columns) == list(EVALUATION_COLUMNS) and list(runs.columns) == list(RUN_COLUMNS)
    test10 = bench.accuracy(np.arange(bench.n_archs), dataset="cifar10", split="ori-test", fidelity=200)
    test100 = bench.accuracy(np.arange(bench.n_archs), dataset="cifar100", split="x-test", fidelity=200)
    assert np.allclose(ev["incumbent_test"], test10[ev["incumbent"]])
    for (s, r), e in ev.groupby(["searcher", "run"]):
        assert (np.diff(e["time"]) >= 0).all() and np.array_equal(e["queries"], np.cumsum(e["charged"]))
        assert (e["incumbent_signal"].cummax() == e["incumbent_signal"]).all()
        assert e["time"].iloc[-1] <= 12_000  # nb201 drops the crossing evaluation
        last = runs[(runs.searcher == s) & (runs.run == r)]
        assert (last["final_arch"] == e["incumbent"].iloc[-1]).all()
        assert np.isclose(last[last.report == "cifar100/x-test"]["test_acc"].iloc[0], test100[e["incumbent"].iloc[-1]])
    s = res.summary
    got = s[(s.searcher == "ls") & (s.report == "cifar10/ori-test")].iloc[0]
    ls = runs[(runs.searcher == "ls") & (runs.report == "cifar10/ori-test")]["test_acc"]
    assert got["n"] == 6 and np.isclose(got["mean"], ls.mean()) and np.isclose(got["std"], ls.std(ddof=1))
    p = res.paired[res.paired.report == "cifar10/ori-test"].iloc[0]
    na = runs[(runs.searcher == "na-rs") & (runs.report == "cifar10/ori-test")].set_index("seed")["test_acc"]
    rs = runs[(runs.searcher == "rs") & (runs.report == "cifar10/ori-test")].set_index("seed")["test_acc"]
    assert np.isclose(p["diff_mean"], (na - rs).mean())
    assert np.isclose(p["t_p"], stats.ttest_rel(na, rs.loc[na.index]).pvalue)
    assert np.isclose(p["wilcoxon_p"], stats.wilcoxon(na - rs.loc[na.index]).pvalue)
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert manifest["complete"] and manifest["bench_checksum"] == bench.checksum and manifest["n_runs"] == 18
    assert manifest["cells"]["nb201/cifar10/ls/default"]["task"]["budget"]["limit"] == 12000


def test_rerun_redoes_nothing_and_extends(tmp_path):
    syn = SyntheticBenchmark(seed=3)
    g = grid(["rs", "rea"], runs=4)
    first = run_grid(g, tmp_path, bench=syn, workers=1, progress=False)
    again = run_grid(g, tmp_path, bench=syn, workers=1, progress=False, log=lambda _: None)
    assert (first.ran, again.ran, again.skipped) == (8, 0, 8)
    more = run_grid(grid(["rs", "rea"], runs=6), tmp_path, bench=syn, workers=1, progress=False, log=lambda _: None)
    assert (more.ran, more.skipped) == (4, 8)
    lines = (tmp_path / "runs.jsonl").read_text().splitlines()
    assert len(lines) == 12 and len({(json.loads(x)["cell"], json.loads(x)["run"]) for x in lines}) == 12


def test_changed_cell_or_store_is_refused(tmp_path):
    syn = SyntheticBenchmark(seed=3)
    k2 = {"k2": {"neighborhood": {"k": 2}}}
    g = grid_from_dict({"runs": 2, "settings": k2, "experiment": [{"searchers": ["na-rs"], "settings": ["k2"]}]})
    run_grid(g, tmp_path, bench=syn, workers=1, progress=False)
    k3 = {"k2": {"neighborhood": {"k": 3}}}
    changed = grid_from_dict({"runs": 2, "settings": k3, "experiment": [{"searchers": ["na-rs"], "settings": ["k2"]}]})
    with pytest.raises(ConfigError, match="different settings"):
        run_grid(changed, tmp_path, bench=syn, workers=1, progress=False)
    with pytest.raises(ConfigError, match="benchmark store"):
        run_grid(g, tmp_path, bench=SyntheticBenchmark(seed=4), workers=1, progress=False)
    with ResultsStore(tmp_path):
        with pytest.raises(ConfigError, match="another nabench run"):
            ResultsStore(tmp_path)
    with pytest.raises(ConfigError, match="workers"):
        run_grid(g, tmp_path, bench=syn, workers=0)


TABLES = ("evaluations.csv.gz", "runs.csv", "summary.csv", "paired.csv")


def quiet(g, out, bench, **kw):
    return run_grid(g, out, bench=bench, workers=1, progress=False, log=lambda _: None, **kw)


def test_changed_seed_is_refused_with_or_without_manifest(tmp_path):
    syn = SyntheticBenchmark(seed=3)
    quiet(grid(["rs", "na-rs"], runs=3), tmp_path, syn)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    moved = grid_from_dict({"runs": 3, "seed": 100, "experiment": [{"searchers": ["rs", "na-rs"]}]})
    with pytest.raises(ConfigError, match=r"run 0 of cell nb201/cifar10/rs/default made with seed 11.*same --seed as "
                                          r"before \(11\) or a new --out"):
        quiet(moved, tmp_path, syn)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == before  # nothing written
    (tmp_path / "manifest.json").unlink()  # the run keys in the log still protect the runs
    with pytest.raises(ConfigError, match="made with seed 11"):
        quiet(moved, tmp_path, syn)
    k = grid_from_dict({"runs": 3, "seed": 11, "settings": {"default": {"budget": 6000}},
                        "experiment": [{"searchers": ["rs"]}]})
    with pytest.raises(ConfigError, match="different settings"):
        quiet(k, tmp_path, syn)
    with pytest.raises(ConfigError, match="benchmark store synthetic-3-.* installed store is synthetic-4"):
        quiet(grid(["rs"], runs=3), tmp_path, SyntheticBenchmark(seed=4))


def test_fewer_runs_report_only_the_requested_runs(tmp_path):
    syn = SyntheticBenchmark(seed=3)
    quiet(grid(["rs", "na-rs"], runs=5), tmp_path / "five", syn)
    fewer = quiet(grid(["rs", "na-rs"], runs=3), tmp_path / "five", syn)
    assert fewer.ran == 0 and fewer.skipped == 6 and (fewer.summary["n"] == 3).all()
    assert (pd.read_csv(tmp_path / "five" / "summary.csv")["n"] == 3).all()
    fresh = quiet(grid(["rs", "na-rs"], runs=3), tmp_path / "three", syn)
    assert fresh.ran == 6
    for name in TABLES:  # the 5-run folder read at 3 runs gives the bytes of a fresh 3-run folder
        assert (tmp_path / "five" / name).read_bytes() == (tmp_path / "three" / name).read_bytes(), name


def test_cell_order_follows_the_grid_not_the_folder(tmp_path):
    syn = SyntheticBenchmark(seed=3)
    quiet(grid(["rea"], runs=2), tmp_path / "a", syn)  # rea first in the folder's history
    quiet(grid(["rs", "rea"], runs=2), tmp_path / "a", syn)
    quiet(grid(["rs", "rea"], runs=2), tmp_path / "b", syn)
    for name in TABLES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert pd.read_csv(tmp_path / "a" / "runs.csv")["searcher"].iloc[0] == "rs"


@pytest.mark.parametrize("line,match", [
    (b"[1, 2]\n", "line 3 is not a nabench run record .a JSON list"),
    (b'{"cell": "x", "run": 0}\n', "line 3 is not a nabench run record .missing seed"),
    (b"{not json\n", "line 3 is corrupt"),
])
def test_bad_log_lines_are_one_error(tmp_path, line, match):
    syn = SyntheticBenchmark(seed=3)
    g = grid(["rs"], runs=2)
    quiet(g, tmp_path, syn)
    with open(tmp_path / "runs.jsonl", "ab") as f:
        f.write(line)
    with pytest.raises(IntegrityError, match=match):
        quiet(g, tmp_path, syn)
    rec = json.loads((tmp_path / "runs.jsonl").read_text().splitlines()[0])
    rec["raw"] = rec["raw"][:-1]  # one list shorter than the others
    (tmp_path / "runs.jsonl").write_text(json.dumps(rec) + "\n")
    with pytest.raises(IntegrityError, match="line 1 is not a nabench run record .field 'raw' is not a list of numbers of one length"):
        quiet(g, tmp_path, syn)


def test_manifest_that_is_not_one_is_refused(tmp_path):
    syn = SyntheticBenchmark(seed=3)
    (tmp_path / "manifest.json").write_text("[1, 2, 3]")
    with pytest.raises(IntegrityError, match="not a nabench results manifest"):
        quiet(grid(["rs"], runs=1), tmp_path, syn)
    (tmp_path / "manifest.json").write_bytes(b"\xff\xfe")
    with pytest.raises(IntegrityError, match="not a readable JSON manifest"):
        quiet(grid(["rs"], runs=1), tmp_path, syn)


def test_signal_the_store_lacks_fails_before_anything_is_written(tmp_path, data_dir, capsys):
    out = tmp_path / "o"
    rc = cli.main(["run", "--signal", "random-seed", "--fidelity", "12", "--runs", "1", "--out", str(out),
                   "--data-dir", str(data_dir), "--no-progress"])
    cap = capsys.readouterr()
    assert rc == 2 and "random-seed" in cap.err and cap.out == "" and not out.exists()


def test_cli_default_run(tmp_path, data_dir, capsys):
    out = tmp_path / "o"
    rc = cli.main(["run", "--space", "201", "--runs", "3", "--out", str(out), "--data-dir", str(data_dir),
                   "--no-progress"])
    text = capsys.readouterr().out
    assert rc == 0 and "na-rs" in text and "±" in text and "NA-X vs X" in text
    summary = pd.read_csv(out / "summary.csv")
    assert set(summary["searcher"]) == {"rs", "na-rs"} and (summary["n"] == 3).all()
    assert len(summary) == 6  # 2 searchers x 3 report targets


def test_cli_flags_make_a_custom_setting(tmp_path, data_dir, capsys):
    out = tmp_path / "o"
    rc = cli.main(["run", "--protocol", "queries", "--dataset", "cifar100", "--searcher", "na-rea,rea", "--runs", "2",
                   "--k", "4", "--accounting", "candidate", "--param", "rea.population=5", "--out", str(out),
                   "--data-dir", str(data_dir), "--no-progress"])
    assert rc == 0
    cells = json.loads((out / "manifest.json").read_text())["cells"]
    c = cells["queries/cifar100/na-rea/custom"]
    assert c["neighborhood"]["k"] == 4 and c["accounting"] == "candidate" and c["params"]["population"] == 5
    runs = pd.read_csv(out / "runs.csv")
    assert (runs["queries"] <= 150).all() and set(runs["report"]) == {"cifar100/x-test"}
    capsys.readouterr()


@pytest.mark.parametrize("argv,match", [
    (["run", "--searcher", "gradient"], "unknown searcher 'gradient'"),
    (["run", "--config", "nope.toml"], "does not exist"),
    (["run", "--config", "x.toml", "--searcher", "rs"], "cannot be combined with --config"),
    (["run", "--dataset", "cifar100"], "protocol nats"),
    (["run", "--param", "rea.population"], "SEARCHER.NAME=VALUE"),
    (["run", "--searcher", "na-rs", "--radius", "5"], "radius"),
    (["run", "--budget", "10"], "raise the budget"),
])
def test_cli_errors_are_one_line(tmp_path, data_dir, capsys, argv, match):
    rc = cli.main(argv + ["--out", str(tmp_path / "o"), "--data-dir", str(data_dir), "--runs", "1", "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.startswith("nabench run: error:") and "\n" not in err
    assert re.search(match, err)
