"""The contract of the two declared interfaces: every SearchSpace and every Benchmark, through the same tests.

Spaces: NAS-Bench-201 (official order of the real store, and a permuted synthetic one), the DARTS /
NB301 space, the NATS size space, and the chain space of the example benchmark plugin
(``examples/plugin_benchmark``, registered for the test). Benchmarks: the real NB201 store, the NB301 surrogate, a synthetic
NATS size-space store (written by the store writer: the real sss table is not available here) and the
synthetic NB201 benchmark of :mod:`nabench.search.synthetic`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from nabench.errors import ConfigError, NabenchError
from nabench.search import Budget, NeighborhoodScorer, Scorer, make_signal, registry, run_search
from nabench.search.synthetic import SyntheticBenchmark
from nabench.neighborhood import NeighborhoodSpec
from nabench.spaces import nats_sss
from nabench.spaces.base import TASKS, Benchmark, SearchSpace
from nabench.spaces.darts import DartsSpace
from nabench.spaces.nb201 import NB201Space

#: radius-1 neighbors per space (NB201: 6 edges x 4 ops; DARTS: 96 op changes + 24 input moves; sss: 5 x 7)
N_NEIGHBORS = {"nb201": 24, "darts": 120, "nats-sss": 35, "toy": 15}
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "plugin_benchmark"


@pytest.fixture(scope="module")
def toy_plugin():
    """The example plugin's module, registered as benchmark ``toy`` for this module's tests."""
    from nabench import benchmarks

    sys.path.insert(0, str(EXAMPLE))
    try:
        import nabench_toy

        benchmarks.register(nabench_toy.PLUGIN, replace=True)
        yield nabench_toy
        benchmarks.unregister("toy")
    finally:
        sys.path.remove(str(EXAMPLE))


def make_sss_store(root):
    """A synthetic NATS size-space store: random values in the official layout, by the store writer."""
    from nabench.tables import paths, store
    from nabench.tables.schema import key

    rng = np.random.default_rng(0)
    n = nats_sss.N_ARCHS
    arrays = {"channels": nats_sss.ChannelOrder().channels.copy()}
    size = arrays["channels"].astype(np.float64).sum(axis=1)
    for ds, splits in (("cifar10-valid", ("x-valid", "ori-test")), ("cifar10", ("ori-test",)),
                       ("cifar100", ("x-valid", "x-test")), ("ImageNet16-120", ("x-valid", "x-test"))):
        for fid in (1, 12, 90):
            for sp in splits:
                arrays[key("acc", ds, sp, fid, "mean")] = 40 + size / 8 + rng.normal(size=n) + fid / 10
            arrays[key("time", ds, fid)] = size * fid / 10 + rng.uniform(1, 2, size=n)
            arrays[key("nseeds", ds, fid)] = np.ones(n, dtype=np.int64)
    store.write(paths.store_dir(root, "nats-sss"), arrays, provenance={k: "synthetic (test)" for k in arrays},
                made_by="import: synthetic test store", sources={"synthetic": "none"})
    return root


@pytest.fixture(scope="module")
def sss_bench(tmp_path_factory):
    import nabench

    return nabench.load("nats-sss", make_sss_store(tmp_path_factory.mktemp("sss")))


@pytest.fixture(scope="module")
def nb301(data_dir):
    import nabench

    return nabench.load("nb301", data_dir)


SPACES = ["nb201-synthetic", "darts", "nats-sss", "toy"]


@pytest.fixture(scope="module", params=SPACES)
def space(request):
    if request.param == "nb201-synthetic":
        return NB201Space(SyntheticBenchmark(seed=3).order)
    if request.param == "darts":
        return DartsSpace()
    if request.param == "toy":
        return request.getfixturevalue("toy_plugin").ChainSpace()
    return nats_sss.SizeSpace()


def samples(space, n=20, seed=0):
    return [int(a) for a in space.sample(np.random.default_rng(seed), n)]


def test_space_is_declared(space):
    assert isinstance(space, SearchSpace)
    assert space.size == int(np.prod([int(c) for c in space.cardinalities], dtype=object))
    assert space.enumerable == (space.name != "darts")


def test_sampling_is_seeded_and_in_range(space):
    a = samples(space, 50, seed=1)
    assert a == samples(space, 50, seed=1) and a != samples(space, 50, seed=2)
    assert all(0 <= x < space.size for x in a)
    one = space.sample(np.random.default_rng(0))
    assert isinstance(one, int)


def test_encode_decode_roundtrip(space):
    archs = np.array(samples(space, 40), dtype=np.int64)
    enc = space.encode(archs)
    assert enc.shape == (40, len(space.cardinalities))
    assert (enc >= 0).all() and (enc < np.asarray(space.cardinalities)).all()
    assert np.array_equal(space.decode(enc), archs)
    assert space.decode(enc[0]) == archs[0] and np.array_equal(space.encode(int(archs[0])), enc[0])
    rng = np.random.default_rng(5)  # every vector in range is an arch
    vec = rng.integers(np.asarray(space.cardinalities), size=(10, len(space.cardinalities)))
    assert np.array_equal(space.encode(space.decode(vec)), vec)


def test_neighbors_are_distinct_one_edit_and_symmetric(space):
    for a in samples(space, 5):
        nb = np.asarray(space.neighbors(a))
        assert nb.dtype == np.int64 and len(nb) == N_NEIGHBORS[space.name]
        assert len(set(nb.tolist())) == len(nb) and a not in nb.tolist()
        assert {space.distance(a, int(b)) for b in nb} == {1}
        b = int(nb[len(nb) // 2])
        assert a in np.asarray(space.neighbors(b)).tolist()
        assert space.distance(a, b) == space.distance(b, a) == 1 and space.distance(a, a) == 0


def test_radius_two_is_a_ball_with_its_shell(space):
    a = samples(space, 1)[0]
    shell = np.asarray(space.neighbors(a, 2, exact=True))
    ball = np.asarray(space.neighbors(a, 2))
    one = np.asarray(space.neighbors(a, 1))
    assert sorted(ball.tolist()) == sorted(one.tolist() + shell.tolist())
    assert {space.distance(a, int(b)) for b in shell[:: max(1, len(shell) // 50)]} == {2}


def test_mutate_is_one_edit(space):
    rng = np.random.default_rng(0)
    for a in samples(space, 10):
        child = space.mutate(a, rng)
        assert isinstance(child, int) and child in np.asarray(space.neighbors(a)).tolist()


def test_parse_format_roundtrip_and_canonical(space):
    for a in samples(space, 10):
        text = space.format(a)
        assert isinstance(text, str) and space.parse(text) == a
        assert space.parse(a) == a and space.canonical(a) == space.canonical(space.parse(text))
        hash(space.canonical(a))
    with pytest.raises(NabenchError):
        space.parse("not an architecture")


def test_every_searcher_runs_on_every_space(space):
    """All five searchers and their NA variants, on an additive made-up signal over the encoding."""
    w = np.random.default_rng(9).normal(size=(len(space.cardinalities), max(space.cardinalities)))

    class Additive:
        dataset, split, fidelity, mode = "made-up", "valid", 1, "mean"

        def evaluate(self, archs, rng):
            enc = space.encode(np.asarray(archs, dtype=np.int64))
            return w[np.arange(enc.shape[1]), enc].sum(axis=1), np.full(len(enc), 10.0)

    for name in registry.NAMES:
        base, na = registry.parse_name(name)
        seq = np.random.SeedSequence(1).spawn(2)
        r1, r2 = (np.random.default_rng(s) for s in seq)
        scorer = NeighborhoodScorer(Additive(), r2, space, NeighborhoodSpec(k=8)) if na else Scorer(Additive(), r2)
        tr = run_search(registry.make(base, space, r1), scorer, Budget("queries", 60, "drop"))
        assert len(tr) > 0 and tr.queries[-1] <= 60 and tr.stop in ("budget", "crossing", "max_steps")
        assert all(0 <= a < space.size for a in tr.arch.tolist())
        assert tr.incumbent_score[-1] == tr.score.max()


def test_the_known_neighbor_counts():
    """The issue's numbers: DARTS 16 active edges x 6 ops + inputs of nodes 3-5 moved (2+4+6 per cell)."""
    s = DartsSpace()
    a = s.parse("darts-v2")
    nb = s.neighbors(a)
    ops_only = [b for b in nb.tolist() if (s.encode(a) != s.encode(b)).sum() == 1
                and s.cardinalities[int(np.flatnonzero(s.encode(a) != s.encode(b))[0])] == 7]
    assert len(nb) == 120 and len(ops_only) == 96


# ----------------------------------------------------------------------------- benchmarks

BENCHES = ["nb201-store", "nb301", "sss-synthetic", "nb201-synthetic", "toy-plugin"]


@pytest.fixture(params=BENCHES)
def any_bench(request):
    if request.param == "nb201-store":
        return request.getfixturevalue("bench")
    if request.param == "nb301":
        return request.getfixturevalue("nb301")
    if request.param == "sss-synthetic":
        return request.getfixturevalue("sss_bench")
    if request.param == "toy-plugin":
        request.getfixturevalue("toy_plugin")
        import nabench

        return nabench.load("toy")
    return SyntheticBenchmark(seed=0)


def test_benchmark_is_declared_with_its_tasks(any_bench):
    assert isinstance(any_bench, Benchmark)
    assert isinstance(any_bench.space, SearchSpace)
    assert any_bench.tasks is TASKS[any_bench.name]
    for t in any_bench.tasks.values():
        assert t.maximize and t.search_fidelity in t.fidelities and t.report_fidelity in t.fidelities
        assert t.search_split in ("x-valid", "valid") and t.better(2.0, 1.0)
    assert isinstance(any_bench.checksum, str) and any_bench.checksum


def test_batched_queries_agree_with_single_ones(any_bench):
    t = next(iter(any_bench.tasks.values()))
    archs = np.asarray(any_bench.space.sample(np.random.default_rng(0), 12), dtype=np.int64)
    for ds, sp, fid in ((t.search_dataset, t.search_split, t.search_fidelity),
                        (t.report_dataset, t.report_split, t.report_fidelity)):
        acc = np.asarray(any_bench.accuracy(archs, dataset=ds, split=sp, fidelity=fid))
        assert acc.shape == (12,) and np.isfinite(acc).all() and (acc > 0).all() and (acc <= 100).all()
        one = [float(any_bench.accuracy(int(a), dataset=ds, split=sp, fidelity=fid)) for a in archs[:3]]
        assert np.allclose(one, acc[:3])
    cost = np.asarray(any_bench.cost(archs, dataset=t.search_dataset, fidelity=t.search_fidelity))
    assert cost.shape == (12,) and (cost > 0).all()
    assert any_bench.has("acc", t.search_dataset, t.search_split, t.search_fidelity)


def test_signal_reads_the_search_split(any_bench):
    t = next(iter(any_bench.tasks.values()))
    sig = make_signal(any_bench, dataset=t.search_dataset, split=t.search_split, fidelity=t.search_fidelity,
                      mode="mean")
    archs = np.asarray(any_bench.space.sample(np.random.default_rng(3), 7), dtype=np.int64)
    values, costs = sig.evaluate(archs, np.random.default_rng(0))
    assert np.allclose(values, any_bench.accuracy(archs, dataset=t.search_dataset, split=t.search_split,
                                                  fidelity=t.search_fidelity))
    assert np.allclose(costs, any_bench.cost(archs, dataset=t.search_dataset, fidelity=t.search_fidelity))


def test_bad_queries_are_config_errors(any_bench):
    t = next(iter(any_bench.tasks.values()))
    with pytest.raises(ConfigError):
        any_bench.accuracy([0], dataset="mnist", split=t.search_split, fidelity=t.search_fidelity)
    with pytest.raises(ConfigError):
        any_bench.accuracy([0], dataset=t.search_dataset, split=t.search_split, fidelity=10_000)
