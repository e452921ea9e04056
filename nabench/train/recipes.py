"""Training recipes as named, frozen presets: the published schedules of NAS-Bench-201 and DARTS.

``get_recipe(name)`` returns a :class:`Recipe`; ``recipe.override(epochs=..., batch_size=...)`` gives a
variant (with the learning rate scaled linearly with the batch size where the recipe says so).

Sources:

* ``nb201-200`` / ``nb201-12``: NAS-Bench-201 (Dong & Yang, ICLR 2020), ``configs/nas-benchmark/hyper-opts/
  200E.config`` and ``LESS.config``: SGD, Nesterov momentum 0.9, weight decay 5e-4, batch 256, cosine
  learning rate from 0.1 to 0 updated every iteration, no warmup, 200 (or 12) epochs; augmentation random
  crop (padding 4 on CIFAR, 2 on ImageNet16-120) and horizontal flip; plain cross-entropy.
* ``darts-cifar``: DARTS (Liu et al., ICLR 2019), ``cnn/train.py``: 600 epochs, batch 96, SGD momentum 0.9
  (no Nesterov), learning rate 0.025 with per-epoch cosine annealing to 0, weight decay 3e-4, cutout 16,
  auxiliary head weight 0.4, drop-path 0.2 (ramped linearly from 0 over the epochs), gradient clipping 5.
* ``darts-imagenet``: the large-batch version of DARTS's ImageNet recipe used by PC-DARTS (Xu et al., ICLR
  2020, ``train_imagenet.py``): 250 epochs, batch 1024, learning rate 0.5 for batch 1024 (scaled linearly
  with the batch), 5 warmup epochs, then linear decay to 0 per epoch, momentum 0.9, weight decay 3e-5,
  label smoothing 0.1, auxiliary weight 0.4, no drop-path, gradient clipping 5. (DARTS's own recipe,
  batch 128 / lr 0.1 / decay 0.97 per epoch, needs 8x longer on modern GPUs for the same accuracy.)
  PC-DARTS's linear decay has an extra short tail over its last 5 epochs; ours decays straight to 0.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from nabench.errors import ConfigError


@dataclass(frozen=True)
class Recipe:
    """Everything about how a network is trained, independent of which network and data."""

    name: str
    epochs: int
    batch_size: int
    lr: float
    momentum: float
    nesterov: bool
    weight_decay: float
    schedule: str = "cosine"
    schedule_unit: str = "step"
    lr_min: float = 0.0
    warmup_epochs: int = 0
    label_smoothing: float = 0.0
    augment: bool = True
    cutout: int = 0
    auxiliary_weight: float = 0.0
    drop_path: float = 0.0
    grad_clip: float | None = None
    #: Batch size at which ``lr`` is specified; when set, overriding the batch scales the lr linearly.
    lr_reference_batch: int | None = None
    source: str = ""

    def __post_init__(self) -> None:
        if self.schedule not in ("cosine", "linear"):
            raise ConfigError(f"recipe {self.name}: schedule must be 'cosine' or 'linear', got {self.schedule!r}")
        if self.schedule_unit not in ("step", "epoch"):
            raise ConfigError(f"recipe {self.name}: schedule_unit must be 'step' or 'epoch'")
        if self.epochs < 1 or self.batch_size < 1:
            raise ConfigError(f"recipe {self.name}: epochs and batch size must be positive "
                              f"(got {self.epochs}, {self.batch_size})")
        if not 0 <= self.drop_path < 1:
            raise ConfigError(f"recipe {self.name}: drop_path must be in [0, 1), got {self.drop_path}")
        if not 0 <= self.warmup_epochs < self.epochs:
            raise ConfigError(f"recipe {self.name}: warmup_epochs ({self.warmup_epochs}) must be below "
                              f"epochs ({self.epochs}); lower --warmup or raise --epochs")

    def override(self, epochs: int | None = None, batch_size: int | None = None, lr: float | None = None) -> Recipe:
        """A copy with some settings changed; the lr follows the batch size if the recipe scales it."""
        changes: dict[str, object] = {}
        if epochs is not None:
            changes["epochs"] = int(epochs)
            changes["warmup_epochs"] = min(self.warmup_epochs, max(0, int(epochs) - 1))
        if batch_size is not None:
            changes["batch_size"] = int(batch_size)
            if self.lr_reference_batch and lr is None:
                changes["lr"] = self.lr * int(batch_size) / self.lr_reference_batch
        if lr is not None:
            changes["lr"] = float(lr)
        return dataclasses.replace(self, **changes) if changes else self

    def as_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


_NB201 = dict(batch_size=256, lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4, schedule="cosine",
              schedule_unit="step", source="NAS-Bench-201 configs/nas-benchmark/hyper-opts")

RECIPES: dict[str, Recipe] = {r.name: r for r in (
    Recipe("nb201-200", epochs=200, **_NB201),  # type: ignore[arg-type]
    Recipe("nb201-12", epochs=12, **_NB201),  # type: ignore[arg-type]
    Recipe("darts-cifar", epochs=600, batch_size=96, lr=0.025, momentum=0.9, nesterov=False, weight_decay=3e-4,
           schedule="cosine", schedule_unit="epoch", cutout=16, auxiliary_weight=0.4, drop_path=0.2,
           grad_clip=5.0, source="DARTS cnn/train.py"),
    Recipe("darts-imagenet", epochs=250, batch_size=1024, lr=0.5, momentum=0.9, nesterov=False, weight_decay=3e-5,
           schedule="linear", schedule_unit="epoch", warmup_epochs=5, label_smoothing=0.1, auxiliary_weight=0.4,
           grad_clip=5.0, lr_reference_batch=1024, source="PC-DARTS train_imagenet.py (DARTS ImageNet, batch 1024)"),
)}


def get_recipe(name: str) -> Recipe:
    """A preset by name, or a :class:`ConfigError` listing the known ones."""
    try:
        return RECIPES[name]
    except KeyError:
        raise ConfigError(f"unknown preset {name!r}; known presets are {', '.join(RECIPES)}") from None
