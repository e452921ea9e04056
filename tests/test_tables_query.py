"""The query API: argument forms, seeds, costs and every error path."""

from __future__ import annotations

import numpy as np
import pytest

from nabench.errors import ConfigError, NotAvailableError
from nabench.spaces import nb201

BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
Q = dict(dataset="cifar10-valid", split="x-valid", fidelity=200)


def test_architecture_forms_agree(bench):
    by_index = bench.accuracy(6111, **Q)
    assert np.ndim(by_index) == 0
    assert bench.accuracy(BEST, **Q) == by_index
    assert bench.accuracy(nb201.parse(BEST), **Q) == by_index
    arr = bench.accuracy([6111, 0, 6111], **Q)
    assert arr.shape == (3,) and arr[0] == arr[2] == by_index
    ops = np.array([bench.order.ops(i) for i in (6111, 0)])
    np.testing.assert_array_equal(bench.accuracy(ops, **Q), arr[:2])
    np.testing.assert_array_equal(bench.accuracy([BEST, bench.arch_str(0)], **Q), arr[:2])


def test_seed_mean_is_mean_of_seeds(bench):
    idx = np.arange(0, 15625, 13)
    per = np.stack([bench.accuracy(idx, **Q, seed=s) for s in (777, 888)], axis=1)
    mean = bench.accuracy(idx, **Q)
    three = bench.n_seeds(dataset="cifar10-valid", fidelity=200)[idx] == 3
    per3 = np.column_stack([per[three], bench.accuracy(idx[three], **Q, seed=999)])
    np.testing.assert_allclose(mean[three], per3.mean(1), rtol=0, atol=1e-9)
    np.testing.assert_allclose(mean[~three], per[~three].mean(1), rtol=0, atol=1e-9)


def test_generator_draws_existing_seeds_reproducibly(bench):
    idx = np.arange(15625)
    a = bench.accuracy(idx, **Q, seed=np.random.default_rng(3))
    b = bench.accuracy(idx, **Q, seed=np.random.default_rng(3))
    c = bench.accuracy(idx, **Q, seed=np.random.default_rng(4))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert not np.isnan(a).any()
    per = bench._a["acc.cifar10-valid.x-valid.200.seed"]
    assert np.all((per == a[:, None]).any(axis=1))
    # every available seed gets drawn for three-seed cells
    three = np.flatnonzero(bench.n_seeds(dataset="cifar10-valid", fidelity=200) == 3)[:1]
    draws = {float(bench.accuracy(three, **Q, seed=np.random.default_rng(s))[0]) for s in range(60)}
    assert len(draws) == len(set(per[three[0]]))


def test_costs(bench):
    idx = np.arange(100)
    c200 = bench.cost(idx, dataset="cifar10-valid", fidelity=200)
    np.testing.assert_allclose(bench.cost(idx, dataset="cifar10-valid", fidelity=12), c200 * 12 / 200)
    np.testing.assert_allclose(bench.cost(idx, dataset="cifar10", fidelity=200), 2 * c200)
    assert (bench.cost(idx, dataset="ImageNet16-120", fidelity=12) > 0).all()


def test_unknown_names_list_valid_choices(bench):
    with pytest.raises(ConfigError, match=r"did you mean 'ImageNet16-120'.*valid datasets are"):
        bench.accuracy(0, dataset="imagenet16-120", split="x-test", fidelity=200)
    with pytest.raises(ConfigError, match="valid splits"):
        bench.accuracy(0, dataset="cifar100", split="test", fidelity=200)
    with pytest.raises(ConfigError, match="valid fidelities.*12, 200"):
        bench.accuracy(0, dataset="cifar100", split="x-test", fidelity=90)


def test_cifar10_has_no_validation_split(bench):
    with pytest.raises(ConfigError, match="no validation split.*cifar10-valid"):
        bench.accuracy(0, dataset="cifar10", split="x-valid", fidelity=200)


def test_per_seed_requests_where_only_means_exist(bench):
    with pytest.raises(NotAvailableError, match="only seed means"):
        bench.accuracy(0, dataset="cifar10-valid", split="x-valid", fidelity=12, seed=777)
    with pytest.raises(NotAvailableError, match="only seed means"):
        bench.accuracy(0, dataset="cifar10", split="ori-test", fidelity=200, seed=np.random.default_rng(0))
    two = int(np.flatnonzero(bench.n_seeds(dataset="cifar100", fidelity=200) == 2)[0])
    with pytest.raises(NotAvailableError, match="seed 999"):
        bench.accuracy([0, two], dataset="cifar100", split="x-valid", fidelity=200, seed=999)
    with pytest.raises(ConfigError, match="was not trained"):
        bench.accuracy(0, **Q, seed=123)
    with pytest.raises(ConfigError, match="seed must be"):
        bench.accuracy(0, **Q, seed="random")


def test_quantities_not_in_this_store(bench):
    with pytest.raises(NotAvailableError, match="no accuracy for cifar10 split train"):
        bench.accuracy(0, dataset="cifar10", split="train", fidelity=200)
    with pytest.raises(NotAvailableError, match="loss"):
        bench.loss(0, **Q)
    with pytest.raises(NotAvailableError, match="curves come from official files"):
        bench.curve(0, **Q)
    with pytest.raises(NotAvailableError, match="hardware-latency"):
        bench.device_latency(0, device="pixel3")


def test_bad_architectures(bench):
    with pytest.raises(nb201.ArchError, match="out of range"):
        bench.accuracy(15625, **Q)
    with pytest.raises(nb201.ArchError, match="unknown op"):
        bench.accuracy("|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|", **Q)


def test_available_lists_what_the_store_holds(bench):
    assert bench.has("acc", "cifar10-valid", "x-valid", 12)
    assert not bench.has("acc", "cifar10-valid", "x-valid", 12, per_seed=True)
    combos = bench.available()
    assert ("acc", "cifar10", "ori-test", 200, "mean") in combos
    assert all(c[0] == "acc" for c in combos)
