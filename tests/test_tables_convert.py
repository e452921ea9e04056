"""The store built from the upstream mirror reproduces the canonical tables in ../shared/data exactly.

The canonical CSVs carry 10 significant digits (``%.10g``); every stored value, formatted the same
way, must equal them.
"""

from __future__ import annotations

import gzip
import json

import numpy as np
import pandas as pd
import pytest

ALL = np.arange(15625)


def g10(values: np.ndarray) -> np.ndarray:
    """Round to the 10 significant digits the canonical CSVs were written with."""
    return np.array([float(f"{v:.10g}") if np.isfinite(v) else np.nan for v in np.ravel(values)])


def same(ours: np.ndarray, theirs: pd.Series) -> None:
    theirs_arr = theirs.to_numpy(np.float64)
    np.testing.assert_array_equal(g10(ours), theirs_arr)


@pytest.fixture(scope="module")
def main(shared_data):
    return pd.read_csv(shared_data / "nb201_200epoch.csv.gz")


@pytest.fixture(scope="module")
def per_seed(shared_data):
    return pd.read_csv(shared_data / "nb201_200epoch_per_seed.csv.gz")


ACC_200 = {
    "cifar10_valid_xvalid": ("cifar10-valid", "x-valid"),
    "cifar10_test": ("cifar10", "ori-test"),
    "cifar100_xvalid": ("cifar100", "x-valid"),
    "cifar100_xtest": ("cifar100", "x-test"),
    "cifar100_oritest": ("cifar100", "ori-test"),
    "imagenet16_xvalid": ("ImageNet16-120", "x-valid"),
    "imagenet16_xtest": ("ImageNet16-120", "x-test"),
    "imagenet16_oritest": ("ImageNet16-120", "ori-test"),
}
PREFIX = {"cifar10_valid": "cifar10-valid", "cifar100": "cifar100", "imagenet16": "ImageNet16-120"}


def test_golden_lookups(bench):
    assert round(float(bench.accuracy(6111, dataset="cifar10", split="ori-test", fidelity=200)), 4) == 94.3733
    assert round(float(bench.accuracy(6111, dataset="cifar10-valid", split="x-valid", fidelity=200)), 4) == 91.6067
    assert round(float(bench.accuracy(9930, dataset="cifar100", split="x-test", fidelity=200)), 4) == 73.5133
    assert round(float(bench.accuracy(857, dataset="ImageNet16-120", split="x-test", fidelity=200)), 4) == 47.3111


@pytest.mark.parametrize("column", list(ACC_200))
def test_200_epoch_accuracy_columns(bench, main, column):
    ds, split = ACC_200[column]
    same(bench.accuracy(ALL, dataset=ds, split=split, fidelity=200), main[column])


@pytest.mark.parametrize("prefix", list(PREFIX))
def test_params_time_latency_columns(bench, main, prefix):
    ds = PREFIX[prefix]
    same(bench.params(ALL, dataset=ds), main[f"{prefix}_params_mb"])
    same(bench.cost(ALL, dataset=ds, fidelity=200), main[f"{prefix}_train_time_s"])
    same(bench.latency(ALL, dataset=ds), main[f"{prefix}_latency_s"])


def test_seed_counts_and_param_quirk_flag(bench, main):
    for ds in PREFIX.values():
        np.testing.assert_array_equal(bench.n_seeds(dataset=ds, fidelity=200), main["n_seeds"])
    recorded = bench._a["params.cifar10-valid.seed"]
    differ = (np.nanmax(recorded, axis=1) != np.nanmin(recorded, axis=1)).astype(int)
    np.testing.assert_array_equal(differ, main["params_differ_across_seeds"])
    assert differ.sum() == 204


@pytest.mark.parametrize("dataset", ["cifar10-valid", "cifar100", "ImageNet16-120"])
def test_per_seed_columns(bench, per_seed, dataset):
    rows = per_seed[per_seed["dataset"] == dataset]
    arch, rank = rows["arch_index"].to_numpy(), rows["seed_rank"].to_numpy()
    xvalid = bench._a[f"acc.{dataset}.x-valid.200.seed"][arch, rank]
    same(xvalid, rows["x_valid_acc"])
    same(bench._a[f"params.{dataset}.seed"][arch, rank], rows["params_mb_recorded"])
    np.testing.assert_array_equal(bench.n_seeds(dataset=dataset, fidelity=200)[arch], rows["n_seeds"])
    if dataset != "cifar10-valid":
        same(bench._a[f"acc.{dataset}.ori-test.200.seed"][arch, rank], rows["ori_test_acc"])
        same(bench._a[f"acc.{dataset}.x-test.200.seed"][arch, rank], rows["x_test_acc_derived"])
    # the query API returns the same per-seed values through explicit seeds
    seeds = np.array([777, 888, 999])[rank]
    for s in (777, 888):
        mask = seeds == s
        got = bench.accuracy(arch[mask], dataset=dataset, split="x-valid", fidelity=200, seed=s)
        np.testing.assert_array_equal(got, xvalid[mask])


def test_12_epoch_columns(bench, shared_data):
    frame = pd.read_csv(shared_data / "nb201_12epoch.csv.gz")
    cols = {"cifar10_test": ("cifar10", "ori-test"), "cifar10_valid_xvalid": ("cifar10-valid", "x-valid"),
            "cifar100_xtest": ("cifar100", "x-test"), "cifar100_xvalid": ("cifar100", "x-valid"),
            "imagenet16_xtest": ("ImageNet16-120", "x-test"), "imagenet16_xvalid": ("ImageNet16-120", "x-valid")}
    for col, (ds, split) in cols.items():
        same(bench.accuracy(ALL, dataset=ds, split=split, fidelity=12), frame[col])
    assert all(bench.arch_str(i) == frame["arch_str"][i] for i in range(0, 15625, 31))


def test_flops_and_params_match_official_records(bench, shared_data):
    raw = json.load(gzip.open(shared_data / "nats_raw_samples.json.gz", "rt"))["tss"]
    checked = 0
    for index, by_hp in raw.items():
        for name, run in by_hp["200"]["runs"].items():
            ds = name.split("@")[0]
            assert float(bench.flops(int(index), dataset=ds)) == pytest.approx(run["flop_m"], abs=1e-9)
            assert float(bench.params(int(index), dataset=ds)) == pytest.approx(run["params_mb"], abs=1e-9)
            assert float(bench.latency(int(index), dataset=ds)) == pytest.approx(run["latency_s"][0], abs=1e-12)
            checked += 1
    assert checked == 36


def test_cost_model_matches_official_12_epoch_times(bench, shared_data):
    raw = json.load(gzip.open(shared_data / "nats_raw_samples.json.gz", "rt"))["tss"]
    for index, by_hp in raw.items():
        for name, run in by_hp["12"]["runs"].items():
            ds = name.split("@")[0]
            assert float(bench.cost(int(index), dataset=ds, fidelity=12)) == pytest.approx(sum(run["train_time_s"]), rel=1e-9)
        for name, run in by_hp["200"]["runs"].items():
            ds = name.split("@")[0]
            assert float(bench.cost(int(index), dataset=ds, fidelity=200)) == pytest.approx(sum(run["train_time_s"]), rel=1e-9)
