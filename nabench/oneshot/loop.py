"""The one search loop shared by every algorithm and both spaces.

:func:`build_network` and :func:`build_step` turn a :class:`~nabench.oneshot.config.SearchConfig` into a
supernet and a :class:`~nabench.oneshot.steps.BilevelStep` (optimizers, alpha objective, smoothing);
:func:`run_epochs`
alternates alpha and weight steps over the search splits, steps the cosine schedule once per epoch
and hands an :class:`EpochStats` to a callback after every epoch (which derives the discrete
architecture and writes the records, see :mod:`nabench.oneshot.runner`).

Randomness: the seed is split by ``numpy.random.SeedSequence`` into independent streams for the
weight/alpha initialization, the train and valid batch order, the neighbor sampling and the
smoothing noise (:func:`seed_streams`), so the same config and seed give the same search.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

import numpy as np
import torch
from torch import nn

from nabench.errors import ConfigError, NabenchError
from nabench.oneshot.config import SearchConfig
from nabench.oneshot.darts_network import DartsSearchNetwork
from nabench.train.initialization import init_parameters
from nabench.oneshot.nb201_supernet import NB201Supernet
from nabench.oneshot.objectives import CenterObjective, NeighborhoodObjective
from nabench.oneshot.steps import BilevelStep, autocast_factory

ALPHA_INIT_STD = 1e-3
#: Architectures per batched NA pass on CUDA by default: bounds memory (8 x batch 64 images per pass)
#: for large neighborhoods such as ``--neighbors 0 --radius 2`` (241 architectures).
CUDA_CHUNK = 8


class SearchDiverged(NabenchError):
    """The losses became NaN or infinite; the message names the settings to lower."""


STREAMS = ("init", "train_order", "valid_order", "neighbors", "smoothing")


def seed_streams(seed: int) -> dict[str, int]:
    """Independent 63-bit seeds for each random stream of a search, derived from one seed."""
    children = np.random.SeedSequence(seed).spawn(len(STREAMS))
    return {name: int(c.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)) for name, c in zip(STREAMS, children)}


def build_network(cfg: SearchConfig, num_classes: int, in_channels: int = 3) -> nn.Module:
    """The supernet of ``cfg.search_space``, initialized from the config's seed (alpha ~ 1e-3 * N(0, 1))."""
    cfg = cfg.resolved()
    net: nn.Module
    if cfg.search_space.name == "nb201":
        net = NB201Supernet(num_classes, C=cfg.channels, N=cfg.cells, in_channels=in_channels)
    else:
        net = DartsSearchNetwork(num_classes, C=cfg.channels, layers=cfg.cells, in_channels=in_channels)
    gen = torch.Generator().manual_seed(seed_streams(cfg.seed)["init"])
    init_parameters(net, gen, strict=False)
    with torch.no_grad():
        net.alpha.copy_(torch.randn(net.alpha.shape, generator=gen) * ALPHA_INIT_STD)
    return net


def use_bf16(cfg: SearchConfig, device: torch.device, amp: str = "auto") -> bool:
    """bf16 autocast: ``auto`` = on for CUDA first-order searches, off for second order (its finite
    difference needs float32 precision) and on CPU; ``bf16`` / ``off`` force it."""
    if amp not in ("auto", "bf16", "off"):
        raise ConfigError(f"unknown --amp {amp!r}; use auto, bf16 or off")
    if amp == "auto":
        return device.type == "cuda" and cfg.resolved().order == 1
    return amp == "bf16" and device.type == "cuda"


def build_step(cfg: SearchConfig, net: nn.Module, device: torch.device, amp: str = "auto",
               graphs: bool = False, graph_backend: str | None = None) -> BilevelStep:
    """Optimizers, objective and smoothing of ``cfg.algo`` around ``net`` (already on ``device``).

    ``graphs`` captures each iteration in a CUDA graph (see :class:`~nabench.oneshot.steps.BilevelStep`);
    off CUDA it falls back to the eager iteration with a note.
    """
    cfg = cfg.resolved()
    seeds = seed_streams(cfg.seed)
    w_opt = torch.optim.SGD(net.weight_parameters(), lr=cfg.lr, momentum=cfg.momentum,
                            weight_decay=cfg.weight_decay)
    a_opt = torch.optim.Adam([net.alpha], lr=cfg.arch_lr, betas=cfg.arch_betas,
                             weight_decay=cfg.arch_weight_decay, capturable=graphs and device.type == "cuda")
    if cfg.uses_neighborhood:
        # auto (0): batched passes of up to CUDA_CHUNK architectures on CUDA, where small kernels are
        # launch-bound (the default m = 4 plus the center is one pass); one architecture per pass on
        # CPU, where the batched pass's regrouping copies cost more than they save.
        chunk = cfg.na_chunk or (CUDA_CHUNK if device.type == "cuda" else 1)
        if not net.supports_groups:
            chunk = 1
        objective: CenterObjective | NeighborhoodObjective = NeighborhoodObjective(
            cfg.neighborhood, cfg.search_space, np.random.default_rng(seeds["neighbors"]), chunk)
    else:
        objective = CenterObjective()
    eps, gen = None, None
    if cfg.uses_smoothing:
        eps, gen = cfg.epsilon, torch.Generator().manual_seed(seeds["smoothing"])
    return BilevelStep(net, w_opt, a_opt, objective, cfg.order, cfg.grad_clip, eps, gen,
                       autocast_factory(device, use_bf16(cfg, device, amp), graphs), graphs=graphs,
                       graph_backend=graph_backend)


@dataclass(frozen=True)
class EpochStats:
    """What one epoch of search measured (losses and accuracy are means over its steps)."""

    epoch: int
    lr: float
    steps: int
    train_loss: float
    train_acc: float
    arch_loss: float
    seconds: float
    images: int

    @property
    def images_per_s(self) -> float:
        """Search throughput: train images per second (each iteration also uses one valid batch)."""
        return 0.0 if self.seconds <= 0 else self.images / self.seconds


#: Validation passes per epoch are ordered by sampler epochs ``epoch * VALID_PASSES + k``.
VALID_PASSES = 1000


def _set_epoch(loader: Iterable, epoch: int) -> None:
    """Order a seeded loader's next pass by ``epoch`` (no-op for plain iterables)."""
    sampler = getattr(loader, "sampler", None)
    if hasattr(sampler, "set_epoch"):
        sampler.set_epoch(epoch)


def _valid_batches(loader: Iterable, epoch: int) -> Iterator:
    """Epoch ``epoch``'s stream of valid batches: fresh passes over the loader, each in its own seeded order."""
    for k in range(VALID_PASSES):
        _set_epoch(loader, epoch * VALID_PASSES + k)
        empty = True
        for batch in loader:
            empty = False
            yield batch
        if empty:
            raise ValueError("the validation loader yields no batches")
    raise ValueError(f"an epoch used more than {VALID_PASSES} passes over the validation loader")


def make_scheduler(step: BilevelStep, cfg: SearchConfig) -> torch.optim.lr_scheduler.CosineAnnealingLR:
    """Cosine decay of the weight learning rate from ``lr`` to ``lr_min`` over the epochs (stepped per epoch)."""
    cfg = cfg.resolved()
    return torch.optim.lr_scheduler.CosineAnnealingLR(step.w_opt, T_max=cfg.epochs, eta_min=cfg.lr_min)


def _to(batch: tuple[torch.Tensor, torch.Tensor], device: torch.device,
        channels_last: bool) -> tuple[torch.Tensor, torch.Tensor]:
    x, y = batch
    x = x.to(device, non_blocking=True)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    return x, y.to(device, non_blocking=True)


def run_epochs(step: BilevelStep, cfg: SearchConfig, train_loader: Iterable, valid_loader: Iterable,
               device: torch.device, on_epoch: Callable[[EpochStats], None], start_epoch: int = 0,
               scheduler: torch.optim.lr_scheduler.LRScheduler | None = None) -> None:
    """Run epochs ``start_epoch .. cfg.epochs - 1`` with the cosine schedule (:func:`make_scheduler`).

    Each iteration takes the next train batch and the next valid batch, runs the alpha step, then
    the weight step. ``steps_per_epoch`` (if > 0) caps the iterations. Seeded loaders (those of
    :func:`nabench.vision.loaders.make_loader`) are ordered by the epoch number, so a search resumed at
    an epoch boundary sees the same batches as an uninterrupted one.
    """
    cfg = cfg.resolved()
    if scheduler is None:
        scheduler = make_scheduler(step, cfg)
    channels_last = device.type == "cuda"
    for epoch in range(start_epoch, cfg.epochs):
        _set_epoch(train_loader, epoch)
        valid_iter = _valid_batches(valid_loader, epoch)
        lr = step.w_opt.param_groups[0]["lr"]
        t0 = time.perf_counter()
        sums = torch.zeros(3, device=device, dtype=torch.float64)
        n_steps = n_images = 0
        for batch in train_loader:
            if cfg.steps_per_epoch and n_steps >= cfg.steps_per_epoch:
                break
            xt, yt = _to(batch, device, channels_last)
            xv, yv = _to(next(valid_iter), device, channels_last)
            arch_loss, loss, correct = step.iteration(xt, yt, xv, yv)
            sums += torch.stack([loss.double() * len(yt), correct.double(), arch_loss.double()])
            n_steps += 1
            n_images += len(yt)
        if n_steps == 0:
            raise ValueError("the train loader yields no batches")
        scheduler.step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        seconds = time.perf_counter() - t0
        s = sums.tolist()
        stats = EpochStats(epoch=epoch, lr=lr, steps=n_steps, train_loss=s[0] / n_images,
                           train_acc=100.0 * s[1] / n_images, arch_loss=s[2] / n_steps, seconds=seconds,
                           images=n_images)
        if not math.isfinite(stats.train_loss) or not math.isfinite(stats.arch_loss):
            raise SearchDiverged(f"the search diverged in epoch {epoch} (loss {stats.train_loss}, "
                                     f"alpha loss {stats.arch_loss}); lower --lr or --arch-lr")
        on_epoch(stats)
