"""THE CPU count (nabench.resources.available_cpus): the affinity mask, capped by SLURM_CPUS_PER_TASK, and
every default worker count in the package (runner pool, data loaders, bootstrap threads) follows it."""

from __future__ import annotations

import os

import pytest

from nabench import resources
from nabench.experiments import launch


@pytest.fixture
def affinity(monkeypatch):
    """Pretend this process may run on ``n`` CPUs (of a 64-CPU machine)."""
    def set_(n: int) -> None:
        monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(n)), raising=False)
        monkeypatch.setattr(os, "cpu_count", lambda: 64)
    monkeypatch.delenv("SLURM_CPUS_PER_TASK", raising=False)
    return set_


@pytest.mark.parametrize("mask,slurm,expected", [(6, None, 6), (6, "4", 4), (6, "16", 6), (6, "0", 6),
                                                 (6, "abc", 6), (6, "", 6), (6, "-2", 6), (1, "8", 1),
                                                 (6, "\u0664", 6)])  # an Arabic-Indic 4 is not a count
def test_available_cpus(affinity, monkeypatch, mask, slurm, expected):
    affinity(mask)
    if slurm is not None:
        monkeypatch.setenv("SLURM_CPUS_PER_TASK", slurm)
    assert resources.available_cpus() == expected


def test_one_home(affinity, monkeypatch):
    """The runner's default and its import are the same function; nothing else counts CPUs."""
    assert launch.available_cpus is resources.available_cpus
    affinity(12)
    monkeypatch.setenv("SLURM_CPUS_PER_TASK", "3")
    assert launch.default_workers(10_000) == 3 and launch.default_workers(10) == 1
    from pathlib import Path

    root = Path(resources.__file__).parent
    users = [p.relative_to(root).as_posix() for p in root.rglob("*.py")
             if "os.sched_getaffinity(0)" in p.read_text() or "os.cpu_count() or" in p.read_text()]
    assert users == ["resources.py"], users


def test_loader_workers_follow_it(affinity, monkeypatch):
    loaders = pytest.importorskip("nabench.vision.loaders")
    affinity(64)
    monkeypatch.setenv("SLURM_CPUS_PER_TASK", "5")
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    assert loaders.default_workers() == 1  # 5 // 2 - 1, not 64 // 2 - 1 capped at 8
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "1")
    assert loaders.default_workers() == 4


def test_bootstrap_threads_follow_it(affinity, monkeypatch):
    """The bootstrap's thread pool is sized from available_cpus (capped at 2): with one CPU it uses one."""
    import concurrent.futures

    import numpy as np

    from nabench.analysis import stats

    seen = []
    real = concurrent.futures.ThreadPoolExecutor

    class Spy(real):
        def __init__(self, n, *a, **k):
            seen.append(n)
            super().__init__(n, *a, **k)

    monkeypatch.setattr(concurrent.futures, "ThreadPoolExecutor", Spy)
    from nabench.analysis.bootstrap import resample_counts

    rng = np.random.default_rng(0)
    y = rng.random(50)
    x = np.stack([y + rng.random(50), rng.random(50), y])
    counts = resample_counts(np.random.default_rng(1), 50, 8)
    for n_cpus, expected in ((1, 1), (8, 2)):
        affinity(n_cpus)
        taus, _ = stats.bootstrap_correlations(x, y, counts)
        assert seen[-1] == expected and taus.shape == (3, 8)
