"""The spaces on the command line: `query --space 301 [--na]`, `run --space 301`, the one ARCH parser."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nabench.cli import main
from nabench.errors import ConfigError


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_query_nb301_json_with_na(data_dir, capsys):
    import nabench

    code, out, _ = run(capsys, "query", "--space", "301", "darts-v2", "--fidelity", "98", "--json", "--na",
                       "--data-dir", str(data_dir))
    ans = json.loads(out)
    assert code == 0 and ans["accuracy"] == pytest.approx(92.91, abs=0.01) and ans["train_time_s"] > 1000
    assert ans["n_neighbors"] == 120 and ans["split"] == "valid" and "no test split" in ans["note"]
    b = nabench.load("nb301", data_dir)
    members = [ans["index"]] + b.space.neighbors(ans["index"]).tolist()
    assert ans["na_mean"] == pytest.approx(float(np.mean(b.predict(members, fidelity=98)[0])))
    code, text, _ = run(capsys, "query", "--space", "darts", ans["arch"], "--fidelity", "12", "--data-dir",
                        str(data_dir))
    assert code == 0 and "surrogate validation prediction" in text and "12 epochs" in text


def test_query_nb201_na_and_seed_counts(data_dir, bench, capsys):
    code, out, _ = run(capsys, "query", "6111", "--dataset", "cifar10", "--split", "ori-test", "--fidelity", "200",
                       "--na", "--json", "--data-dir", str(data_dir))
    ans = json.loads(out)
    members = [6111] + bench.space.neighbors(6111).tolist()
    assert code == 0 and ans["n_neighbors"] == 24 and isinstance(ans["n_seeds"], int) and ans["n_seeds"] == 3
    assert ans["na_mean"] == pytest.approx(float(bench.accuracy(members, dataset="cifar10", split="ori-test",
                                                                 fidelity=200).mean()))
    code, text, _ = run(capsys, "query", "6111", "--dataset", "cifar10", "--split", "ori-test", "--fidelity", "200",
                        "--data-dir", str(data_dir))
    assert "(mean over 3 seeds)" in text
    one = int(np.flatnonzero(bench.n_seeds(dataset="cifar10", fidelity=200) == 1)[0]) \
        if (bench.n_seeds(dataset="cifar10", fidelity=200) == 1).any() else None
    if one is not None:
        _, text, _ = run(capsys, "query", str(one), "--dataset", "cifar10", "--split", "ori-test", "--fidelity",
                         "200", "--data-dir", str(data_dir))
        assert "mean over" not in text


@pytest.mark.parametrize("argv,fragment", [
    (["--space", "301", "darts-v9", "--fidelity", "98"], "neither a named genotype"),
    (["--space", "301", "darts-v2", "--fidelity", "99"], "<= 98"),
    (["--space", "301", "darts-v2", "--fidelity", "98", "--split", "test"], "no test split"),
    (["6111", "--fidelity", "200"], "--dataset and --split required"),
    (["--space", "42", "1", "--fidelity", "12"], "unknown space"),
])
def test_query_mistakes_are_one_line(data_dir, capsys, argv, fragment):
    code, _, err = run(capsys, "query", *argv, "--data-dir", str(data_dir))
    assert code == 2 and fragment in err and err.count("\n") == 1


def test_parse_arch_is_shared(bench, data_dir):
    """One ARCH parser: the index, the string and the op tuple name the same NB201 cell."""
    import nabench
    from nabench.spaces import benchmark_name, parse_arch

    s = bench.space
    assert parse_arch(s, " 6111 ") == parse_arch(s, bench.arch_str(6111)) == 6111
    nb301 = nabench.load("nb301", data_dir)
    assert parse_arch(nb301.space, "darts-v1") == nb301.space.parse(nb301.space.format(parse_arch(nb301.space,
                                                                                                  "darts-v1")))
    assert [benchmark_name(x) for x in ("201", "301", "darts", "sss")] == ["nb201", "nb301", "nb301", "nats-sss"]
    with pytest.raises(ConfigError, match="empty"):
        parse_arch(s, "  ")


def test_run_space_301(data_dir, tmp_path, capsys):
    out = tmp_path / "out"
    code, text, _ = run(capsys, "run", "--space", "301", "--searcher", "rs,na-rs", "--runs", "3", "--out", str(out),
                        "--data-dir", str(data_dir), "--no-progress")
    assert code == 0 and "no test split: surrogate validation prediction" in text and "na-rs/default vs rs" in text
    import pandas as pd

    runs = pd.read_csv(out / "runs.csv")
    assert set(runs["protocol"]) == {"nb301"} and set(runs["report"]) == {"cifar10/valid"}
    assert (runs["queries"] <= 100).all() and runs["final_arch"].dtype == np.int64
    import nabench

    b = nabench.load("nb301", data_dir)
    acc = b.accuracy(runs["final_arch"].to_numpy(), dataset="cifar10", split="valid", fidelity=98)
    assert np.allclose(acc, runs["test_acc"], atol=1e-6)
    code, _, err = run(capsys, "run", "--space", "301", "--protocol", "nats", "--out", str(tmp_path / "x"),
                       "--data-dir", str(data_dir))
    assert code == 2 and "does not apply" in err


def test_sss_space_is_searchable(tmp_path, capsys):
    """`--space sss` once a size-space store exists (a synthetic one here: the real table is not available)."""
    from test_space_contract import make_sss_store

    root = make_sss_store(tmp_path / "data")
    code, out, _ = run(capsys, "query", "--space", "sss", "8:16:24:32:64", "--dataset", "cifar100", "--split",
                       "x-test", "--fidelity", "90", "--na", "--json", "--data-dir", str(root))
    ans = json.loads(out)
    assert code == 0 and ans["arch"] == "8:16:24:32:64" and ans["n_neighbors"] == 35
    out_dir = tmp_path / "runs"
    code, text, _ = run(capsys, "run", "--space", "sss", "--searcher", "rea,na-rea", "--runs", "3", "--dataset",
                        "cifar100", "--out", str(out_dir), "--data-dir", str(root), "--no-progress")
    assert code == 0 and "sss / search cifar100 / report cifar100/x-test" in text
    import pandas as pd

    runs = pd.read_csv(out_dir / "runs.csv")
    assert set(runs["protocol"]) == {"sss"} and (runs["final_arch"] < 8**5).all() and len(runs) == 6
