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
from nabench.errors import ConfigError
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


def without_wall(df: pd.DataFrame) -> pd.DataFrame:
    return df.drop(columns=["wall_s"])


def test_identical_across_processes(tmp_path, bench):
    g = grid(registry.NAMES, runs=3)
    a = run_grid(g, tmp_path / "a", bench=bench, workers=1, progress=False)
    b = run_grid(g, tmp_path / "b", bench=bench, workers=2, progress=False)
    assert a.ran == b.ran == 30
    ra, rb = (pd.read_csv(r.out / "runs.csv") for r in (a, b))
    pd.testing.assert_frame_equal(without_wall(ra), without_wall(rb))
    ea, eb = (pd.read_csv(r.out / "evaluations.csv.gz") for r in (a, b))
    pd.testing.assert_frame_equal(ea, eb)
    assert len(ra) == 30 * 3 and ra["seed"].unique().tolist() == [11, 12, 13]


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


def _lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def test_killed_grid_resumes(tmp_path, data_dir, bench):
    """Kill a grid (the whole process group) mid-way, tear the log's last line, rerun: same results, once each."""
    cfg = tmp_path / "grid.toml"
    cfg.write_text('runs = 24\nseed = 5\n[[experiment]]\nprotocol = "nb201"\nsearchers = ["bo", "na-ls", "rs"]\n')
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "nabench.cli", "run", "--config", str(cfg), "--out", str(out),
           "--data-dir", str(data_dir), "--workers", "2", "--no-progress"]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, start_new_session=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while _lines(out / "runs.jsonl") < 6 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done = _lines(out / "runs.jsonl")
    manifest = json.loads((out / "manifest.json").read_text())
    assert 6 <= done < 72 and not manifest["complete"] and not (out / "runs.csv").exists()
    with open(out / "runs.jsonl", "ab") as f:  # a write torn by the kill
        f.write(b'{"cell":"nb201/cifar10/bo/default","run":23,"seed":28,"arch":[1,2')
    res = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert f"{done} finished runs kept" in res.stdout + res.stderr
    recs = [json.loads(x) for x in (out / "runs.jsonl").read_text().splitlines()]
    assert len(recs) == 72 and len({(r["cell"], r["run"]) for r in recs}) == 72
    ref = run_grid(grid_from_dict({"runs": 24, "seed": 5, "experiment": [
        {"protocol": "nb201", "searchers": ["bo", "na-ls", "rs"]}]}), tmp_path / "ref", bench=bench, workers=1,
        progress=False)
    pd.testing.assert_frame_equal(without_wall(pd.read_csv(out / "runs.csv")),
                                  without_wall(pd.read_csv(ref.out / "runs.csv")))


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
