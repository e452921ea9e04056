"""The search signal: validation splits only, no path from a searcher to the benchmark or a test split."""

from __future__ import annotations

import gc
import types

import numpy as np
import pytest

from nabench import neighborhood as nh
from nabench.errors import ConfigError
from nabench.experiments import worker
from nabench.experiments.config import make_cell
from nabench.search import Budget, NeighborhoodScorer, Scorer, SearchSignal, Space, registry, run_search
from nabench.search.synthetic import SyntheticBenchmark
from nabench.tables import NB201Benchmark


def reachable(*roots, limit=200_000):
    """Every object reachable from ``roots`` through references (modules and classes not entered)."""
    seen, stack, out = set(), list(roots), []
    while stack and len(seen) < limit:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, (types.ModuleType, type, types.FunctionType, types.BuiltinFunctionType)):
            continue
        seen.add(id(obj))
        out.append(obj)
        stack.extend(gc.get_referents(obj))
    return out


@pytest.mark.parametrize("dataset,split", [("cifar10", "ori-test"), ("cifar100", "x-test"),
                                           ("ImageNet16-120", "ori-test"), ("cifar10-valid", "ori-test")])
def test_test_splits_are_refused(bench, dataset, split):
    with pytest.raises(ConfigError, match="test split"):
        SearchSignal.from_bench(bench, dataset=dataset, split=split, fidelity=12, mode="mean")


def test_cifar10_has_no_validation_split(bench):
    with pytest.raises(ConfigError, match="cifar10-valid"):
        SearchSignal.from_bench(bench, dataset="cifar10", split="x-valid", fidelity=12, mode="mean")


def test_random_seed_needs_per_seed_values(bench):
    with pytest.raises(ConfigError, match="signal 'mean'"):
        SearchSignal.from_bench(bench, dataset="cifar10-valid", split="x-valid", fidelity=12, mode="random-seed")
    with pytest.raises(ConfigError, match="signal mode"):
        SearchSignal.from_bench(bench, dataset="cifar10-valid", split="x-valid", fidelity=12, mode="best")


def test_per_seed_signal_matches_the_store(bench):
    sig = SearchSignal.from_bench(bench, dataset="cifar100", split="x-valid", fidelity=200, mode="random-seed")
    n = bench.n_seeds(dataset="cifar100", fidelity=200)
    assert np.array_equal(sig.n_seeds, n)
    assert (np.isnan(sig.values).sum(axis=0) == 3 - n).all()
    for rank, seed in enumerate((777, 888)):
        assert np.allclose(sig.values[rank, :50], bench.accuracy(np.arange(50), dataset="cifar100", split="x-valid",
                                                                fidelity=200, seed=seed))
    mean = bench.accuracy(np.arange(bench.n_archs), dataset="cifar100", split="x-valid", fidelity=200)
    assert np.allclose(np.nanmean(sig.values, axis=0), mean, atol=1e-4)
    draws = sig.draw(np.arange(bench.n_archs), np.random.default_rng(0))
    assert np.isfinite(draws).all() and np.all((draws == sig.values[0]) | (draws == sig.values[1]) | (draws == sig.values[2]))


def test_cost_is_the_fidelity_training_time(bench):
    sig = SearchSignal.from_bench(bench, dataset="cifar10-valid", split="x-valid", fidelity=12, mode="mean")
    c200 = bench.cost(np.arange(bench.n_archs), dataset="cifar10-valid", fidelity=200)
    assert np.allclose(sig.cost, c200 * 12 / 200)


@pytest.mark.parametrize("name", ["bo", "na-rea", "na-reinforce"])
def test_no_searcher_can_reach_a_test_split(bench, name):
    """Nothing reachable from the searcher, the scorer or the signal is the benchmark or a test array."""
    cell = make_cell("nb201", "cifar10", name)
    sig = SearchSignal.from_bench(bench, dataset="cifar10-valid", split="x-valid", fidelity=12, mode="mean")
    tests = [bench.accuracy(np.arange(bench.n_archs), dataset=d, split=s, fidelity=f)
             for d, s, f in (("cifar10", "ori-test", 200), ("cifar100", "x-test", 200), ("cifar10", "ori-test", 12))]
    worker.init(Space(bench.order), {worker.signal_key(cell): sig}, (cell,))
    try:
        searcher, scorer = worker.build(cell, 0)
        run_search(searcher, scorer, cell.task.budget)
        objs = reachable(searcher, scorer, sig, worker._STATE)
    finally:
        worker.release()
    assert not any(isinstance(o, NB201Benchmark) for o in objs)
    big = [o for o in objs if isinstance(o, np.ndarray) and o.shape == (bench.n_archs,) and o.dtype.kind == "f"]
    assert big, "the walk must see the signal arrays"
    for t in tests:
        assert not any(np.array_equal(o, t) for o in big)


def test_a_search_queries_only_the_validation_split():
    """With a spying benchmark: building the signal reads x-valid; searching reads nothing more."""
    syn = SyntheticBenchmark(seed=0)
    sig = SearchSignal.from_bench(syn, dataset="cifar100", split="x-valid", fidelity=12, mode="mean")
    assert set(syn.queries) == {("cifar100", "x-valid", 12)}
    space = Space(syn.order)
    for name in registry.NAMES:
        base, na = registry.parse_name(name)
        r1, r2 = worker.rngs(1)
        scorer = NeighborhoodScorer(sig, r2, Space(syn.order), nh.NeighborhoodSpec()) if na else Scorer(sig, r2)
        run_search(registry.make(base, space, r1), scorer, Budget("queries", 60, "keep"))
    assert set(syn.queries) == {("cifar100", "x-valid", 12)}
    assert not any(isinstance(o, SyntheticBenchmark) for o in reachable(sig))


def test_search_stack_imports_without_torch():
    """The search and experiment modules are tabular core: importing them must not import torch."""
    import subprocess
    import sys

    code = ("import sys; import nabench.neighborhood, nabench.search, nabench.experiments, nabench.commands.run, "
            "nabench.search.synthetic; print('torch' in sys.modules)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and res.stdout.strip() == "False", res.stderr
