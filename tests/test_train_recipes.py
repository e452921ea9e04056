"""Presets hold the published settings; schedules have the documented shape."""

from __future__ import annotations

import math

import pytest
torch = pytest.importorskip("torch", reason='needs PyTorch: pip install "nabench[torch]"')

from nabench.errors import ConfigError
from nabench.train.recipes import RECIPES, get_recipe
from nabench.train.schedule import LRFactor, build_optimizer, build_scheduler


def test_nb201_200_is_the_benchmark_schedule() -> None:
    r = get_recipe("nb201-200")
    assert (r.epochs, r.batch_size, r.lr, r.lr_min, r.warmup_epochs) == (200, 256, 0.1, 0.0, 0)
    assert (r.momentum, r.nesterov, r.weight_decay, r.schedule, r.schedule_unit) == (0.9, True, 5e-4, "cosine", "step")
    assert r.augment and r.cutout == 0 and r.auxiliary_weight == 0 and r.drop_path == 0
    assert get_recipe("nb201-12").epochs == 12


def test_darts_presets() -> None:
    c = get_recipe("darts-cifar")
    assert (c.epochs, c.batch_size, c.lr, c.weight_decay, c.cutout) == (600, 96, 0.025, 3e-4, 16)
    assert (c.auxiliary_weight, c.drop_path, c.grad_clip, c.nesterov, c.schedule_unit) == (0.4, 0.2, 5.0, False, "epoch")
    i = get_recipe("darts-imagenet")
    assert (i.epochs, i.batch_size, i.lr, i.label_smoothing, i.weight_decay) == (250, 1024, 0.5, 0.1, 3e-5)
    assert i.auxiliary_weight == 0.4 and i.warmup_epochs == 5 and i.schedule == "linear"
    # Linear scaling with the batch size; explicit lr wins.
    assert i.override(batch_size=256).lr == pytest.approx(0.125)
    assert i.override(batch_size=256, lr=0.2).lr == 0.2
    assert c.override(batch_size=192).lr == 0.025  # DARTS CIFAR does not scale
    assert c.override(epochs=3).epochs == 3 and RECIPES["darts-cifar"].epochs == 600


def test_unknown_preset_and_bad_values() -> None:
    with pytest.raises(ConfigError, match="known presets are nb201-200"):
        get_recipe("nb201-300")
    with pytest.raises(ConfigError, match="epochs"):
        get_recipe("nb201-200").override(epochs=0)


def test_cosine_per_step_and_per_epoch() -> None:
    per_step = LRFactor(epochs=4, steps_per_epoch=10, schedule="cosine", per_step=True, warmup_epochs=0, min_ratio=0.0)
    assert per_step(0) == 1.0 and per_step(20) == pytest.approx(0.5) and per_step(40) == pytest.approx(0.0)
    assert per_step(5) == pytest.approx(0.5 * (1 + math.cos(math.pi * 0.5 / 4)))
    per_epoch = LRFactor(4, 10, "cosine", False, 0, 0.0)
    assert per_epoch(9) == 1.0 and per_epoch(10) == pytest.approx(0.5 * (1 + math.cos(math.pi / 4)))


def test_warmup_then_linear_decay() -> None:
    f = LRFactor(epochs=10, steps_per_epoch=2, schedule="linear", per_step=False, warmup_epochs=5, min_ratio=0.0)
    assert [f(2 * e) for e in range(5)] == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0])
    assert [f(2 * e) for e in range(5, 10)] == pytest.approx([1.0, 0.8, 0.6, 0.4, 0.2])


def test_scheduler_drives_the_optimizer() -> None:
    model = torch.nn.Linear(2, 2)
    recipe = get_recipe("nb201-200").override(epochs=2)
    opt = build_optimizer(model, recipe)
    assert opt.defaults["nesterov"] and opt.defaults["weight_decay"] == 5e-4
    sched = build_scheduler(opt, recipe, steps_per_epoch=3)
    lrs = []
    for _ in range(6):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs[0] == pytest.approx(0.1) and lrs[3] == pytest.approx(0.05) and lrs == sorted(lrs, reverse=True)
