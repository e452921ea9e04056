"""Packed training: K NAS-Bench-201 networks in one batched computation follow their separate trajectories."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
torch = pytest.importorskip("torch", reason='needs PyTorch: pip install "nabench[torch]"')

from nabench.errors import ConfigError
from nabench.train import checkpoint as ckpt
from nabench.train.distributed import setup
from nabench.train.initialization import materialize
from nabench.train.networks import NetworkSpec
from nabench.train.packed import PackedNB201
from nabench.train.packed_trainer import PackedTrainer
from nabench.train.recipes import get_recipe
from nabench.train.trainer import CHECKPOINT, FINAL, TrainOptions, Trainer
from nabench.vision import synthetic
from nabench.vision.datasets import build_dataset

#: Cells covering every op, a cell with an all-none node, and the best CIFAR-10 cell.
CELLS = (
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|",
    "|none~0|+|avg_pool_3x3~0|none~1|+|skip_connect~0|none~1|nor_conv_1x1~2|",
    "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_3x3~0|avg_pool_3x3~1|nor_conv_3x3~2|",
)
#: The trajectories are compared in float64, where the packed and separate computations agree to rounding
#: (about 1e-15 here). In float32 they agree to 1e-7 per step, but BatchNorm over 16 tiny images can amplify
#: that rounding a thousandfold within a few SGD steps, so a float32 comparison would test luck, not packing.
ATOL = 1e-10


class Float64(torch.utils.data.Dataset):
    """A dataset's images as float64 (the networks are built in float64 by the ``float64`` fixture)."""

    def __init__(self, dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, item):
        x, y = self.dataset[item]
        return x.double(), y


@pytest.fixture
def float64():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def _spec(arch: str) -> NetworkSpec:
    return NetworkSpec("nb201", arch, "cifar10", channels=8, layers=1)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cifar")
    synthetic.write_cifar(path, "cifar10", 48, 16, np.random.default_rng(0))
    return path


def _sets(root: Path):
    recipe = get_recipe("nb201-12").override(epochs=2, batch_size=16)
    return (recipe, Float64(build_dataset("cifar10", root, "train", augment=True)),
            Float64(build_dataset("cifar10", root, "test")))


def _close(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    assert set(a) == set(b)
    return max(float((a[k].double() - b[k].double()).abs().max()) for k in a)


def test_packed_forward_equals_each_network() -> None:
    nets = [materialize(_spec(a), "cpu", torch.Generator().manual_seed(i)) for i, a in enumerate(CELLS)]
    packed = PackedNB201(nets).eval()
    for n in nets:
        n.eval()
    x = torch.randn(4, 9, 16, 16, generator=torch.Generator().manual_seed(0))
    out = packed(x)
    assert out.shape == (4, 3, 10)
    for k, n in enumerate(nets):
        assert torch.allclose(out[:, k], n(x[:, 3 * k:3 * k + 3]), atol=1e-5)
    shared = packed(x[:, :3])
    assert all(torch.allclose(shared[:, k], n(x[:, :3]), atol=1e-6) for k, n in enumerate(nets))
    assert [_close(s, n.state_dict()) for s, n in zip(packed.unpack(), nets)] == [0.0] * 3
    with pytest.raises(ValueError, match="channels"):
        packed(x[:, :6])


@pytest.mark.parametrize("shared", [False, True], ids=["own-data-order", "shared-data-order"])
def test_packed_training_matches_separate_runs(root: Path, tmp_path: Path, shared: bool, float64) -> None:
    """Weights, BatchNorm running statistics, losses and accuracies after 2 epochs x 3 steps, per network."""
    recipe, train, test = _sets(root)
    env = setup("cpu")
    seeds = [5, 6, 7]
    opts = [TrainOptions(seed=s, workers=0, progress=False, data_seed=11 if shared else None) for s in seeds]
    separate = []
    for k, (arch, o) in enumerate(zip(CELLS, opts)):
        t = Trainer(_spec(arch), train, test, recipe, tmp_path / f"alone{k}", env, o, {"network": _spec(arch).as_dict()})
        separate.append((t.fit(), t.model.state_dict(), t.history))
    packed = PackedTrainer([_spec(a) for a in CELLS], train, test, recipe, [tmp_path / f"pack{k}" for k in range(3)],
                           env, opts)
    assert packed.shared_data is shared and packed.steps_per_epoch == 3
    summaries = packed.fit()
    for k, (summary, state, history) in enumerate(separate):
        saved = ckpt.load(tmp_path / f"pack{k}" / CHECKPOINT)
        assert _close(saved["model"], state) < ATOL and saved["model"]["stem.0.weight"].dtype == torch.float64
        assert any("running_var" in key for key in state) and saved["model"].keys() == state.keys()
        for row, ref in zip(saved["history"], history):
            assert row["train_loss"] == pytest.approx(ref["train_loss"], abs=1e-9)
            assert row["train_acc"] == ref["train_acc"]
        # The single trainer evaluates in float32 (it upcasts logits with .float()), hence 1e-6 here.
        assert summaries[k]["test_loss"] == pytest.approx(summary["test_loss"], abs=1e-6)
        assert summaries[k]["test_acc"] == summary["test_acc"] and summaries[k]["test_top5"] == summary["test_top5"]
        assert summaries[k]["params"] == summary["params"] and summaries[k]["seed"] == seeds[k]
        assert (tmp_path / f"pack{k}" / FINAL).is_file()
    # Networks really differ (the comparison above is not vacuous).
    assert summaries[0]["params"] != summaries[1]["params"]


def test_a_packed_checkpoint_resumes_alone_and_packed(root: Path, tmp_path: Path, float64) -> None:
    """After epoch 1 of a pack, one network continued alone and the pack resumed both end where a 2-epoch run does."""
    recipe, train, test = _sets(root)
    env = setup("cpu")
    opts = [TrainOptions(seed=s, workers=0, progress=False) for s in (1, 2)]
    specs = [_spec(a) for a in CELLS[:2]]
    outs = [tmp_path / "p0", tmp_path / "p1"]
    one = recipe.override(epochs=1)

    class Stop(Exception):
        pass

    def stop_in_epoch_2(epoch: int, step: int) -> None:
        if epoch == 1:
            raise Stop

    with pytest.raises(Stop):
        PackedTrainer(specs, train, test, recipe, outs, env, opts, on_step=stop_in_epoch_2).fit()
    assert ckpt.load(outs[0] / CHECKPOINT)["epoch"] == 1 and not (outs[0] / FINAL).exists()
    ref = Trainer(specs[1], train, test, recipe, tmp_path / "ref", env, opts[1], {"network": specs[1].as_dict()})
    ref.fit()
    (tmp_path / "copy").mkdir()
    (tmp_path / "copy" / CHECKPOINT).write_bytes((outs[1] / CHECKPOINT).read_bytes())
    alone = Trainer(specs[1], train, test, recipe, tmp_path / "copy", env, opts[1], {"network": specs[1].as_dict()})
    assert alone.start_epoch == 1
    alone.fit()
    assert _close(alone.model.state_dict(), ref.model.state_dict()) < ATOL
    resumed = PackedTrainer(specs, train, test, recipe, outs, env, opts)
    assert resumed.start_epoch == 1
    resumed.fit()
    assert _close(ckpt.load(outs[1] / CHECKPOINT)["model"], ref.model.state_dict()) < ATOL
    with pytest.raises(ConfigError, match="different run"):
        PackedTrainer(specs, train, test, one, outs, env, opts)


def test_packing_refuses_what_it_cannot_do_exactly(root: Path, tmp_path: Path) -> None:
    _, train, test = _sets(root)
    env = setup("cpu")
    opts = [TrainOptions(seed=0, workers=0), TrainOptions(seed=1, workers=0)]
    darts = NetworkSpec("darts", "darts-v2", "cifar10", channels=4, layers=3)
    with pytest.raises(ConfigError, match="NAS-Bench-201"):
        PackedTrainer([darts, darts], train, test, get_recipe("nb201-12"), [tmp_path / "a", tmp_path / "b"], env, opts)
    with pytest.raises(ConfigError, match="nb201-200"):
        PackedTrainer([_spec(CELLS[0])] * 2, train, test, get_recipe("darts-cifar"), [tmp_path / "a", tmp_path / "b"],
                      env, opts)
    with pytest.raises(ConfigError, match="only in seed"):
        PackedTrainer([_spec(CELLS[0]), _spec(CELLS[1])], train, test, get_recipe("nb201-12"),
                      [tmp_path / "a", tmp_path / "b"], env, [opts[0], TrainOptions(seed=1, workers=0, eval_every=2)])
    with pytest.raises(ConfigError, match="share one run folder"):
        PackedTrainer([_spec(CELLS[0])] * 2, train, test, get_recipe("nb201-12"), [tmp_path / "a"] * 2, env, opts)
