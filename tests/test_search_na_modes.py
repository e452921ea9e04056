"""NA modes (full, history, select, low-fidelity neighbors) with every searcher: they run, respect the
budget, and charge what nabench.search.na says; the three counts reach the result tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nabench import neighborhood as nh
from nabench.errors import ConfigError
from nabench.experiments import grid_from_dict, run_grid
from nabench.experiments.config import make_cell
from nabench.experiments.summary import EVALUATION_COLUMNS, RUN_COLUMNS
from nabench.experiments.worker import rngs
from nabench.search import Budget, NeighborhoodScorer, Scorer, SearchSignal, Space, registry, run_search
from nabench.search.synthetic import SyntheticBenchmark
from scripted_searcher import Scripted

BASES = tuple(registry.SEARCHERS)


@pytest.fixture(scope="module")
def syn():
    return SyntheticBenchmark(seed=4, noise=1.0)


@pytest.fixture(scope="module")
def space(syn):
    return Space(syn.order)


@pytest.fixture(scope="module")
def sig12(syn):
    return SearchSignal.from_bench(syn, dataset="cifar10-valid", split="x-valid", fidelity=12, mode="mean")


@pytest.fixture(scope="module")
def sig200(syn):
    return SearchSignal.from_bench(syn, dataset="cifar10-valid", split="x-valid", fidelity=200, mode="mean")


def search(name, space, signal, budget, seed=0, **na):
    base, is_na = registry.parse_name(name)
    r1, r2 = rngs(seed)
    scorer = NeighborhoodScorer(signal, r2, space, na.pop("spec", nh.NeighborhoodSpec()), **na) if is_na \
        else Scorer(signal, r2)
    return run_search(registry.make(base, space, r1), scorer, budget)


def check_counts(tr):
    for c in (tr.candidates, tr.cells_read, tr.queries):
        assert (np.diff(c) >= 0).all()
    assert np.array_equal(tr.queries, np.cumsum(tr.charged))
    assert (tr.candidates <= np.arange(1, len(tr) + 1)).all()


@pytest.mark.parametrize("base", BASES)
@pytest.mark.parametrize("charge", ["every", "once"])
@pytest.mark.parametrize("mode,extra", [("full", {"spec": nh.NeighborhoodSpec(k=4)}), ("history", {}),
                                        ("select", {}), ("full-low", {}), ("select-low", {})])
def test_every_mode_runs_with_every_searcher_within_budget(syn, space, sig12, sig200, base, charge, mode, extra):
    low = mode.endswith("-low")
    signal = sig200 if low else sig12
    kw = dict(extra, mode=mode.replace("-low", ""), low_signal=sig12 if low else None)
    if low and "spec" not in kw:
        kw["spec"] = nh.NeighborhoodSpec(k=8)
    limit = 40_000.0 if not low else 400_000.0
    for seed in range(2):
        budget = Budget("time", limit, "drop", charge=charge)
        tr = search(f"na-{base}", space, signal, budget, seed, **kw)
        assert len(tr) > 3 and tr.time[-1] <= limit and tr.stop in ("budget", "crossing", "complete")
        check_counts(tr)
        if mode == "history":
            assert tr.cells_read[-1] >= tr.candidates[-1]
        assert tr.incumbent[-1] in tr.arch


@pytest.mark.parametrize("base", BASES)
def test_history_costs_what_the_plain_searcher_costs(syn, space, sig12, base):
    for charge in ("every", "once"):
        tr = search(f"na-{base}", space, sig12, Budget("time", 40_000.0, "drop", charge=charge), 3, mode="history")
        # each step charges the candidate only: once per proposal under every, once per new arch under once
        new = [int(a not in set(tr.arch[:i].tolist())) for i, a in enumerate(tr.arch.tolist())]
        assert tr.charged.tolist() == ([1] * len(tr) if charge == "every" else new)
        assert tr.time[-1] == pytest.approx(sig12.cost[tr.arch[np.array(tr.charged, bool)]].sum())
    # RS proposes independently of the scores: NA-RS in history mode proposes and pays exactly what RS does
    plain = search("rs", space, sig12, Budget("time", 40_000.0, "drop", charge="every"), 3)
    hist = search("na-rs", space, sig12, Budget("time", 40_000.0, "drop", charge="every"), 3, mode="history")
    assert hist.arch.tolist() == plain.arch.tolist() and hist.time.tolist() == plain.time.tolist()


def test_history_aggregates_over_neighbors_already_evaluated(syn, space, sig12):
    a = 100
    b = int(space.neighbors(a)[0])
    c = int(space.neighbors(b)[-1])
    far = int(np.flatnonzero((space.ops != space.ops[a]).sum(axis=1) == 6)[0])
    tr = run_search(Scripted(space, np.random.default_rng(0), [a, far, b, c]),
                    NeighborhoodScorer(sig12, np.random.default_rng(0), space, nh.NeighborhoodSpec(), mode="history"),
                    Budget("queries", 4, "drop", charge="every"))
    v = sig12.values[0]
    nb_c = set(space.neighbors(c).tolist())
    expect_c = [v[c]] + [v[x] for x in (a, far, b) if x in nb_c]
    assert tr.score.tolist()[:3] == pytest.approx([v[a], v[far], (v[b] + v[a]) / 2])
    assert tr.score[3] == pytest.approx(np.mean(expect_c))
    assert tr.cells_read.tolist() == [1, 2, 4, 4 + len(expect_c)] and tr.charged.tolist() == [1, 1, 1, 1]


@pytest.mark.parametrize("base", BASES)
@pytest.mark.parametrize("fraction", [0.2, 0.4])
def test_select_spends_about_f_on_neighborhoods(syn, space, sig12, base, fraction):
    limit = 40_000.0
    tr = search(f"na-{base}", space, sig12, Budget("time", limit, "drop", charge="every"), 1, mode="select",
                fraction=fraction, top=3)
    phase2 = np.flatnonzero(np.diff(np.concatenate([[0], tr.candidates])) == 0)
    assert len(phase2) > 0 and (np.diff(phase2) == 1).all() and phase2[-1] == len(tr) - 1
    first = phase2[0]
    spent1 = tr.time[first - 1]
    assert spent1 <= (1 - fraction) * limit and spent1 > (1 - fraction) * limit - sig12.cost.max()
    assert tr.time[-1] <= limit and (tr.stop == "complete" or tr.time[-1] > limit - sig12.cost.max())
    # phase 2 reads neighbors of the top-3 candidates of phase 1, each once, none evaluated before
    vals = {int(a): s for a, s in zip(tr.arch[:first], tr.score[:first])}
    tops = sorted(vals, key=lambda a: -vals[a])[:3]
    near = set().union(*(set(space.neighbors(t).tolist()) for t in tops))
    read = tr.arch[phase2].tolist()
    assert set(read) <= near and len(set(read)) == len(read) and not set(read) & set(vals)
    assert tr.final in tops
    # the returned arch is the best of the top 3 by the mean over itself and its neighbors read
    v = sig12.values[0]

    def agg(t):
        m = [t] + [x for x in set(tr.arch.tolist()) if x in set(space.neighbors(t).tolist())]
        return np.mean(v[m])

    assert tr.incumbent_score[-1] == pytest.approx(max(agg(t) for t in tops))


def test_low_fidelity_neighbors_are_charged_at_their_fidelity(syn, space, sig12, sig200):
    spec = nh.NeighborhoodSpec()
    a = 100
    members = nh.members(space.order, spec, rows=[a]).index[0]
    others = [int(m) for m in members if m != a]
    for charge in ("every", "once"):
        tr = run_search(Scripted(space, np.random.default_rng(0), [a, a]),
                        NeighborhoodScorer(sig200, np.random.default_rng(0), space, spec, low_signal=sig12),
                        Budget("time", 1e9, "drop", max_steps=2, charge=charge))
        step = sig200.cost[a] + sig12.cost[others].sum()
        assert tr.time[0] == pytest.approx(step)
        assert tr.time[1] == pytest.approx(2 * step if charge == "every" else step)
        expect = (sig200.values[0, a] + sig12.values[0, others].sum()) / 25
        assert tr.score[0] == pytest.approx(expect) and tr.raw[0] == sig200.values[0, a]
    # under a query budget a 12-epoch neighbor is 12/200 of a query: 1 + 24 * 0.06 = 2.44 per candidate
    tr = run_search(Scripted(space, np.random.default_rng(0), list(range(0, 400, 3))),
                    NeighborhoodScorer(sig200, np.random.default_rng(0), space, spec, low_signal=sig12),
                    Budget("queries", 10, "drop", charge="every"))
    assert len(tr) == 4 and tr.charged.tolist() == [25] * 4  # 4 * 2.44 = 9.76 <= 10 < 5 * 2.44


def test_bad_na_options(syn, space, sig12, sig200):
    spec = nh.NeighborhoodSpec()
    rng = np.random.default_rng(0)
    with pytest.raises(ConfigError, match="NA mode"):
        NeighborhoodScorer(sig12, rng, space, spec, mode="lazy")
    with pytest.raises(ConfigError, match="fraction"):
        NeighborhoodScorer(sig12, rng, space, spec, mode="select", fraction=1.0)
    with pytest.raises(ConfigError, match="top"):
        NeighborhoodScorer(sig12, rng, space, spec, mode="select", top=0)
    with pytest.raises(ConfigError, match="cheaper"):
        NeighborhoodScorer(sig12, rng, space, spec, low_signal=sig200)
    with pytest.raises(ConfigError, match="history"):
        NeighborhoodScorer(sig200, rng, space, spec, mode="history", low_signal=sig12)
    with pytest.raises(ConfigError, match="lower"):
        make_cell("nb201", "cifar10", "na-rs", "x", {"neighborhood": {"fidelity": 12}})
    with pytest.raises(ConfigError, match="fraction"):
        make_cell("nb201", "cifar10", "na-rs", "x", {"neighborhood": {"mode": "select", "fraction": 0}})
    with pytest.raises(ConfigError, match="fidelity"):
        make_cell("queries", "cifar10", "na-rs", "x", {"neighborhood": {"fidelity": 13}})
    c = make_cell("queries", "cifar10", "na-rs", "x", {"neighborhood": {"fidelity": 12, "mode": "select", "top": 2}})
    assert (c.na.mode, c.na.top, c.na.fidelity, c.na.fraction) == ("select", 2, 12, 0.2)


def test_cli_na_flags():
    import argparse

    from nabench.commands import run as run_cmd

    parser = argparse.ArgumentParser()
    run_cmd.register(parser.add_subparsers())
    args = parser.parse_args(["run", "--searcher", "rea,na-rea", "--protocol", "queries", "--na-mode", "select",
                              "--na-fraction", "0.3", "--na-top", "2", "--na-fidelity", "12"])
    cells = {c.searcher: c for c in run_cmd.grid_from_args(args).cells}
    assert cells["rea"].na is None
    assert (cells["na-rea"].na.mode, cells["na-rea"].na.fraction, cells["na-rea"].na.top,
            cells["na-rea"].na.fidelity) == ("select", 0.3, 2, 12)


def test_counts_reach_the_tables(tmp_path, bench):
    g = grid_from_dict({"runs": 3, "seed": 0, "settings": {"hist": {"neighborhood": {"mode": "history"}},
                                                           "sel": {"neighborhood": {"mode": "select"}},
                                                           "cand": {"neighborhood": {"accounting": "candidate"}},
                                                           "low": {"neighborhood": {"fidelity": 12, "k": 4}}},
                        "experiment": [{"protocol": "nb201", "searchers": ["rea", "na-rea"],
                                        "settings": ["default", "hist", "sel", "cand"]},
                                       {"protocol": "queries", "searchers": ["rs", "na-rs"],
                                        "settings": ["default", "low"]}]})
    res = run_grid(g, tmp_path / "o", bench=bench, workers=1, progress=False)
    ev = pd.read_csv(tmp_path / "o" / "evaluations.csv.gz")
    runs = pd.read_csv(tmp_path / "o" / "runs.csv")
    assert list(ev.columns) == list(EVALUATION_COLUMNS) and list(runs.columns) == list(RUN_COLUMNS)
    s = res.summary.set_index(["protocol", "searcher", "setting", "report"])
    r = s.xs("cifar10/ori-test", level="report")
    # full NA, query-matched: 25 cells read and charged per candidate (every)
    assert r.loc[("nb201", "na-rea", "default"), "cells_read"] == 25 * r.loc[("nb201", "na-rea", "default"), "candidates"]
    assert r.loc[("nb201", "na-rea", "default"), "queries"] == r.loc[("nb201", "na-rea", "default"), "cells_read"]
    # candidate-matched: 25 read, 1 charged per candidate
    cand = r.loc[("nb201", "na-rea", "cand")]
    assert cand["cells_read"] == 25 * cand["candidates"] and cand["queries"] == cand["candidates"]
    # history: charged = candidates (every), read >= candidates
    hist = r.loc[("nb201", "na-rea", "hist")]
    assert hist["queries"] == hist["candidates"] and hist["cells_read"] > hist["candidates"]
    # select: fewer candidates than cells charged (phase 2 proposes none)
    sel = r.loc[("nb201", "na-rea", "sel")]
    assert sel["candidates"] < sel["queries"]
    # low fidelity under a 150-query budget (charge once): a candidate and 4 neighbors at 12/200 of a query each
    low = runs[(runs.searcher == "na-rs") & (runs.setting == "low")]
    plain = runs[(runs.searcher == "rs") & (runs.setting == "default")]
    assert (low["queries"] <= 5 * low["candidates"]).all() and (low["queries"] > 4 * low["candidates"]).all()
    assert (low["candidates"] >= 115).all() and (low["candidates"] < plain["candidates"].min()).all()
    for (_, _, _), e in ev.groupby(["searcher", "setting", "run"]):
        assert (np.diff(e["candidates"]) >= 0).all() and (np.diff(e["cells_read"]) >= 0).all()
