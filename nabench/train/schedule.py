"""Optimizer and learning-rate schedule of a recipe.

The schedule is a :class:`LRFactor` (a picklable callable of the global step, so it is saved with the
scheduler's state) driving ``torch.optim.lr_scheduler.LambdaLR``, which is stepped after every optimizer
step. With ``schedule_unit="epoch"`` the factor only changes at epoch boundaries (DARTS); with ``"step"``
it follows fractional epochs (NAS-Bench-201). Warmup is linear over whole epochs, ``(e + 1) / warmup``,
as PC-DARTS does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from nabench.train.recipes import Recipe


@dataclass
class LRFactor:
    """Multiplier of the base learning rate at a global optimizer step."""

    epochs: int
    steps_per_epoch: int
    schedule: str
    per_step: bool
    warmup_epochs: int
    min_ratio: float

    def __call__(self, step: int) -> float:
        epoch_float = step / self.steps_per_epoch
        epoch = int(epoch_float)
        if epoch < self.warmup_epochs:
            return (epoch + 1) / self.warmup_epochs
        t = epoch_float if self.per_step else float(epoch)
        span = self.epochs - self.warmup_epochs
        progress = min(1.0, max(0.0, (t - self.warmup_epochs) / span))
        if self.schedule == "cosine":
            shape = 0.5 * (1.0 + math.cos(math.pi * progress))
        else:
            shape = 1.0 - progress
        return self.min_ratio + (1.0 - self.min_ratio) * shape


def build_optimizer(model: nn.Module, recipe: Recipe) -> torch.optim.Optimizer:
    """SGD with the recipe's momentum, Nesterov flag and weight decay (on all parameters, as both sources do)."""
    return torch.optim.SGD(model.parameters(), lr=recipe.lr, momentum=recipe.momentum,
                           nesterov=recipe.nesterov, weight_decay=recipe.weight_decay)


def build_scheduler(optimizer: torch.optim.Optimizer, recipe: Recipe,
                    steps_per_epoch: int) -> torch.optim.lr_scheduler.LambdaLR:
    """The recipe's schedule as a per-step ``LambdaLR``."""
    factor = LRFactor(recipe.epochs, max(1, steps_per_epoch), recipe.schedule, recipe.schedule_unit == "step",
                      recipe.warmup_epochs, recipe.lr_min / recipe.lr if recipe.lr else 0.0)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
