"""Protocol presets: the published settings, overrides, and clear errors."""

from __future__ import annotations

import pytest

from nabench.errors import ConfigError
from nabench.search import make_search_task


def test_nb201_preset():
    t = make_search_task("nb201")
    assert (t.search_dataset, t.split, t.fidelity, t.signal) == ("cifar10-valid", "x-valid", 12, "mean")
    assert (t.budget.kind, t.budget.limit, t.budget.crossing) == ("time", 12_000.0, "drop")
    assert [r.label for r in t.reports] == ["cifar10/ori-test", "cifar100/x-test", "ImageNet16-120/x-test"]
    assert all(r.fidelity == 200 for r in t.reports)
    assert t.searcher_defaults["rea"] == {"population": 10, "tournament": 3}


@pytest.mark.parametrize("dataset,search,budget,report", [
    ("cifar10", "cifar10-valid", 20_000.0, "cifar10/ori-test"),
    ("cifar100", "cifar100", 40_000.0, "cifar100/x-test"),
    ("ImageNet16-120", "ImageNet16-120", 120_000.0, "ImageNet16-120/x-test"),
])
def test_nats_preset(dataset, search, budget, report):
    t = make_search_task("nats", dataset)
    assert t.search_dataset == search and t.split == "x-valid" and t.fidelity == 12
    assert (t.budget.limit, t.budget.crossing) == (budget, "keep")
    assert [r.label for r in t.reports] == [report]


def test_query_preset_and_overrides():
    t = make_search_task("queries", "cifar100")
    assert (t.budget.kind, t.budget.limit, t.fidelity) == ("queries", 150.0, 200)
    o = make_search_task("nats", "cifar100", budget=1000, crossing="drop", fidelity=200, signal="random-seed",
                         max_steps=9)
    assert (o.budget.limit, o.budget.crossing, o.fidelity, o.signal, o.budget.max_steps) == (1000.0, "drop", 200,
                                                                                            "random-seed", 9)


@pytest.mark.parametrize("args,kwargs,match", [
    (("darts",), {}, "unknown protocol"),
    (("nb201", "cifar100"), {}, "protocol nats"),
    (("nats", "mnist"), {}, "task dataset"),
    (("nats", "cifar10"), {"signal": "best-seed"}, "signal mode"),
    (("nats", "cifar10"), {"fidelity": 90}, "fidelity"),
    (("nats", "cifar10"), {"crossing": "half"}, "crossing"),
    (("nats", "cifar10"), {"budget": 0}, "positive"),
])
def test_bad_tasks(args, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        make_search_task(*args, **kwargs)
