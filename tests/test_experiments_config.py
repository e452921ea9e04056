"""Grid configs: TOML to cells, and a clear error for every kind of bad config."""

from __future__ import annotations

import pytest

from nabench.errors import ConfigError
from nabench.experiments import grid_from_dict, load_grid, make_cell
from nabench.neighborhood import NeighborhoodSpec

GRID = """
name = "demo"
runs = 7
seed = 100

[settings.k4]
neighborhood = { k = 4, accounting = "candidate", agg = "median" }

[settings.long]
budget = 30000
crossing = "keep"
params = { rea = { population = 20 } }

[[experiment]]
protocol = "nb201"
searchers = ["rs", "na-rs", "rea"]
settings = ["default", "long"]

[[experiment]]
protocol = "nats"
datasets = ["cifar100", "ImageNet16-120"]
searchers = ["na-bo"]
settings = ["k4"]
"""


def test_grid_from_toml(tmp_path):
    p = tmp_path / "grid.toml"
    p.write_text(GRID)
    g = load_grid(p)
    assert (g.name, g.runs, g.seed) == ("demo", 7, 100)
    keys = [c.key for c in g.cells]
    assert keys == ["nb201/cifar10/rs/default", "nb201/cifar10/na-rs/default", "nb201/cifar10/rea/default",
                    "nb201/cifar10/rs/long", "nb201/cifar10/na-rs/long", "nb201/cifar10/rea/long",
                    "nats/cifar100/na-bo/k4", "nats/ImageNet16-120/na-bo/k4"]
    cells = {c.key: c for c in g.cells}
    assert cells["nb201/cifar10/rea/default"].params == {"population": 10, "tournament": 3}
    assert cells["nb201/cifar10/rea/long"].params["population"] == 20
    assert cells["nb201/cifar10/rea/long"].task.budget.limit == 30000 and cells["nb201/cifar10/rs/long"].task.budget.crossing == "keep"
    assert cells["nb201/cifar10/rs/default"].neighborhood is None
    assert cells["nb201/cifar10/na-rs/default"].neighborhood == NeighborhoodSpec()
    na_bo = cells["nats/ImageNet16-120/na-bo/k4"]
    assert na_bo.neighborhood == NeighborhoodSpec(k=4, agg="median") and na_bo.accounting == "candidate"
    assert na_bo.task.budget.limit == 120_000 and na_bo.params["acquisition"] == "mutation"
    assert na_bo.to_dict()["neighborhood"]["k"] == 4
    assert g.fingerprint == load_grid(p).fingerprint


def test_make_cell_defaults():
    c = make_cell("nats", "cifar10", "NA_REINFORCE")
    assert c.searcher == "na-reinforce" and c.base == "reinforce" and c.params == {"lr": 0.01, "momentum": 0.9}
    assert make_cell("nb201", None, "reinforce", overrides={"params": {"reinforce": {"lr": 0.1}}}).params["lr"] == 0.1


def base(**experiment):
    ex = {"protocol": "nb201", "searchers": ["rs"]}
    ex.update(experiment)
    return {"runs": 2, "experiment": [ex]}


@pytest.mark.parametrize("doc,match", [
    ({"runs": 2, "experiments": []}, "unknown key.*'experiments'"),
    ({"runs": 0, "experiment": [{"searchers": ["rs"]}]}, "runs"),
    ({"runs": 2, "seed": -1, "experiment": [{"searchers": ["rs"]}]}, "seed"),
    ({"runs": 2}, "no \\[\\[experiment\\]\\]"),
    ({"runs": 2, "experiment": {"searchers": ["rs"]}}, "array of tables"),
    (base(searcher=["rs"]), "unknown key.*'searcher'"),
    ({"runs": 2, "experiment": [{"protocol": "nb201"}]}, "names no searchers"),
    (base(searchers=["rs", "grid"]), "unknown searcher 'grid'"),
    (base(searchers=[]), "non-empty list"),
    (base(settings=["fast"]), "setting 'fast', which is not defined"),
    (base(datasets=["cifar100"]), "protocol nats"),
    (base(protocol="nb101"), "unknown protocol"),
    (dict(base(searchers=["na-rs"]), settings={"default": {"neighborhood": {"size": 3}}}), "unknown key.*'size'"),
    (dict(base(searchers=["na-rs"]), settings={"default": {"neighborhood": {"accounting": "free"}}}), "accounting"),
    (dict(base(searchers=["na-rs"]), settings={"default": {"neighborhood": {"radius": 4}}}), "radius"),
    (dict(base(), settings={"default": {"params": {"rs": {"x": 1}}}}), "unknown parameter"),
    (dict(base(), settings={"default": {"params": {"ga": {}}}}), "unknown key.*'ga'"),
    (dict(base(), settings={"default": {"budgets": 3}}), "unknown key.*'budgets'"),
    (dict(base(), settings={"default": {"signal": "median"}}), "signal in setting .default. must be one of"),
    (dict(base(), settings={"default": {"crossing": "late"}}), "crossing"),
])
def test_bad_grids(doc, match):
    with pytest.raises(ConfigError, match=match):
        grid_from_dict(doc)


def test_bad_files(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_grid(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("runs = [1,\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_grid(bad)
