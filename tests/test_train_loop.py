"""The trainer: learning on tiny data, exact resume after a crash, guarded run folders, seeded weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
torch = pytest.importorskip("torch", reason='needs PyTorch: pip install "nabench[torch]"')

from nabench.errors import ConfigError, IntegrityError
from nabench.train import checkpoint as ckpt
from nabench.train.distributed import setup
from nabench.train.initialization import init_parameters, materialize
from nabench.train.networks import NetworkSpec, network_spec
from nabench.train.recipes import get_recipe
from nabench.train.trainer import CHECKPOINT, FINAL, METRICS, TrainOptions, Trainer
from nabench.vision import synthetic
from nabench.vision.datasets import build_dataset
from nabench.vision.loaders import make_loader

# One intra-op thread: with two test workers on two cores, more threads oversubscribe and spin.

TOP = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
TINY_NB201 = NetworkSpec("nb201", TOP, "cifar10", channels=4, layers=1)
TINY_DARTS = NetworkSpec("darts", "darts-v2", "cifar10", auxiliary=True, channels=4, layers=3)
OPTS = TrainOptions(seed=3, workers=0, progress=False)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cifar")
    synthetic.write_cifar(path, "cifar10", 96, 32, np.random.default_rng(0))
    return path


def _trainer(root: Path, out: Path, spec: NetworkSpec, preset: str, epochs: int, batch: int, on_step=None,
             options: TrainOptions = OPTS, n_train: int | None = None) -> Trainer:
    recipe = get_recipe(preset).override(epochs=epochs, batch_size=batch)
    train = build_dataset("cifar10", root, "train", augment=recipe.augment, cutout=recipe.cutout)
    if n_train is not None:
        train.images, train.labels = train.images[:n_train], train.labels[:n_train]
    test = build_dataset("cifar10", root, "test")
    return Trainer(spec, train, test, recipe, out, setup("cpu"), options, {"network": spec.as_dict()}, on_step)


def test_one_epoch_lowers_the_training_loss(root: Path, tmp_path: Path) -> None:
    trainer = _trainer(root, tmp_path / "run", TINY_NB201, "nb201-12", epochs=1, batch=16)
    # Measure the loss on the (unaugmented) training images, before and after the epoch.
    trainer.test_loader = make_loader(build_dataset("cifar10", root, "train"), 32, train=False,
                                      generator=torch.Generator(), workers=0)
    before = trainer.evaluate()["test_loss"]
    summary = trainer.fit()
    after = trainer.evaluate()["test_loss"]
    assert after < before
    assert summary["epochs"] == 1 and (tmp_path / "run" / FINAL).is_file()
    lines = (tmp_path / "run" / METRICS).read_text().splitlines()
    assert lines[0].startswith("epoch,lr,train_loss") and len(lines) == 2


class Crash(Exception):
    pass


def _crash_at(epoch: int, step: int):
    def hook(e: int, s: int) -> None:
        if (e, s) == (epoch, step):
            raise Crash

    return hook


def test_crash_mid_epoch_then_resume_ends_in_the_same_state(root: Path, tmp_path: Path) -> None:
    kwargs = dict(spec=TINY_DARTS, preset="darts-cifar", epochs=3, batch=16, n_train=48)
    _trainer(root, tmp_path / "straight", **kwargs).fit()
    with pytest.raises(Crash):
        # Epoch 0 draws no drop-path masks (the rate ramps up from 0), so crash in epoch 2 to make the
        # resumed run depend on the restored generator state.
        _trainer(root, tmp_path / "crashed", on_step=_crash_at(2, 1), **kwargs).fit()
    assert ckpt.load(tmp_path / "crashed" / CHECKPOINT)["epoch"] == 2
    resumed = _trainer(root, tmp_path / "crashed", **kwargs)
    assert resumed.start_epoch == 2
    resumed.fit()
    a = ckpt.load(tmp_path / "straight" / CHECKPOINT)
    b = ckpt.load(tmp_path / "crashed" / CHECKPOINT)
    assert a["epoch"] == b["epoch"] == 3
    for name, tensor in a["model"].items():
        assert torch.equal(tensor, b["model"][name]), name
    for k, st in a["optimizer"]["state"].items():
        assert torch.equal(st["momentum_buffer"], b["optimizer"]["state"][k]["momentum_buffer"])
    assert a["scheduler"]["last_epoch"] == b["scheduler"]["last_epoch"] == 9
    assert torch.equal(a["rng"][0]["generators"]["drop_path"], b["rng"][0]["generators"]["drop_path"])
    assert torch.equal(a["rng"][0]["torch"], b["rng"][0]["torch"])
    timing = ("epoch_time_s", "images_per_s")
    strip = [[{k: v for k, v in row.items() if k not in timing} for row in c["history"]] for c in (a, b)]
    assert strip[0] == strip[1] and len(strip[0]) == 3
    assert len((tmp_path / "crashed" / METRICS).read_text().splitlines()) == 4


def test_a_different_run_in_the_same_folder_is_refused(root: Path, tmp_path: Path) -> None:
    _trainer(root, tmp_path / "run", TINY_NB201, "nb201-12", epochs=1, batch=32).fit()
    with pytest.raises(ConfigError, match="different run"):
        _trainer(root, tmp_path / "run", TINY_NB201, "nb201-12", epochs=1, batch=16)
    # The same run again is already finished: it returns the recorded summary without training.
    again = _trainer(root, tmp_path / "run", TINY_NB201, "nb201-12", epochs=1, batch=32,
                     on_step=_crash_at(0, 0)).fit()
    assert again["epochs"] == 1


def test_damaged_checkpoint_is_reported(root: Path, tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / CHECKPOINT).write_bytes(b"not a checkpoint")
    with pytest.raises(IntegrityError, match="delete it"):
        _trainer(root, tmp_path / "run", TINY_NB201, "nb201-12", epochs=1, batch=32)


def test_recipe_must_fit_the_network(root: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="auxiliary head"):
        _trainer(root, tmp_path / "run", TINY_NB201, "darts-cifar", epochs=1, batch=32)
    with pytest.raises(ConfigError, match="divisible"):
        recipe = get_recipe("nb201-12").override(batch_size=5)
        from nabench.train.distributed import DistEnv

        Trainer(TINY_NB201, build_dataset("cifar10", root, "test"), None, recipe, tmp_path / "x",
                DistEnv(0, 2, 0, torch.device("cpu")), OPTS)
    with pytest.raises(ConfigError, match="NAS-Bench-201 networks are defined"):
        network_spec("imagenet", arch=TOP)
    with pytest.raises(ConfigError, match="too small"):
        network_spec("ImageNet16-120", genotype="darts-v2")
    with pytest.raises(ConfigError, match="exactly one"):
        network_spec("cifar10")


def test_weights_come_from_the_generator_only() -> None:
    def weights(seed: int) -> list[torch.Tensor]:
        return [p.detach().clone() for p in materialize(TINY_NB201, "cpu", torch.Generator().manual_seed(seed)).parameters()]

    torch.manual_seed(0)
    a = weights(1)
    torch.manual_seed(12345)  # the global state must not matter
    b = weights(1)
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert not all(torch.equal(x, y) for x, y in zip(a, weights(2)))
    conv = materialize(lambda: torch.nn.Conv2d(8, 16, 3), "cpu", torch.Generator().manual_seed(0))
    bound = 1 / (8 * 9) ** 0.5
    assert float(conv.weight.detach().abs().max()) <= bound and float(conv.bias.detach().abs().max()) <= bound
    with pytest.raises(ConfigError, match="cannot initialise"):
        init_parameters(torch.nn.PReLU(), torch.Generator())


def test_one_initialiser_for_networks_and_supernets() -> None:
    """strict=False fills fused weight banks (Kaiming-uniform bounds) and grouped batch norms; strict refuses banks."""
    from nabench.oneshot.layers import GroupedBatchNorm

    class Bank(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bank = torch.nn.ParameterList([torch.nn.Parameter(torch.full((8, 4, 3, 3), 9.0))])
            self.bn = GroupedBatchNorm(8)

    net = Bank()
    with torch.no_grad():
        net.bn.weight.fill_(5.0)
    with pytest.raises(ConfigError, match="cannot initialise"):
        init_parameters(Bank(), torch.Generator().manual_seed(0))
    init_parameters(net, torch.Generator().manual_seed(0), strict=False)
    bound = 1.0 / (4 * 9) ** 0.5  # kaiming_uniform_(a=sqrt(5)) gives U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    w = net.bank[0].detach()
    assert float(w.abs().max()) <= bound and float(w.std()) > bound / 4
    assert torch.equal(net.bn.weight, torch.ones(8)) and torch.equal(net.bn.bias, torch.zeros(8))
