"""Benchmark plugins: ``nabench.register_benchmark`` and the ``nabench.benchmarks`` entry-point group.

A registered benchmark works with ``nabench.load(name)``, ``nabench run --space NAME`` with its protocols,
TOML grids and spawned workers. The example package ``examples/plugin_benchmark`` (a 1,024-arch chain space
with made-up tables) is pip-installed into a folder of its own (``pip install --target``: the shared virtual
environment is never changed) and run in a TOML grid with an NA searcher in fresh processes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import nabench
from nabench import benchmarks
from nabench.errors import ConfigError
from nabench.experiments import grid_from_dict, run_grid
from nabench.search import Budget, make_search_task, protocols
from nabench.search.protocols import Preset
from nabench.spaces import SPACE_BENCHMARK, benchmark_name
from nabench.spaces.base import TASKS, Benchmark, SearchSpace, Task
from plugin_install import install_example, run_grid_with_1_and_2_workers

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "plugin_benchmark"
TABLES = ("evaluations.csv.gz", "runs.csv", "summary.csv", "paired.csv")


@pytest.fixture
def toy(monkeypatch):
    """The example's module, registered at run time for the test and removed after it."""
    monkeypatch.syspath_prepend(str(EXAMPLE))
    import nabench_toy

    p = nabench_toy.PLUGIN
    nabench.register_benchmark(p.name, p.factory, tasks=p.tasks, protocols=p.protocols, space_aliases=p.space_aliases,
                               replace=True)
    yield nabench_toy
    benchmarks.unregister("toy")
    assert "toy" not in TASKS and "chain" not in SPACE_BENCHMARK and "toy" not in protocols.PROTOCOL_BENCHMARK


def test_registered_benchmark_everywhere(toy, tmp_path):
    bench = nabench.load("toy")
    assert isinstance(bench, Benchmark) and isinstance(bench.space, SearchSpace) and bench.tasks is TASKS["toy"]
    assert benchmark_name("toy") == benchmark_name("chain") == "toy"
    assert protocols.BENCHMARK_PROTOCOLS["toy"] == ("toy", "toy-time") and "toy-time" in protocols.PROTOCOLS
    t = make_search_task(benchmark="toy")
    assert (t.protocol, t.dataset, t.split, t.fidelity, t.budget.kind, t.budget.limit) == (
        "toy", "toy", "x-valid", 1, "queries", 40.0)
    assert [(r.dataset, r.split, r.fidelity) for r in t.reports] == [("toy", "x-test", 10)]
    assert make_search_task("toy-time").budget.kind == "time"
    g = grid_from_dict({"runs": 3, "seed": 4, "settings": {"default": {"neighborhood": {"k": 4}}},
                        "experiment": [{"protocol": "toy", "searchers": ["rea", "na-rea", "bo", "na-reinforce"]}]})
    assert {c.dataset for c in g.cells} == {"toy"} and g.cells[1].neighborhood.k == 4
    one = run_grid(g, tmp_path / "one", bench=bench, workers=1, progress=False, log=lambda _: None)
    two = run_grid(g, tmp_path / "two", bench=bench, workers=2, progress=False, log=lambda _: None)  # spawned
    assert one.ran == two.ran == 12
    for name in TABLES:
        assert (one.out / name).read_bytes() == (two.out / name).read_bytes(), name
    runs = pd.read_csv(one.out / "runs.csv")
    best = bench.accuracy(np.arange(1024), dataset="toy", split="x-test", fidelity=10).max()
    truth = bench.accuracy(runs["final_arch"].to_numpy(), dataset="toy", split="x-test", fidelity=10)
    assert np.allclose(runs["test_acc"], truth) and (runs["test_acc"] <= best).all() and (runs["report"] == "toy/x-test").all()


def test_bad_registrations_are_one_line(toy):
    task = Task("mine", "t", "t", "x-valid", "t", "x-test", fidelities=(1,), search_fidelity=1, report_fidelity=1)
    cases = [
        (dict(name="nb201", factory=toy.load, tasks=toy.TASKS), "not one of the built-in benchmarks"),
        (dict(name="Mine", factory=toy.load, tasks={"t": task}), "lowercase"),
        (dict(name="mine", factory=5, tasks={"t": task}), "must be callable"),
        (dict(name="mine", factory=toy.load, tasks={"t": TASKS["nb201"]["cifar10"]}), "benchmark='mine'"),
        (dict(name="mine", factory=toy.load, tasks={}), "needs tasks"),
        (dict(name="mine", factory=toy.load, tasks={"t": task}, space_aliases=("301",)), "already names benchmark nb301"),
        (dict(name="mine", factory=toy.load, tasks={"t": task}, protocols={"nats": Preset(Budget("queries", 5.0, "drop"))}),
         "already a protocol of nb201"),
        (dict(name="mine", factory=toy.load, tasks={"t": task}, protocols={"p": "fast"}), "must be a"),
        (dict(name="toy", factory=toy.load, tasks=toy.TASKS), "already registered"),
    ]
    for kwargs, match in cases:
        with pytest.raises(ConfigError, match=match) as info:
            nabench.register_benchmark(kwargs.pop("name"), kwargs.pop("factory"), **kwargs)
        assert "\n" not in str(info.value)
    assert "mine" not in TASKS and "mine" not in protocols.BENCHMARK_PROTOCOLS  # nothing half-installed
    nabench.register_benchmark("mine", lambda d: toy.ToyBenchmark(), tasks={"t": task})  # a factory of the wrong name
    try:
        assert protocols.BENCHMARK_PROTOCOLS["mine"] == ("mine",)  # the default preset: 100 queries
        assert make_search_task(benchmark="mine").budget.limit == 100.0
        with pytest.raises(ConfigError, match="not a nabench.spaces.base.Benchmark named 'mine'"):
            nabench.load("mine")
    finally:
        benchmarks.unregister("mine")
    with pytest.raises(ConfigError, match="unknown benchmark 'nope'; available: nb201, nats-sss, nb301, toy"):
        nabench.load("nope")


def test_installed_benchmark_package_runs_in_a_toml_grid(tmp_path):
    """pip-install examples/plugin_benchmark (entry point nabench.benchmarks: toy), then in fresh processes:
    nabench.load("toy"), `nabench run --help` names its space and protocols, a TOML grid of REA and NA-REA on
    protocol toy-time gives the same bytes with 2 spawned workers as with 1, and `--space chain` runs."""
    env = install_example("plugin_benchmark", "nabench_toy_example", tmp_path)
    py = subprocess.run([sys.executable, "-c", "import nabench; b = nabench.load('toy'); print(b.checksum, "
                         "b.space.format(5))"], env=env, capture_output=True, text=True, timeout=120)
    assert py.returncode == 0 and py.stdout.split() == ["toy-v1", "a-a-a-b-b"], py.stderr
    helped = subprocess.run([sys.executable, "-m", "nabench.cli", "run", "--help"], env=env, capture_output=True,
                            text=True, timeout=120)
    assert helped.returncode == 0 and "toy: toy, toy-time" in " ".join(helped.stdout.split()), helped.stdout
    cfg = tmp_path / "grid.toml"
    cfg.write_text('runs = 5\nseed = 3\n[settings.default]\nneighborhood = { k = "all" }\n'
                   '[[experiment]]\nprotocol = "toy-time"\nsearchers = ["rea", "na-rea"]\n')
    for res in run_grid_with_1_and_2_workers(cfg, tmp_path, env):
        assert "made-up values" in res.stdout  # the task's note is shown with its results
    outs = [tmp_path / "out2", tmp_path / "out1"]
    runs = pd.read_csv(outs[0] / "runs.csv")
    assert set(runs["searcher"]) == {"rea", "na-rea"} and runs["run"].nunique() == 5
    assert set(runs["protocol"]) == {"toy-time"}
    for name in TABLES:
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name
    cli = subprocess.run([sys.executable, "-m", "nabench.cli", "run", "--space", "chain", "--searcher", "ls,na-ls",
                          "--runs", "2", "--out", str(tmp_path / "cli"), "--no-progress"], env=env,
                         capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert cli.returncode == 0, cli.stderr
    assert set(pd.read_csv(tmp_path / "cli" / "runs.csv")["protocol"]) == {"toy"}  # the plugin's default
    # without the package the same grid is one clear error
    bare = subprocess.run([sys.executable, "-m", "nabench.cli", "run", "--config", str(cfg), "--out",
                           str(tmp_path / "bare")], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(REPO)), timeout=120)
    assert bare.returncode == 2 and "unknown protocol 'toy-time'" in bare.stderr and "Traceback" not in bare.stderr
