"""Data loaders that keep a GPU busy and make every random choice reproducible, with or without DDP.

:func:`make_loader` builds a ``DataLoader`` over a :class:`SeededSampler`, a ``DistributedSampler``
that yields ``(index, augmentation seed)`` pairs. Each epoch's order and per-sample seeds come from one
``torch.Generator`` seeded with ``base_seed + epoch`` over the *global* (all-process) index list, which
rank ``r`` of ``w`` then strides (``r::w``). Consequences:

* the union of one global batch over ``w`` processes with per-process batch ``B / w`` is exactly the
  batch one process sees with batch ``B``, with the same augmentations (DDP matches single-process);
* resuming at an epoch boundary needs only the base seed and the epoch number;
* results do not depend on the number of workers.

``base_seed`` is drawn once from the ``generator`` passed to :func:`make_loader`. Call
``loader.sampler.set_epoch(epoch)`` each epoch; if it is never called, every new pass over the loader
moves on to the next epoch by itself, so plain ``for x, y in loader`` loops also reshuffle.

Evaluation loaders (``train=False``) keep file order and, under DDP, give each rank a disjoint
shard without the padding ``DistributedSampler`` adds, so summed metrics count every image once.
"""

from __future__ import annotations

import math
import os
from typing import Iterator

import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from nabench.errors import ConfigError
from nabench.resources import available_cpus


class SeededSampler(DistributedSampler):
    """A ``DistributedSampler`` yielding ``(index, seed)`` pairs; see the module docstring."""

    def __init__(self, dataset: Dataset, num_replicas: int = 1, rank: int = 0, shuffle: bool = True,
                 seed: int = 0, drop_last: bool = False, pad: bool = True) -> None:
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=shuffle, seed=seed,
                         drop_last=drop_last)
        self.pad = pad
        self._explicit_epoch = False
        self._passes = 0
        if not pad:
            n = len(dataset)  # type: ignore[arg-type]
            self.num_samples = len(range(rank, n, num_replicas))
            self.total_size = n

    def set_epoch(self, epoch: int) -> None:
        self._explicit_epoch = True
        super().set_epoch(epoch)

    def global_order(self, epoch: int) -> tuple[list[int], list[int]]:
        """All processes' indices and seeds for ``epoch``, before striding by rank."""
        n = len(self.dataset)  # type: ignore[arg-type]
        g = torch.Generator().manual_seed(self.seed + epoch)
        indices = torch.randperm(n, generator=g).tolist() if self.shuffle else list(range(n))
        if self.pad and not self.drop_last and len(indices) < self.total_size:
            extra = self.total_size - len(indices)
            indices += (indices * math.ceil(extra / len(indices)))[:extra]
        indices = indices[: self.total_size]
        seeds = torch.randint(0, 2**62, (len(indices),), generator=g).tolist()
        return indices, seeds

    def __iter__(self) -> Iterator[tuple[int, int]]:  # type: ignore[override]
        epoch = self.epoch if self._explicit_epoch else self._passes
        self._passes += 1
        indices, seeds = self.global_order(epoch)
        pairs = list(zip(indices, seeds))[self.rank: self.total_size: self.num_replicas]
        return iter(pairs)


def default_workers() -> int:
    """Loader workers per process: the CPUs this process may use, split over local ranks, at most 8."""
    cpus = available_cpus()
    local = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    return max(0, min(8, cpus // max(1, local) - 1))


def make_loader(dataset: Dataset, batch_size: int, train: bool, generator: torch.Generator,
                workers: int | None = None, distributed: bool = False, drop_last: bool = False,
                pin_memory: bool | None = None) -> DataLoader:
    """A loader over ``dataset`` with per-process ``batch_size`` (see the module docstring).

    ``train`` shuffles (and pads shards to equal length under DDP, like ``DistributedSampler``);
    ``distributed`` shards by the ``torch.distributed`` rank and world size; ``workers`` defaults to
    :func:`default_workers`; pinned memory defaults to on when CUDA is available.
    """
    if batch_size < 1:
        raise ConfigError(f"batch size must be at least 1, got {batch_size}")
    if not isinstance(generator, torch.Generator):
        raise ConfigError("make_loader needs a torch.Generator (generator=torch.Generator().manual_seed(seed))")
    world, rank = 1, 0
    if distributed:
        import torch.distributed as dist

        if not dist.is_available() or not dist.is_initialized():
            raise ConfigError("distributed=True needs torch.distributed initialized (launch with torchrun)")
        world, rank = dist.get_world_size(), dist.get_rank()
    seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
    sampler = SeededSampler(dataset, num_replicas=world, rank=rank, shuffle=train, seed=seed,
                            drop_last=drop_last, pad=train)
    workers = default_workers() if workers is None else int(workers)
    loader_gen = torch.Generator().manual_seed(seed + 1)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        num_workers=workers,
        pin_memory=torch.cuda.is_available() if pin_memory is None else pin_memory,
        drop_last=drop_last,
        persistent_workers=workers > 0,
        prefetch_factor=4 if workers > 0 else None,
        generator=loader_gen,
    )
