"""The documented search rules, pinned by behaviour (ask/tell on a space, a synthetic benchmark, the loop).

Each test fails under the mutation named in its docstring:

* the incumbent is the earliest cell on ties (mutation: ``>=`` instead of ``>`` in the loop);
* REA's tournament is drawn with replacement (mutation: ``replace=False``, or a capped tournament);
* BO's acquisition is expected improvement (mutation: UCB, PI, or EI without its sigma term);
* LS restarts only at unseen cells (mutation: a restart from any random cell).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from nabench.search import Budget, Scorer, SearchSignal, Space, registry, run_search
from nabench.search.synthetic import SyntheticBenchmark


@pytest.fixture(scope="module")
def syn():
    return SyntheticBenchmark(seed=3)


@pytest.fixture(scope="module")
def space(syn):
    return Space(syn.order)


def _signal(bench):
    return SearchSignal.from_bench(bench, dataset="cifar10-valid", split="x-valid", fidelity=12, mode="mean")


def test_incumbent_is_the_earliest_cell_on_ties(space):
    """All cells score the same: the incumbent never leaves the first cell (a `>=` would move it every step)."""
    flat = SyntheticBenchmark(seed=3)
    flat.valid = np.full_like(flat.valid, 70.0)
    tr = run_search(registry.make("rs", space, np.random.default_rng(0)), Scorer(_signal(flat), np.random.default_rng(1)),
                    Budget("queries", 40, "drop"))
    assert len(tr) == 40 and len(set(tr.arch.tolist())) > 30
    assert (tr.incumbent == tr.arch[0]).all()
    # and a later, strictly better cell does take over
    flat.valid = flat.valid.copy()
    flat.valid[tr.arch[5]] = 71.0
    tr2 = run_search(registry.make("rs", space, np.random.default_rng(0)), Scorer(_signal(flat), np.random.default_rng(1)),
                     Budget("queries", 40, "drop"))
    assert (tr2.incumbent[:5] == tr2.arch[0]).all() and (tr2.incumbent[5:] == tr2.arch[5]).all()


class _Recording:
    """A space that records the parent of every mutation (and otherwise delegates)."""

    def __init__(self, space):
        self._space = space
        self.parents: list[int] = []

    def mutate(self, arch, rng):
        self.parents.append(int(arch))
        return self._space.mutate(arch, rng)

    def __getattr__(self, name):
        return getattr(self._space, name)


def _rea_parent(space, population, tournament, scores, seed):
    """Fill a fresh REA population with ``scores`` and return the parent of its first mutation."""
    rec = _Recording(space)
    rea = registry.make("rea", rec, np.random.default_rng(seed), {"population": population, "tournament": tournament})
    for s in scores:
        rea.tell(rea.ask(), s)
    rea.ask()
    members = [a for a, _ in rea.members]
    return members, rec.parents[-1]


def test_rea_tournament_is_drawn_with_replacement(space):
    """Population 2, tournament 2: with replacement both draws hit the worse member 1 time in 4;
    without replacement the tournament always holds both and the better one always wins."""
    worse = 0
    n = 2000
    for seed in range(n):
        members, parent = _rea_parent(space, 2, 2, [10.0, 20.0], seed)
        worse += parent == members[0]
    assert abs(worse / n - 0.25) < 0.04   # 0.25 +- 4.1 standard errors; 0 without replacement


def test_rea_tournament_larger_than_the_population_works(space):
    """Drawing with replacement allows a tournament larger than the population (sampling without would fail)."""
    members, parent = _rea_parent(space, 3, 10, [1.0, 3.0, 2.0], 0)
    assert parent in members


def _bo_after(space, syn, n_told, seed=0):
    bo = registry.make("bo", space, np.random.default_rng(seed), {"n_init": n_told, "acquisition": "exhaustive"})
    for _ in range(n_told):
        a = bo.ask()
        bo.tell(a, float(syn.valid[a]))
    return bo


def _hand_ei(bo, space, cand):
    """EI from the documented model: GP on standardized scores, exp(-theta * Hamming / d) kernel + noise."""
    ops = np.asarray(space.encode(np.asarray(bo.archs)))
    cops = np.asarray(space.encode(np.asarray(cand)))
    d = ops.shape[1]
    y = np.asarray(bo.scores)
    ys = (y - y.mean()) / y.std()
    k = np.exp(-bo.theta * (ops[:, None, :] != ops[None, :, :]).sum(-1) / d) + bo.noise * np.eye(len(ys))
    ks = np.exp(-bo.theta * (cops[:, None, :] != ops[None, :, :]).sum(-1) / d)
    mu = ks @ np.linalg.solve(k, ys)
    sigma = np.sqrt(1.0 - np.einsum("ij,ji->i", ks, np.linalg.solve(k, ks.T)))
    best = ys.max()
    z = (mu - best) / sigma
    return (mu - best) * stats.norm.cdf(z) + sigma * stats.norm.pdf(z), mu, sigma


def test_bo_acquisition_is_expected_improvement(space, syn):
    bo = _bo_after(space, syn, 12)
    cand = np.random.default_rng(5).choice(np.setdiff1d(np.arange(space.size), bo.archs), 300, replace=False)
    got = bo.expected_improvement(cand)                    # fits (theta, noise) first
    ei, mu, sigma = _hand_ei(bo, space, cand)
    np.testing.assert_allclose(got, ei, rtol=1e-6, atol=1e-10)
    # not the posterior mean, not an upper bound, not the probability of improvement
    z = (mu - (np.asarray(bo.scores) - np.mean(bo.scores)).max() / np.std(bo.scores)) / sigma
    for other in (mu, mu + 2 * sigma, stats.norm.cdf(z)):
        assert not np.allclose(got, other, rtol=1e-3)
    # and BO evaluates the EI argmax over the unevaluated cells next
    unseen = np.setdiff1d(np.arange(space.size), bo.archs)
    assert bo.ask() == int(unseen[int(np.argmax(_hand_ei(bo, space, unseen)[0]))])


def test_ls_restarts_only_at_unseen_cells(space):
    """On a rugged landscape (i.i.d. scores) LS hits many local optima; it never evaluates a cell twice."""
    scores = np.random.default_rng(11).random(space.size)
    ls = registry.make("ls", space, np.random.default_rng(2))
    asked, restarts = [], 0
    for _ in range(2500):
        a = ls.ask()
        if asked and a not in set(np.asarray(space.neighbors(asked[-1])).tolist()) and ls.current is None:
            restarts += 1
        asked.append(a)
        ls.tell(a, float(scores[a]))
    assert restarts >= 20                                  # the rule is exercised
    assert len(set(asked)) == len(asked)                   # restarts (and moves) only at unseen cells


def test_trajectory_to_frame_and_repr():
    """``Trajectory.to_frame()`` has one row per step with the per-step arrays; the repr is one short line."""
    from nabench.search import Budget, Scorer, make_signal, registry, run_search
    from nabench.search.synthetic import SyntheticBenchmark

    syn = SyntheticBenchmark(seed=3)
    sig = make_signal(syn, dataset="cifar10-valid", split="x-valid", fidelity=200, mode="mean")
    a, b = (np.random.default_rng(s) for s in np.random.SeedSequence(5).spawn(2))
    tr = run_search(registry.make("rea", syn.space, a), Scorer(sig, b), Budget("queries", 30, "drop"))
    df = tr.to_frame()
    assert len(df) == len(tr) and (df["step"] == np.arange(len(tr))).all()
    assert (df["arch"].to_numpy() == tr.arch).all() and (df["incumbent_score"].to_numpy() == tr.incumbent_score).all()
    assert {"candidates", "cells_read", "queries", "time"} <= set(df.columns)
    r = repr(tr)
    assert "\n" not in r and len(r) < 200 and f"final={tr.final}" in r and f"{len(tr)} steps" in r
