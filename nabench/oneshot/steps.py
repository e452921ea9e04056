"""One bi-level search iteration: an alpha step on a validation batch, then a weight step on a train batch.

First order (``order=1``) sets ``grad alpha = d objective / d alpha`` at the current weights.
Second order (``order=2``, DARTS's unrolled step) differentiates the objective at the weights
after one virtual SGD step ``w' = w - xi * (momentum * buf + dL_train/dw + wd * w)`` (``xi`` = the
current weight learning rate, as in DARTS) and approximates the implicit term with the DARTS
finite difference::

    grad alpha = dL_val(w', alpha)/d alpha
                 - xi * (dL_train(w+, alpha)/d alpha - dL_train(w-, alpha)/d alpha) / (2 R)

with ``v = dL_val(w', alpha)/dw'``, ``w+- = w +- R v`` and ``R = 0.01 / ||v||``. ``L_val`` is the
algorithm's objective (so NA-DARTS can be second order too); the train losses use ``softmax(alpha)``.

The weight step runs the supernet under ``softmax(alpha)`` (perturbed for SDARTS-RS), clips the
gradient norm and takes an SGD step. Under bf16 autocast (CUDA) the forward passes run in bfloat16,
including the op weights inside the supernet (so alpha's gradient carries bfloat16 rounding, about
3 significant digits, which Adam's normalized steps tolerate); alpha, its softmax, the losses and the
optimizer states stay float32.
"""

from __future__ import annotations

import contextlib
from typing import Callable, ContextManager

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from nabench.oneshot.objectives import CenterObjective, NeighborhoodObjective, upcast
from nabench.oneshot.smoothing import random_smoothing

FINITE_DIFF_R = 0.01


def autocast_factory(device: torch.device, bf16: bool) -> Callable[[], ContextManager]:
    """A context-manager factory: bf16 autocast on CUDA when asked, otherwise a no-op."""
    if bf16 and device.type == "cuda":
        return lambda: torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext


class BilevelStep:
    """The shared alpha-then-weights iteration; the algorithm is its settings (order, objective, smoothing)."""

    def __init__(self, net: nn.Module, w_opt: torch.optim.SGD, a_opt: torch.optim.Optimizer,
                 objective: CenterObjective | NeighborhoodObjective, order: int, grad_clip: float,
                 smoothing_eps: float | None = None, generator: torch.Generator | None = None,
                 autocast: Callable[[], ContextManager] = contextlib.nullcontext) -> None:
        if smoothing_eps is not None and generator is None:
            raise ValueError("random smoothing needs a torch.Generator")
        self.net, self.w_opt, self.a_opt = net, w_opt, a_opt
        self.objective, self.order, self.grad_clip = objective, order, grad_clip
        self.smoothing_eps, self.generator, self.autocast = smoothing_eps, generator, autocast
        self.names = [n for n, _ in net.named_parameters() if n != "alpha"]
        self.weights = [p for n, p in net.named_parameters() if n != "alpha"]

    # ---------------------------------------------------------------- forwards
    def _forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        with self.autocast():
            return self.net(x, w)

    def _forward_at(self, params: list[torch.Tensor]) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
        mapping = dict(zip(self.names, params))

        def forward(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
            with self.autocast():
                return functional_call(self.net, mapping, (x, w))
        return forward

    def _train_loss(self, forward: Callable, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(upcast(forward(x, self.net.alpha.softmax(dim=-1))), y)

    # ---------------------------------------------------------------- steps
    def arch_step(self, xt: torch.Tensor, yt: torch.Tensor, xv: torch.Tensor, yv: torch.Tensor) -> torch.Tensor:
        """Update alpha; returns the objective's value (detached)."""
        alpha = self.net.alpha
        if self.order == 1:
            value, (g,) = self.objective(self._forward, alpha, xv, yv, [alpha])
        else:
            value, g = self._unrolled_grad(xt, yt, xv, yv)
        self.a_opt.zero_grad(set_to_none=True)
        alpha.grad = g
        self.a_opt.step()
        return value

    def _unrolled_grad(self, xt: torch.Tensor, yt: torch.Tensor, xv: torch.Tensor,
                       yv: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        alpha = self.net.alpha
        group = self.w_opt.param_groups[0]
        xi, mom, wd = group["lr"], group["momentum"], group["weight_decay"]
        grads = torch.autograd.grad(self._train_loss(self._forward, xt, yt), self.weights)
        with torch.no_grad():
            unrolled = []
            for p, g in zip(self.weights, grads):
                buf = self.w_opt.state.get(p, {}).get("momentum_buffer")
                step = g + wd * p if buf is None else mom * buf + g + wd * p
                unrolled.append((p - xi * step).requires_grad_(True))
        value, out = self.objective(self._forward_at(unrolled), alpha, xv, yv, [alpha] + unrolled)
        g_alpha, v = out[0], out[1:]
        norm = torch.sqrt(sum((t.float() ** 2).sum() for t in v))
        if float(norm) == 0.0:
            return value, g_alpha
        r = FINITE_DIFF_R / norm
        hvp = []
        for sign in (1.0, -1.0):
            with torch.no_grad():
                shifted = [p + sign * r * t for p, t in zip(self.weights, v)]
            hvp.append(torch.autograd.grad(self._train_loss(self._forward_at(shifted), xt, yt), alpha)[0])
        return value, g_alpha - xi * (hvp[0] - hvp[1]) / (2 * r)

    def train_weights(self) -> torch.Tensor:
        """Op weights of the weight step: ``softmax(alpha)``, smoothed for SDARTS-RS (no graph to alpha)."""
        probs = self.net.alpha.detach().softmax(dim=-1)
        if self.smoothing_eps is None:
            return probs
        return random_smoothing(probs, self.smoothing_eps, self.generator)

    def weight_step(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Update the supernet weights; returns (loss, number correct), both detached tensors."""
        self.w_opt.zero_grad(set_to_none=True)
        logits = upcast(self._forward(x, self.train_weights()))
        loss = F.cross_entropy(logits, y)
        loss.backward()
        if self.grad_clip > 0:
            nn.utils.clip_grad_norm_(self.weights, self.grad_clip)
        self.w_opt.step()
        return loss.detach(), (logits.detach().argmax(dim=1) == y).sum()
