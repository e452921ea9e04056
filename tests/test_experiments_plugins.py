"""Searcher plugins: ``nabench.search.register`` and the ``nabench.searchers`` entry-point group.

A registered class works in the runner (in-process and in spawned workers), in TOML grids and CLI flags,
gets its ``na-`` variant, and is listed by ``nabench run --help``. The example package in
``examples/plugin_searcher`` is pip-installed into a folder of its own (``pip install --target``: the shared
virtual environment, which other test processes read at the same time, is never changed) and run in a
TOML grid with spawned workers.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nabench.errors import ConfigError
from nabench.experiments import grid_from_dict, run_grid
from nabench.search import Searcher, register, registry
from nabench.search.synthetic import SyntheticBenchmark
from plugin_install import install_example, run_grid_with_1_and_2_workers

REPO = Path(__file__).resolve().parents[1]
TABLES = ("evaluations.csv.gz", "runs.csv", "summary.csv", "paired.csv")


class FirstBetter(Searcher):
    """A test plugin: random cells, then mutations of the last cell that improved."""

    name = "first-better"

    def __init__(self, space, rng: np.random.Generator, n_init: int = 4) -> None:
        super().__init__(space, rng)
        self.n_init, self._n, self._best = n_init, 0, None

    def _ask(self) -> int:
        if self._n < self.n_init or self._best is None:
            return int(self.space.sample(self.rng))
        return int(self.space.mutate(self._best[1], self.rng))

    def _tell(self, arch: int, score: float) -> None:
        self._n += 1
        if self._best is None or score > self._best[0]:
            self._best = (score, arch)


def test_registered_searcher_runs_everywhere(tmp_path):
    assert register(FirstBetter) is FirstBetter
    assert {"first-better", "na-first-better"} <= set(registry.NAMES) and registry.plugins() == {
        "first-better": FirstBetter}
    g = grid_from_dict({"runs": 4, "seed": 2, "settings": {"default": {"params": {"first-better": {"n_init": 2}}}},
                        "experiment": [{"searchers": ["first-better", "na-first-better", "rs"]}]})
    assert g.cells[0].params == {"n_init": 2} and g.cells[1].neighborhood is not None
    syn = SyntheticBenchmark(seed=5)
    one = run_grid(g, tmp_path / "one", bench=syn, workers=1, progress=False, log=lambda _: None)
    two = run_grid(g, tmp_path / "two", bench=syn, workers=2, progress=False, log=lambda _: None)  # spawned workers
    assert one.ran == two.ran == 12
    for name in TABLES:
        assert (one.out / name).read_bytes() == (two.out / name).read_bytes(), name
    s = one.summary
    assert set(s["searcher"]) == {"first-better", "na-first-better", "rs"} and (s["n"] == 4).all()


def test_register_refuses_what_is_not_a_searcher():
    class Nameless(FirstBetter):
        name = "NA-Upper"

    class Clash(FirstBetter):
        name = "rea"

    for bad, match in ((object, "subclass of nabench.search.Searcher"), (Nameless, "lowercase letters"),
                       (Clash, "already registered")):
        with pytest.raises(ConfigError, match=match):
            register(bad)
    register(FirstBetter)

    class Again(FirstBetter):
        name = "first-better"

    with pytest.raises(ConfigError, match="already registered"):
        register(Again)
    assert register(Again, replace=True) is Again and registry.SEARCHERS["first-better"] is Again


def test_installed_plugin_package_runs_in_a_toml_grid(tmp_path, data_dir):
    """pip-install examples/plugin_searcher (entry point nabench.searchers: greedy) into its own folder, then
    in fresh processes: `nabench run --help` lists greedy and na-greedy, and a TOML grid with both runs in two
    spawned workers, with a hyperparameter from the grid file, deterministically."""
    env = install_example("plugin_searcher", "nabench_greedy_example", tmp_path)
    helped = subprocess.run([sys.executable, "-m", "nabench.cli", "run", "--help"], env=env, capture_output=True,
                            text=True, timeout=120)
    assert helped.returncode == 0 and "greedy" in helped.stdout and "na-greedy" in helped.stdout
    cfg = tmp_path / "grid.toml"
    cfg.write_text('runs = 6\nseed = 1\n[settings.default]\nparams = { greedy = { n_init = 3 } }\n'
                   '[[experiment]]\nsearchers = ["greedy", "na-greedy"]\n')
    run_grid_with_1_and_2_workers(cfg, tmp_path, env, ("--data-dir", str(data_dir)))
    outs = [tmp_path / "out2", tmp_path / "out1"]
    runs = pd.read_csv(outs[0] / "runs.csv")
    assert set(runs["searcher"]) == {"greedy", "na-greedy"} and runs["run"].nunique() == 6
    for name in TABLES:
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name
    # without the package the same grid is one clear error
    bare = subprocess.run([sys.executable, "-m", "nabench.cli", "run", "--config", str(cfg), "--out",
                           str(tmp_path / "bare"), "--data-dir", str(data_dir)], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(REPO)), timeout=120)
    assert bare.returncode == 2 and "unknown searcher 'greedy'" in bare.stderr and "Traceback" not in bare.stderr
