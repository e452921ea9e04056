"""Searchers: they find the optimum of a synthetic table, are seeded, and follow their published rules."""

from __future__ import annotations

import numpy as np
import pytest

from nabench import neighborhood as nh
from nabench.errors import ConfigError
from nabench.search import Budget, NeighborhoodScorer, Scorer, SearchSignal, Space, registry, run_search
from nabench.search.base import Searcher
from nabench.search.synthetic import SyntheticBenchmark


@pytest.fixture(scope="module")
def syn():
    return SyntheticBenchmark(seed=1)


@pytest.fixture(scope="module")
def space(syn):
    return Space(syn.order)


@pytest.fixture(scope="module")
def signal(syn):
    return SearchSignal.from_bench(syn, dataset="cifar10-valid", split="x-valid", fidelity=12, mode="mean")


def rngs(seed):
    return [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2)]


def search(name, space, signal, budget, seed=0, params=None, spec=None, accounting="query"):
    base, na = registry.parse_name(name)
    r1, r2 = rngs(seed)
    scorer = NeighborhoodScorer(signal, r2, space, spec or nh.NeighborhoodSpec(), accounting) if na \
        else Scorer(signal, r2)
    return run_search(registry.make(base, space, r1, params), scorer, budget)


@pytest.mark.parametrize("name,params,queries,seeds", [
    ("ls", {}, 300, 3),
    ("rea", {}, 1000, 3),
    ("bo", {}, 150, 3),
    ("bo", {"acquisition": "exhaustive"}, 80, 1),
    ("reinforce", {"lr": 0.1}, 1000, 3),
])
def test_finds_optimum_of_additive_table(syn, space, signal, name, params, queries, seeds):
    """On an additive (separable) table every non-random searcher reaches the unique optimum."""
    for seed in range(seeds):
        tr = search(name, space, signal, Budget("queries", queries, "drop", max_steps=3000), seed, params)
        assert tr.final == syn.optimum, f"{name} seed {seed} ended at rank {(syn.valid > syn.valid[tr.final]).sum()}"


def test_random_search_finds_top_percent(syn, space, signal):
    """2,000 uniform draws miss the top 1% (156 cells) with probability 0.99**2000 ~ 2e-9."""
    for seed in range(3):
        tr = search("rs", space, signal, Budget("queries", 2000, "drop"), seed)
        assert (syn.valid > syn.valid[tr.final]).sum() < 156
        assert syn.valid[tr.final] == tr.incumbent_score[-1] == tr.score.max()


def spiked():
    """An additive table plus one needle, 3 edits from the optimum, that beats it by 5 points."""
    syn = SyntheticBenchmark(seed=2)
    opt = syn.optimum
    space = Space(syn.order)
    far = np.flatnonzero((space.ops != space.ops[opt]).sum(axis=1) == 3)
    needle = int(far[np.argmax(syn.valid[far])])
    values = syn.valid.copy()
    values[needle] = values[opt] + 5.0
    sig = SearchSignal("cifar10-valid", "x-valid", 12, "mean", values[None], np.ones(len(values), dtype=np.int64),
                       np.full(len(values), 100.0))
    return space, sig, values, opt, needle


@pytest.mark.parametrize("name,accounting,queries", [
    ("na-ls", "query", 4000),
    ("na-ls", "candidate", 300),
    ("na-rea", "candidate", 1000),
    ("na-bo", "candidate", 150),
])
def test_na_finds_optimum_of_the_aggregate(name, accounting, queries):
    """The needle is the plain argmax, the broad optimum the argmax of the neighborhood mean."""
    space, sig, values, opt, needle = spiked()
    agg = nh.aggregate(values, space.order)
    assert int(np.argmax(values)) == needle and int(np.argmax(agg)) == opt
    for seed in range(2):
        tr = search(name, space, sig, Budget("queries", queries, "drop", max_steps=3000), seed, accounting=accounting)
        assert tr.final == opt
        assert tr.incumbent_score[-1] == pytest.approx(agg[opt])


@pytest.mark.parametrize("name", registry.NAMES)
def test_same_seed_same_trajectory(space, signal, name):
    budget = Budget("time", 30_000.0, "keep")
    a, b = (search(name, space, signal, budget, seed=5) for _ in range(2))
    c = search(name, space, signal, budget, seed=6)
    for f in ("arch", "score", "raw", "charged", "time", "queries", "incumbent"):
        assert np.array_equal(getattr(a, f), getattr(b, f), equal_nan=True)
    assert not np.array_equal(a.arch[:10], c.arch[:10])


def test_ask_tell_must_alternate(space):
    s = registry.make("rs", space, np.random.default_rng(0))
    a = s.ask()
    with pytest.raises(RuntimeError, match="twice"):
        s.ask()
    with pytest.raises(RuntimeError, match="pending"):
        s.tell(a + 1, 1.0)
    s.tell(a, 1.0)
    with pytest.raises(TypeError, match="Generator"):
        registry.make("rs", space, 0)


def test_mutate_is_one_edit_node_then_edge(space):
    """AutoDL's mutation: node uniform, then edge, then one of the 4 other ops."""
    rng = np.random.default_rng(0)
    n = 9000
    edges = np.zeros(6)
    for _ in range(n):
        a = int(rng.integers(space.n_archs))
        child = space.mutate(a, rng)
        diff = np.flatnonzero(space.ops[a] != space.ops[child])
        assert len(diff) == 1
        edges[diff[0]] += 1
    expected = n * np.array([1 / 3, 1 / 6, 1 / 6, 1 / 9, 1 / 9, 1 / 9])
    assert np.all(np.abs(edges - expected) < 4 * np.sqrt(expected))


def test_rea_ages_and_selects(space):
    rea = registry.make("rea", space, np.random.default_rng(0), {"population": 4, "tournament": 50})
    told = []
    for i in range(4):
        a = rea.ask()
        rea.tell(a, float(i))
        told.append(a)
    child = rea.ask()  # with 50 draws from 4 members the best (score 3) is all but surely the parent
    assert (space.ops[child] != space.ops[told[3]]).sum() == 1
    rea.tell(child, -1.0)
    assert [a for a, _ in rea.members] == told[1:] + [child]
    with pytest.raises(ConfigError, match="population"):
        registry.make("rea", space, np.random.default_rng(0), {"population": 0})


class Constant(Searcher):
    name = "const"

    def _ask(self):
        return 7

    def _tell(self, arch, score):
        return None


def test_local_search_restarts_at_a_local_optimum(space):
    """On a flat table no neighbor improves: LS visits all 24 neighbors, then restarts elsewhere."""
    ls = registry.make("ls", space, np.random.default_rng(3))
    first = ls.ask()
    ls.tell(first, 1.0)
    visited = []
    for _ in range(24):
        a = ls.ask()
        ls.tell(a, 1.0)
        visited.append(a)
    assert sorted(visited) == sorted(space.neighbors(first).tolist())
    restart = ls.ask()
    assert restart not in visited and restart != first


def test_local_search_moves_on_first_improvement(space):
    ls = registry.make("ls", space, np.random.default_rng(3))
    first = ls.ask()
    ls.tell(first, 1.0)
    a = ls.ask()
    ls.tell(a, 2.0)
    nxt = ls.ask()
    assert nxt in space.neighbors(a).tolist() and ls.current == (a, 2.0)


def test_reinforce_matches_torch_adam(space):
    """The numpy policy gradient + Adam equals AutoDL's torch code step for step."""
    torch = pytest.importorskip("torch")
    rl = registry.make("reinforce", space, np.random.default_rng(0), {"lr": 0.05})
    theta = torch.nn.Parameter(torch.tensor(rl.theta.copy()))
    opt = torch.optim.Adam([theta], lr=0.05)
    num = den = 0.0
    rewards = np.random.default_rng(1).uniform(60, 90, size=25)
    for r in rewards:
        a = rl.ask()
        actions = torch.tensor(space.ops[a].astype(np.int64))
        logp = torch.distributions.Categorical(torch.softmax(theta, dim=-1)).log_prob(actions).sum()
        num, den = 0.9 * num + 0.1 * r, 0.9 * den + 0.1
        loss = -logp * (float(r) - num / den)
        opt.zero_grad()
        loss.backward()
        opt.step()
        rl.tell(a, float(r))
    assert np.allclose(rl.theta, theta.detach().numpy(), atol=1e-6)
    assert rl.baseline == pytest.approx(num / den)


def test_reinforce_samples_from_its_policy(space):
    rl = registry.make("reinforce", space, np.random.default_rng(0))
    rl.theta = np.zeros((6, 5))
    rl.theta[:, 2] = 3.0  # p(op 2) = e^3 / (e^3 + 4) ~ 0.83 per edge
    counts = np.zeros(5)
    for _ in range(400):
        a = rl.ask()
        rl._pending = None
        counts += np.bincount(space.ops[a], minlength=5)
    p = np.exp(3) / (np.exp(3) + 4)
    assert abs(counts[2] / counts.sum() - p) < 0.03


def test_bo_rejects_bad_params(space):
    with pytest.raises(ConfigError, match="acquisition"):
        registry.make("bo", space, np.random.default_rng(0), {"acquisition": "random"})
    with pytest.raises(ConfigError, match="unknown parameter"):
        registry.make("bo", space, np.random.default_rng(0), {"lengthscale": 2})
    with pytest.raises(ConfigError, match="did you mean 'rea'"):
        registry.parse_name("reaa")


def test_max_steps_ends_a_run_of_repeats(space, signal):
    tr = run_search(Constant(space, np.random.default_rng(0)), Scorer(signal, np.random.default_rng(0)),
                    Budget("queries", 10, "drop", max_steps=50))
    assert len(tr) == 50 and tr.stop == "max_steps" and tr.queries[-1] == 1
    assert tr.charged.tolist() == [1] + [0] * 49
