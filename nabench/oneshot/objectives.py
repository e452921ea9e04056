"""Alpha objectives: what the architecture step minimizes on a validation batch, with its gradient.

An objective is called with a ``forward(x, weights) -> logits`` function (the supernet, or the
supernet at unrolled weights for second-order DARTS), ``alpha``, a batch and the tensors to
differentiate with respect to (``alpha``, plus the weights for second order). It returns the
objective's value (a detached tensor, so a step never waits for the GPU) and the gradients.

* :class:`CenterObjective`: DARTS, the loss of ``softmax(alpha)``.
* :class:`NeighborhoodObjective`: NA-DARTS, the aggregate of the losses of sampled neighbors
  (see :mod:`nabench.oneshot.neighbors` for the construction and its hyperparameters).
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from nabench.oneshot.moves import moves_for
from nabench.oneshot.neighbors import Neighborhood, neighborhood_weights, relaxation_for, sample_moves, select

Forward = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def upcast(t: torch.Tensor) -> torch.Tensor:
    """Half-precision tensors (from autocast) as float32; float32 and float64 unchanged."""
    return t.float() if t.dtype in (torch.float16, torch.bfloat16) else t


def group_losses(logits: torch.Tensor, y: torch.Tensor, groups: int) -> torch.Tensor:
    """Mean cross-entropy per architecture group: logits (G*N, C), labels (N,) -> (G,)."""
    loss = F.cross_entropy(upcast(logits), y.repeat(groups), reduction="none")
    return loss.view(groups, -1).mean(dim=1)


def _grad(loss: torch.Tensor, wrt: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    grads = torch.autograd.grad(loss, list(wrt), allow_unused=True)
    return [torch.zeros_like(t) if g is None else g for t, g in zip(wrt, grads)]


class CenterObjective:
    """The DARTS alpha loss: cross-entropy of the supernet under ``softmax(alpha)``."""

    #: Whether a call's gradient can be captured in a CUDA graph (no host synchronization).
    capturable = True

    def draw(self, alpha: torch.Tensor | None = None) -> tuple[torch.Tensor, ...]:
        """The host-side random choices of one call: none."""
        return ()

    def __call__(self, forward: Forward, alpha: torch.Tensor, x: torch.Tensor, y: torch.Tensor,
                 wrt: Sequence[torch.Tensor], moves: Sequence[torch.Tensor] = ()) -> tuple[torch.Tensor, list[torch.Tensor]]:
        loss = group_losses(forward(x, alpha.softmax(dim=-1)), y, 1)[0]
        return loss.detach(), _grad(loss, wrt)


class NeighborhoodObjective:
    """The NA-DARTS alpha loss: ``F`` over the losses of ``k`` sampled neighbors (and the center).

    ``space`` is the space object searched; its neighbors are the moves (:mod:`nabench.oneshot.moves`,
    :mod:`nabench.oneshot.neighbors`). Neighbors are drawn afresh at every call from ``rng``. The
    architectures are evaluated ``chunk`` at a time in one batched pass each (``chunk = 1`` for networks
    without group support). For ``mean`` the gradient is accumulated chunk by chunk, so memory grows with
    ``chunk``, not with the neighborhood size; for ``max``/``median`` all losses are first computed without
    a graph, then the selected architecture is run again with one.
    """

    def __init__(self, hood: Neighborhood, space: Any, rng: np.random.Generator, chunk: int) -> None:
        self.hood = hood.validate(space)
        self.space = space
        self.moves, self.relax = moves_for(space), relaxation_for(space)
        self.rng = rng
        self.chunk = max(1, chunk)

    @property
    def capturable(self) -> bool:
        """``mean`` needs no host synchronization; ``max``/``median`` pick a term on the host."""
        return self.hood.agg == "mean"

    def draw(self, alpha: torch.Tensor | None = None) -> tuple[torch.Tensor]:
        """The host-side random choices of one call: the sampled move sequences (int64 on CPU).

        Where the neighborhood depends on the derived cell (the DARTS space at radius >= 2) the cell is
        derived from ``alpha`` here, one read of alpha on the host."""
        center = None
        if self.moves.needs_center(self.hood.radius, self.hood.exact):
            if alpha is None:
                raise ValueError("this neighborhood is enumerated from the derived cell: pass alpha")
            center = self.relax.center(alpha)
        return (torch.from_numpy(sample_moves(self.moves, self.hood, self.rng, center)),)

    def __call__(self, forward: Forward, alpha: torch.Tensor, x: torch.Tensor, y: torch.Tensor,
                 wrt: Sequence[torch.Tensor], moves: Sequence[torch.Tensor] = ()) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """``moves`` (from :meth:`draw`, possibly already on the device) default to a fresh draw."""
        (seqs,) = moves if moves else self.draw(alpha)

        def archs() -> torch.Tensor:
            return neighborhood_weights(alpha.softmax(dim=-1), seqs, self.relax, self.hood)

        n_archs = len(seqs) + int(self.hood.include_self)
        spans = [(s, min(s + self.chunk, n_archs)) for s in range(0, n_archs, self.chunk)]
        if self.hood.agg == "mean":
            total = None
            grads = [torch.zeros_like(t) for t in wrt]
            for s, e in spans:
                losses = group_losses(forward(x, archs()[s:e]), y, e - s)
                part = losses.sum() / n_archs
                for acc, g in zip(grads, _grad(part, wrt)):
                    acc.add_(g)
                total = part.detach() if total is None else total + part.detach()
            return total, grads
        with torch.no_grad():
            w = archs()
            losses = torch.cat([group_losses(forward(x, w[s:e]), y, e - s) for s, e in spans])
        i = select(losses, self.hood.agg)
        loss = group_losses(forward(x, archs()[i:i + 1]), y, 1)[0]
        return loss.detach(), _grad(loss, wrt)
