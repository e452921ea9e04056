"""Budgets: each architecture is charged once, the crossing rule holds, NA accounting is exact."""

from __future__ import annotations

import numpy as np
import pytest

from nabench import neighborhood as nh
from nabench.errors import ConfigError
from nabench.search import Budget, NeighborhoodScorer, Scorer, SearchSignal, Space, run_search
from nabench.search.base import Searcher
from nabench.search.synthetic import SyntheticBenchmark


class Scripted(Searcher):
    """Asks a fixed sequence of architectures, then repeats the last one."""

    name = "scripted"

    def __init__(self, space, rng, script):
        super().__init__(space, rng)
        self.script, self.i, self.told = list(script), 0, []

    def _ask(self):
        a = self.script[min(self.i, len(self.script) - 1)]
        self.i += 1
        return a

    def _tell(self, arch, score):
        self.told.append((arch, score))


@pytest.fixture(scope="module")
def syn():
    return SyntheticBenchmark(seed=4)


@pytest.fixture(scope="module")
def space(syn):
    return Space(syn.order)


def flat_cost_signal(syn, cost=100.0):
    return SearchSignal("cifar10-valid", "x-valid", 12, "mean", syn.valid[None], np.ones(syn.n_archs, dtype=np.int64),
                        np.full(syn.n_archs, cost))


def run(space, signal, script, budget, spec=None, accounting="query"):
    rng = np.random.default_rng(0)
    scorer = Scorer(signal, rng) if spec is None else NeighborhoodScorer(signal, rng, space, spec, accounting)
    s = Scripted(space, rng, script)
    return run_search(s, scorer, budget), s


def test_repeats_are_free(syn, space):
    tr, s = run(space, flat_cost_signal(syn), [5, 5, 9, 5, 9, 11], Budget("queries", 3, "drop"))
    assert tr.arch.tolist() == [5, 5, 9, 5, 9, 11]
    assert tr.charged.tolist() == [1, 0, 1, 0, 0, 1]
    assert tr.time.tolist() == [100, 100, 200, 200, 200, 300]
    assert tr.stop == "budget" and [a for a, _ in s.told] == tr.arch.tolist()


@pytest.mark.parametrize("limit,crossing,n,spent,stop", [
    (1050.0, "drop", 10, 1000.0, "crossing"),   # the 11th would cross: discarded
    (1050.0, "keep", 11, 1100.0, "budget"),     # the 11th crosses and counts, then the run ends
    (1000.0, "drop", 10, 1000.0, "budget"),     # landing exactly on the limit counts
    (1000.0, "keep", 10, 1000.0, "budget"),
])
def test_crossing_rule(syn, space, limit, crossing, n, spent, stop):
    tr, _ = run(space, flat_cost_signal(syn), list(range(100)), Budget("time", limit, crossing))
    assert len(tr) == n and tr.time[-1] == spent and tr.stop == stop


def test_crossing_rule_with_real_costs(syn, space):
    sig = SearchSignal.from_bench(syn, dataset="cifar10-valid", split="x-valid", fidelity=12, mode="mean")
    script = list(range(0, 3000, 7))
    for crossing in ("drop", "keep"):
        tr, _ = run(space, sig, script, Budget("time", 5000.0, crossing))
        c = sig.cost[script]
        cum = np.cumsum(c)
        k = int(np.searchsorted(cum, 5000.0, side="right"))  # evaluations that fit
        assert len(tr) == (k if crossing == "drop" else k + 1)
        assert tr.time[-1] == pytest.approx(cum[len(tr) - 1])
        assert (tr.time[-1] <= 5000.0) == (crossing == "drop")


def test_neighbors_already_evaluated_are_not_charged(syn, space):
    spec = nh.NeighborhoodSpec()
    a = 100
    b = int(space.neighbors(a)[0])
    far = int(np.flatnonzero((space.ops != space.ops[a]).sum(axis=1) == 6)[0])
    na = set(nh.members(space.order, spec, rows=[a]).index[0].tolist())
    nb = set(nh.members(space.order, spec, rows=[b]).index[0].tolist())
    total = len(na | nb) + 25
    tr, _ = run(space, flat_cost_signal(syn), [a, b, a, far], Budget("queries", total, "drop"), spec)
    assert tr.charged.tolist() == [25, len(nb - na), 0, 25]
    assert tr.queries[-1] == len(na | nb) + 25
    full = nh.aggregate(syn.valid, space.order, spec)
    assert np.allclose(tr.score, full[[a, b, a, far]])
    assert np.allclose(tr.raw, syn.valid[[a, b, a, far]])


def test_candidate_matched_charges_candidates_only(syn, space):
    spec = nh.NeighborhoodSpec()
    a = 100
    b = int(space.neighbors(a)[0])
    tr, _ = run(space, flat_cost_signal(syn), [a, b, a, 7], Budget("queries", 3, "drop"), spec, "candidate")
    assert tr.charged.tolist() == [1, 1, 0, 1] and tr.time[-1] == 300
    full = nh.aggregate(syn.valid, space.order, spec)
    assert np.allclose(tr.score, full[[a, b, a, 7]])


def test_na_crossing_applies_to_the_whole_neighborhood(syn, space):
    spec = nh.NeighborhoodSpec()
    a = 100
    far = int(np.flatnonzero((space.ops != space.ops[a]).sum(axis=1) == 6)[0])
    drop, _ = run(space, flat_cost_signal(syn), [a, far], Budget("queries", 30, "drop"), spec)
    keep, _ = run(space, flat_cost_signal(syn), [a, far], Budget("queries", 30, "keep"), spec)
    assert drop.queries.tolist() == [25] and drop.stop == "crossing"
    assert keep.queries.tolist() == [25, 50] and keep.stop == "budget"


def test_budget_too_small_for_one_evaluation(syn, space):
    with pytest.raises(ConfigError, match="raise the budget"):
        run(space, flat_cost_signal(syn), [1], Budget("time", 50.0, "drop"))
    with pytest.raises(ConfigError, match="25 queries"):
        run(space, flat_cost_signal(syn), [1], Budget("queries", 10, "drop"), nh.NeighborhoodSpec())


def test_random_seed_signal_is_drawn_once_per_run(syn, space):
    noisy = SyntheticBenchmark(seed=4, noise=1.0)
    sig = SearchSignal.from_bench(noisy, dataset="cifar10-valid", split="x-valid", fidelity=200, mode="random-seed")
    tr, _ = run(space, sig, [3, 3, 8, 3], Budget("queries", 100, "drop"))
    assert tr.score[0] == tr.score[1] == tr.score[3]
    seeds_of_3 = noisy.per_seed[: noisy.n_seeds_200[3], 3]
    assert tr.score[0] in seeds_of_3
    draws = {float(sig.draw(np.array([3]), np.random.default_rng(s))[0]) for s in range(40)}
    assert draws == set(seeds_of_3.tolist())


@pytest.mark.parametrize("kwargs,match", [
    ({"kind": "epochs", "limit": 1, "crossing": "drop"}, "budget kind"),
    ({"kind": "time", "limit": 1, "crossing": "maybe"}, "crossing rule"),
    ({"kind": "time", "limit": -5, "crossing": "drop"}, "positive"),
    ({"kind": "queries", "limit": 10.5, "crossing": "drop"}, "whole number"),
    ({"kind": "time", "limit": 5, "crossing": "drop", "max_steps": 0}, "max_steps"),
])
def test_bad_budgets(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        Budget(**kwargs)


def test_bad_accounting(syn, space):
    with pytest.raises(ConfigError, match="accounting"):
        NeighborhoodScorer(flat_cost_signal(syn), np.random.default_rng(0), space, nh.NeighborhoodSpec(), "free")
