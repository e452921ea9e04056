"""Every built-in searcher's hyperparameters are bounded: a value out of range is one ConfigError naming the
searcher, the parameter and the accepted range, before any memory is allocated for it (``bo.n_random=10**9``
used to hang building a pool of 10^9 cells)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from nabench import cli
from nabench.errors import ConfigError
from nabench.search import registry
from nabench.search.synthetic import SyntheticBenchmark

#: (searcher, params, message regex); the bound just inside each range is accepted (see test_edges_accepted)
CASES: list[tuple[str, dict, str]] = [
    ("bo", {"n_random": 10**9}, r"BO n_random must be an integer <= 100000"),
    ("bo", {"n_random": 100_001}, r"BO n_random must be an integer <= 100000"),
    ("bo", {"n_random": -1}, r"BO n_random must be an integer >= 0"),
    ("bo", {"n_init": 0}, r"BO n_init must be an integer >= 1"),
    ("bo", {"n_init": 10_001}, r"BO n_init must be an integer <= 10000"),
    ("bo", {"n_parents": 10**6}, r"BO n_parents must be an integer <= 10000"),
    ("bo", {"n_parents": 2.0}, r"BO n_parents must be an integer"),
    ("rea", {"population": 10**7}, r"REA population must be an integer <= 100000"),
    ("rea", {"population": 0}, r"REA population must be an integer >= 1"),
    ("rea", {"tournament": 10**9}, r"REA tournament must be an integer <= 100000"),
    ("rea", {"tournament": True}, r"REA tournament must be an integer"),
    ("ls", {"n_init": 10**6}, r"LS n_init must be an integer <= 100000"),
    ("ls", {"n_init": 0}, r"LS n_init must be an integer >= 1"),
    ("reinforce", {"lr": 1e9}, r"REINFORCE lr must be <= 100"),
    ("reinforce", {"lr": 0}, r"REINFORCE lr must be > 0"),
    ("reinforce", {"lr": float("nan")}, r"REINFORCE lr must be a finite number"),
    ("reinforce", {"momentum": 1.0}, r"REINFORCE momentum must be < 1"),
    ("reinforce", {"momentum": -0.1}, r"REINFORCE momentum must be >= 0"),
]
OPTUNA_CASES = [("optuna-tpe", {"n_startup_trials": 10**7}, r"optuna-tpe n_startup_trials must be an integer <= 100000"),
                ("optuna-tpe", {"n_startup_trials": -1}, r"optuna-tpe n_startup_trials must be an integer >= 0"),
                ("optuna-gp", {"n_startup_trials": 10**9}, r"optuna-gp n_startup_trials must be an integer <= 100000")]
EDGES = [("bo", {"n_random": 100_000, "n_init": 10_000, "n_parents": 10_000}), ("bo", {"n_random": 0}),
         ("rea", {"population": 100_000, "tournament": 100_000}), ("ls", {"n_init": 100_000}),
         ("reinforce", {"lr": 100.0, "momentum": 0.0})]


def _space():
    return SyntheticBenchmark(seed=0).space


@pytest.mark.parametrize("name,params,match", CASES, ids=[f"{c[0]}-{next(iter(c[1]))}-{i}" for i, c in enumerate(CASES)])
def test_out_of_range_is_a_config_error(name, params, match):
    with pytest.raises(ConfigError, match=match) as info:
        registry.make(name, _space(), np.random.default_rng(0), params)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("name,params,match", OPTUNA_CASES)
def test_optuna_bounds(name, params, match):
    pytest.importorskip("optuna")
    with pytest.raises(ConfigError, match=match):
        registry.make(name, _space(), np.random.default_rng(0), params)


@pytest.mark.parametrize("name,params", EDGES)
def test_edges_accepted(name, params):
    s = registry.make(name, _space(), np.random.default_rng(0), params)
    for k, v in params.items():
        assert getattr(s, k) == v


def test_cli_param_out_of_range_is_one_line(tmp_path, data_dir, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = ["run", "--runs", "1", "--no-progress", "--data-dir", str(data_dir), "--out", "o", "--searcher", "bo",
            "--param", "bo.n_random=1000000000"]
    try:
        rc = cli.main(argv)
    except SystemExit as e:
        rc = e.code
    cap = capsys.readouterr()
    lines = cap.err.strip().splitlines()
    assert rc == 2 and len(lines) == 1 and "Traceback" not in cap.err, cap.err
    assert re.search(r"BO n_random must be an integer <= 100000, got 1000000000", lines[0]), lines[0]
    assert not (tmp_path / "o").exists()
