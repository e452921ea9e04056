"""Search checkpoints: everything needed to continue a search at an epoch boundary, bit for bit.

``checkpoint.pt`` holds the supernet (weights and alpha), both optimizers, the learning-rate
schedule, the states of the neighbor-sampling and smoothing generators, the last finished epoch, the
resolved config and the per-epoch rows so far (so ``epochs.csv`` can be rebuilt from it). It is written after every epoch (to a temporary file, then renamed) and read
with ``torch.load(weights_only=True)``, so resuming unpickles no code. The data order needs no
state: seeded loaders are ordered by the epoch number (see :func:`nabench.oneshot.loop.run_epochs`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from nabench.atomic import atomic_write
from nabench.errors import ConfigError, IntegrityError
from nabench.oneshot.objectives import NeighborhoodObjective
from nabench.oneshot.steps import BilevelStep

FILE = "checkpoint.pt"
#: What :func:`save` writes; a file lacking any of them is not a search checkpoint.
_KEYS = frozenset({"epoch", "config", "rows", "net", "w_opt", "a_opt", "scheduler", "neighbors_rng", "smoothing_gen"})


def save(path: Path, epoch: int, config: dict[str, Any], step: BilevelStep,
         scheduler: torch.optim.lr_scheduler.LRScheduler, rows: list[dict[str, Any]]) -> None:
    """Write the state after epoch ``epoch`` atomically."""
    state = {
        "epoch": epoch,
        "config": config,
        "rows": rows,
        "net": step.net.state_dict(),
        "w_opt": step.w_opt.state_dict(),
        "a_opt": step.a_opt.state_dict(),
        "scheduler": scheduler.state_dict(),
        "neighbors_rng": (step.objective.rng.bit_generator.state
                          if isinstance(step.objective, NeighborhoodObjective) else None),
        "smoothing_gen": step.generator.get_state() if step.generator is not None else None,
    }
    with atomic_write(path) as f:
        torch.save(state, f)


def load(path: Path, config: dict[str, Any], step: BilevelStep,
         scheduler: torch.optim.lr_scheduler.LRScheduler) -> tuple[int, list[dict[str, Any]]]:
    """Restore a checkpoint into ``step`` and ``scheduler``; returns the last finished epoch and the rows.

    Raises :class:`ConfigError` when the checkpoint belongs to a different configuration and
    :class:`IntegrityError` when it cannot be read.
    """
    from nabench import torchfile

    fix = "delete it, use another --out or pass --overwrite"
    state = torchfile.load(path, what="a nabench search checkpoint", fix=fix)
    if not isinstance(state, dict) or not _KEYS <= set(state) or not isinstance(state["config"], dict):
        raise IntegrityError(f"{path} is not a nabench search checkpoint (other keys); {fix}")
    if state["config"] != config:
        diff = sorted(k for k in set(config) | set(state["config"]) if config.get(k) != state["config"].get(k))
        raise ConfigError(f"{path.parent} holds a search with different settings ({', '.join(diff)}); rerun with "
                          "the same settings to resume it, choose another --out, or pass --overwrite")
    step.net.load_state_dict(state["net"])
    step.w_opt.load_state_dict(state["w_opt"])
    step.a_opt.load_state_dict(state["a_opt"])
    scheduler.load_state_dict(state["scheduler"])
    if state["neighbors_rng"] is not None:
        step.objective.rng.bit_generator.state = state["neighbors_rng"]
    if state["smoothing_gen"] is not None:
        step.generator.set_state(state["smoothing_gen"])
    return int(state["epoch"]), list(state["rows"])
