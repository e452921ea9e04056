"""The search splits as loaders: the two halves of a dataset's training set, from :mod:`nabench.vision`.

``search-train`` (first half) trains the supernet weights, ``search-valid`` (second half) the
architecture. Both halves use the dataset's standard training augmentation (random crop + flip),
as DARTS and NAS-Bench-201's search code do (their search data is the augmented training set
split in two). Each loader reshuffles every epoch from its own seed (see
:func:`nabench.vision.loaders.make_loader`); incomplete last batches are dropped, so every step
sees a full batch.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch.utils.data import DataLoader

from nabench.errors import ConfigError
from nabench.oneshot.loop import seed_streams


def search_loaders(dataset: str, root: str | Path, batch_size: int, seed: int, workers: int | None = None,
                   download: bool = False, augment: bool = True) -> tuple[DataLoader, DataLoader, int]:
    """Loaders of ``search-train`` and ``search-valid`` and the number of classes."""
    from nabench.vision.datasets import build_dataset, num_classes
    from nabench.vision.loaders import make_loader

    seeds = seed_streams(seed)
    loaders = []
    for split, stream in (("search-train", "train_order"), ("search-valid", "valid_order")):
        data = build_dataset(dataset, root, split, augment=augment, download=download)
        gen = torch.Generator().manual_seed(seeds[stream])
        loaders.append(make_loader(data, batch_size, train=True, generator=gen, workers=workers, drop_last=True))
        if len(loaders[-1]) == 0:
            raise ConfigError(f"{dataset} {split} has {len(data)} images, fewer than one batch of {batch_size}; "
                              "lower --batch-size")
    return loaders[0], loaders[1], num_classes(dataset)
