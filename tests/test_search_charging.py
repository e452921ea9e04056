"""Charging rules: ``every`` charges each proposal (repeats included) and re-reads per-seed signals;
``once`` is the rule nabench used before ``charge`` existed and gives the same trajectories as then."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from nabench import neighborhood as nh
from nabench.errors import ConfigError
from nabench.experiments.config import make_cell
from nabench.experiments.worker import rngs
from nabench.search import (Budget, NeighborhoodScorer, Scorer, SearchSignal, Space, make_search_task, registry,
                            run_search)
from nabench.search.synthetic import SyntheticBenchmark
from scripted_searcher import Scripted

#: Fingerprints (sha256 of arch, score, time, incumbent, charged; steps) of runs made with the code
#: before the charging rule existed (commit 3635642, /tmp worktree, the script in this file's
#: ``fingerprint`` below): ``charge="once"`` must reproduce them bit for bit.
BEFORE = {
    "rs/0": ("8424c6d6d5bd737f", 39), "rs/1": ("ee299dd5ff55fc24", 41), "rs/2": ("2d60b03cb24fc147", 42),
    "na-rs/0": ("1072b97e0ef11a0d", 25), "na-rs/1": ("b6009bda94aba0e9", 26), "na-rs/2": ("359f86e02d0535bf", 27),
    "rea/0": ("60b62b2a386b2f1d", 38), "rea/1": ("c91208409581764a", 46), "rea/2": ("d4c62c89bb33a34f", 40),
    "na-rea/0": ("0ba102d3015984ce", 29), "na-rea/1": ("5e4b5abcaf19547e", 30), "na-rea/2": ("f117300a59e8a0bd", 29),
    "bo/0": ("efda175186e3f761", 40), "bo/1": ("5f0d8c499309951f", 40), "bo/2": ("84b1ab510a5a97f2", 40),
    "na-bo/0": ("7b785f965c8fd4a1", 8), "na-bo/1": ("f629e4aa392486c5", 9), "na-bo/2": ("6cf95e0c348607d9", 8),
    "ls/0": ("8f677ea2d35f1b26", 39), "ls/1": ("24ee5d50faa7fed3", 40), "ls/2": ("9f8c1690576a985b", 37),
    "na-ls/0": ("bb2f512c1b42391f", 33), "na-ls/1": ("c156f7beb229c312", 30), "na-ls/2": ("4144e6d1c68a2d08", 31),
    "reinforce/0": ("16322b24d1d458f7", 42), "reinforce/1": ("37c9ef7ba9242338", 40),
    "reinforce/2": ("15e290f406a36de8", 38), "na-reinforce/0": ("dfeed4d92c5d6cd0", 28),
    "na-reinforce/1": ("7d25f423f0c08d49", 25), "na-reinforce/2": ("9ad631f8e24d5d1b", 27),
}
#: NB201 protocol on the real tables, before the charging rule: (final arch, steps) of seeds 0..5.
BEFORE_REAL = {"rs": [(7419, 108), (12761, 112), (14375, 111), (12158, 111), (9941, 107), (4747, 113)],
               "rea": [(541, 119), (14174, 125), (14174, 120), (4747, 125), (13714, 112), (13714, 116)]}


@pytest.fixture(scope="module")
def noisy():
    return SyntheticBenchmark(seed=4, noise=1.0)


@pytest.fixture(scope="module")
def space(noisy):
    return Space(noisy.order)


@pytest.fixture(scope="module")
def per_seed(noisy):
    return SearchSignal.from_bench(noisy, dataset="cifar10-valid", split="x-valid", fidelity=200, mode="random-seed")


def flat(syn, cost=100.0):
    return SearchSignal("cifar10-valid", "x-valid", 12, "mean", syn.valid[None], np.ones(syn.n_archs, dtype=np.int64),
                        np.full(syn.n_archs, cost))


def fingerprint(tr) -> tuple[str, int]:
    h = hashlib.sha256()
    for a in (tr.arch, tr.score, tr.time, tr.incumbent, tr.charged):
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:16], len(tr)


@pytest.mark.parametrize("key", sorted(BEFORE))
def test_once_reproduces_the_trajectories_from_before(noisy, space, per_seed, key):
    name, seed = key.split("/")
    base, na = registry.parse_name(name)
    r1, r2 = rngs(int(seed))
    scorer = NeighborhoodScorer(per_seed, r2, space, nh.NeighborhoodSpec(k=4)) if na else Scorer(per_seed, r2)
    budget = (Budget("queries", 40, "keep", charge="once") if base == "bo"
              else Budget("time", 200000.0 if na else 60000.0, "drop", charge="once"))
    assert fingerprint(run_search(registry.make(base, space, r1), scorer, budget)) == BEFORE[key]


def test_once_reproduces_nb201_protocol_before(bench):
    sig = SearchSignal.from_bench(bench, dataset="cifar10-valid", split="x-valid", fidelity=12, mode="mean")
    task = make_search_task("nb201", charge="once")
    assert task.budget.charge == "once"
    for name, expected in BEFORE_REAL.items():
        got = []
        for seed in range(len(expected)):
            r1, r2 = rngs(seed)
            s = registry.make(name, bench.space, r1, task.searcher_defaults.get(name, {}))
            tr = run_search(s, Scorer(sig, r2), task.budget)
            got.append((tr.final, len(tr)))
        assert got == expected, name


def test_every_charges_repeats(noisy, space):
    sig = flat(noisy)
    once = run_search(Scripted(space, np.random.default_rng(0), [5, 5, 9, 5, 9, 11]), Scorer(sig, np.random.default_rng(0)),
                      Budget("queries", 3, "drop", charge="once"))
    every = run_search(Scripted(space, np.random.default_rng(0), [5, 5, 9, 5, 9, 11]),
                       Scorer(sig, np.random.default_rng(0)), Budget("queries", 3, "drop", charge="every"))
    assert once.arch.tolist() == [5, 5, 9, 5, 9, 11] and once.charged.tolist() == [1, 0, 1, 0, 0, 1]
    assert every.arch.tolist() == [5, 5, 9] and every.charged.tolist() == [1, 1, 1]
    assert every.time.tolist() == [100, 200, 300] and every.queries.tolist() == [1, 2, 3]
    assert every.candidates.tolist() == every.cells_read.tolist() == [1, 2, 3]
    assert once.candidates.tolist() == [1, 2, 3, 4, 5, 6] and once.queries[-1] == 3


def test_every_reads_a_fresh_seed_per_query(noisy, space, per_seed):
    seeds_of_3 = noisy.per_seed[: noisy.n_seeds_200[3], 3]
    assert len(set(seeds_of_3.tolist())) > 1
    every = run_search(Scripted(space, np.random.default_rng(0), [3]), Scorer(per_seed, np.random.default_rng(1)),
                       Budget("queries", 60, "drop", charge="every"))
    once = run_search(Scripted(space, np.random.default_rng(0), [3]), Scorer(per_seed, np.random.default_rng(1)),
                      Budget("time", 1e9, "drop", max_steps=60, charge="once"))
    assert len(every) == 60 and set(every.score.tolist()) == set(seeds_of_3.tolist())
    assert len(set(once.score.tolist())) == 1 and once.score[0] in seeds_of_3
    # the incumbent is the best read so far, as in the official code (max over the history of reads)
    assert every.incumbent_score[-1] == seeds_of_3.max()


def test_every_under_a_mean_signal_is_a_prefix_of_once(noisy, space):
    """A deterministic signal reads the same values under both rules, so the searchers decide the same;
    ``every`` only ends sooner, by the repeats it pays for."""
    sig = SearchSignal.from_bench(noisy, dataset="cifar10-valid", split="x-valid", fidelity=12, mode="mean")
    for name in ("rs", "rea", "ls"):
        for seed in range(3):
            tr = {}
            for charge in ("once", "every"):
                r1, r2 = rngs(seed)
                tr[charge] = run_search(registry.make(name, space, r1), Scorer(sig, r2),
                                        Budget("time", 30_000.0, "drop", charge=charge))
            n = len(tr["every"])
            assert tr["every"].arch.tolist() == tr["once"].arch[:n].tolist()
            repeats = n - len(set(tr["every"].arch.tolist()))
            assert tr["every"].queries[-1] == n and tr["every"].time[-1] == pytest.approx(sig.cost[tr["every"].arch].sum())
            assert (repeats > 0) == (n < len(tr["once"])) or name == "rs"


def test_na_neighbors_are_charged_at_every_step_under_every(noisy, space):
    spec = nh.NeighborhoodSpec()
    a = 100
    b = int(space.neighbors(a)[0])
    na = set(nh.members(space.order, spec, rows=[a]).index[0].tolist())
    nb = set(nh.members(space.order, spec, rows=[b]).index[0].tolist())
    for charge, expected in (("once", [25, len(nb - na), 0]), ("every", [25, 25, 25])):
        tr = run_search(Scripted(space, np.random.default_rng(0), [a, b, a]),
                        NeighborhoodScorer(flat(noisy), np.random.default_rng(0), space, spec),
                        Budget("queries", 1000, "drop", max_steps=3, charge=charge))
        assert tr.charged.tolist() == expected and tr.cells_read.tolist() == [25, 50, 75]
        assert tr.candidates.tolist() == [1, 2, 3]


def test_presets_and_overrides():
    assert make_search_task("nb201").budget.charge == "every"
    for ds in ("cifar10", "cifar100", "ImageNet16-120"):
        assert make_search_task("nats", ds).budget.charge == "every"
    assert make_search_task("queries").budget.charge == "once"
    assert make_search_task("nb201", charge="once").budget.charge == "once"
    assert make_cell("nb201", "cifar10", "rs", "x", {"charge": "once"}).task.budget.charge == "once"
    assert make_search_task("nb201").to_dict()["budget"]["charge"] == "every"
    a = make_cell("nb201", "cifar10", "rs").to_dict()
    b = make_cell("nb201", "cifar10", "rs", "default", {"charge": "once"}).to_dict()
    assert a != b  # the charging rule is part of a cell's identity (run keys)


def test_bad_charge_rules():
    with pytest.raises(ConfigError, match="charging rule"):
        Budget("time", 10.0, "drop", charge="twice")
    with pytest.raises(ConfigError, match="charge"):
        make_cell("nb201", "cifar10", "rs", "x", {"charge": "sometimes"})


def test_cli_charge_flag():
    import argparse

    from nabench.commands import run as run_cmd

    parser = argparse.ArgumentParser()
    run_cmd.register(parser.add_subparsers())
    args = parser.parse_args(["run", "--searcher", "rs,rea", "--charge", "once"])
    grid = run_cmd.grid_from_args(args)
    assert {c.task.budget.charge for c in grid.cells} == {"once"}
    args = parser.parse_args(["run", "--searcher", "rs,rea"])
    assert {c.task.budget.charge for c in run_cmd.grid_from_args(args).cells} == {"every"}
