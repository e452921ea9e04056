"""Loaders: coverage, reshuffling, reproducibility, DDP sharding equal to one process, worker independence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
torch = pytest.importorskip("torch", reason='needs PyTorch: pip install "nabench[torch]"')

from nabench.errors import ConfigError
from nabench.vision import synthetic
from nabench.vision.datasets import build_dataset
from nabench.vision.loaders import SeededSampler, make_loader

# One intra-op thread: with two test workers on two cores, more threads oversubscribe and spin.
torch.set_num_threads(1)


@pytest.fixture(scope="module")
def cifar_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cifar")
    synthetic.write_cifar(root, "cifar10", 50, 10, np.random.default_rng(3))
    return root


def _epoch(loader) -> tuple[torch.Tensor, torch.Tensor]:
    xs, ys = zip(*loader)
    return torch.cat(xs), torch.cat(ys)


def test_train_loader_covers_each_image_once_and_reshuffles(cifar_root: Path) -> None:
    ds = build_dataset("cifar10", cifar_root, "train")
    loader = make_loader(ds, 16, train=True, generator=torch.Generator().manual_seed(0), workers=0)
    orders = []
    for epoch in range(2):
        loader.sampler.set_epoch(epoch)
        orders.append([i for i, _ in loader.sampler])
        _, y = _epoch(loader)
        assert len(y) == 50
    assert sorted(orders[0]) == list(range(50)) and orders[0] != orders[1]
    # Without set_epoch, each pass moves on by itself.
    fresh = make_loader(ds, 16, train=True, generator=torch.Generator().manual_seed(0), workers=0)
    assert [i for i, _ in fresh.sampler] == orders[0]
    assert [i for i, _ in fresh.sampler] == orders[1]


def test_same_generator_seed_same_batches_any_worker_count(cifar_root: Path) -> None:
    ds = build_dataset("cifar10", cifar_root, "train", augment=True, cutout=8)
    runs = [_epoch(make_loader(ds, 8, train=True, generator=torch.Generator().manual_seed(5), workers=w))
            for w in (0, 2)]
    assert torch.equal(runs[0][0], runs[1][0]) and torch.equal(runs[0][1], runs[1][1])
    other = _epoch(make_loader(ds, 8, train=True, generator=torch.Generator().manual_seed(6), workers=0))
    assert not torch.equal(runs[0][0], other[0])


def test_two_ranks_split_each_global_batch_of_one_process(cifar_root: Path) -> None:
    ds = build_dataset("cifar10", cifar_root, "train", augment=True)
    single = SeededSampler(ds, num_replicas=1, rank=0, seed=11)
    ranks = [SeededSampler(ds, num_replicas=2, rank=r, seed=11) for r in (0, 1)]
    for s in [single, *ranks]:
        s.set_epoch(3)
    one = list(single)
    r0, r1 = list(ranks[0]), list(ranks[1])
    assert len(r0) == len(r1) == 25
    global_batch, local = 10, 5
    for b in range(5):
        merged = r0[b * local:(b + 1) * local] + r1[b * local:(b + 1) * local]
        assert sorted(merged) == sorted(one[b * global_batch:(b + 1) * global_batch])


def test_eval_shards_are_disjoint_without_padding(cifar_root: Path) -> None:
    ds = build_dataset("cifar10", cifar_root, "test")
    shards = [SeededSampler(ds, num_replicas=3, rank=r, shuffle=False, pad=False) for r in range(3)]
    seen = [i for s in shards for i, _ in s]
    assert sorted(seen) == list(range(10)) and [len(s) for s in shards] == [4, 3, 3]


def test_loader_argument_errors(cifar_root: Path) -> None:
    ds = build_dataset("cifar10", cifar_root, "test")
    with pytest.raises(ConfigError, match="torch.Generator"):
        make_loader(ds, 4, train=False, generator=0)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="batch size"):
        make_loader(ds, 0, train=False, generator=torch.Generator())
    with pytest.raises(ConfigError, match="torchrun"):
        make_loader(ds, 4, train=False, generator=torch.Generator(), distributed=True)
