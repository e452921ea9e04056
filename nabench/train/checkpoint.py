"""Checkpoints written atomically and read back for an exact resume.

A checkpoint is one ``torch.save`` file holding the model, optimizer and scheduler states, the epoch
count, the metrics history, the run configuration and the random states (the global torch CPU/CUDA
states and every explicit generator the trainer uses, per rank). It is written to a temporary file in the
same folder, flushed to disk, and moved over the previous one with ``os.replace``, so a crash at any moment
leaves either the old or the new checkpoint, never a torn one. It is read with ``weights_only=True``: only
tensors and plain containers are rebuilt, never arbitrary objects.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from nabench.atomic import atomic_write
from nabench.errors import IntegrityError

FORMAT = 1


def save_atomic(obj: Any, path: Path) -> None:
    """``torch.save(obj)`` to ``path`` atomically (see :mod:`nabench.atomic`)."""
    with atomic_write(path) as f:
        torch.save(obj, f)


def load(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_atomic`; a damaged file raises :class:`IntegrityError`."""
    from nabench import torchfile

    state = torchfile.load(path, what="a nabench training checkpoint", map_location=map_location,
                           fix="delete it or use another --out")
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise IntegrityError(f"{path} is not a nabench checkpoint (format {FORMAT}); delete it or use another --out")
    return state


def capture_rng(generators: dict[str, torch.Generator]) -> dict[str, Any]:
    """The global torch random states (CPU and, if used, CUDA) and the states of ``generators``."""
    state: dict[str, Any] = {"torch": torch.get_rng_state(),
                             "generators": {k: g.get_state() for k, g in generators.items()}}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any], generators: dict[str, torch.Generator]) -> None:
    """Put back what :func:`capture_rng` saved."""
    torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])
    missing = set(generators) - set(state["generators"])
    if missing:
        raise IntegrityError(f"checkpoint lacks the random state of {sorted(missing)}; it was written by "
                             "another version of the trainer, delete it to start over")
    for name, g in generators.items():
        g.set_state(state["generators"][name].cpu())
