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
from typing import Callable, ContextManager, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from nabench.errors import ConfigError
from nabench.oneshot.objectives import CenterObjective, NeighborhoodObjective, upcast
from nabench.oneshot.smoothing import smooth, smoothing_noise
from nabench.train import note
from nabench.train.graphs import GraphedStep

FINITE_DIFF_R = 0.01


def autocast_factory(device: torch.device, bf16: bool, graphs: bool = False) -> Callable[[], ContextManager]:
    """A context-manager factory: bf16 autocast on CUDA when asked, otherwise a no-op (no weight-cast cache
    under CUDA graphs, which cannot capture it)."""
    if bf16 and device.type == "cuda":
        return lambda: torch.autocast(device_type="cuda", dtype=torch.bfloat16, cache_enabled=not graphs)
    return contextlib.nullcontext


class BilevelStep:
    """The shared alpha-then-weights iteration; the algorithm is its settings (order, objective, smoothing).

    :meth:`iteration` is one search iteration: :meth:`prepare` draws its random choices on the host (NA-DARTS's
    neighbor move sequences, SDARTS-RS's noise), then one ``core`` does the alpha update and the weight update,
    building the drawn neighbors on the device from the current alpha. (Only the DARTS space at radius >= 2
    reads alpha on the host in :meth:`prepare`: its ball is enumerated from the derived genotype.) With
    ``graphs`` the core is captured in a CUDA graph (:class:`~nabench.train.graphs.GraphedStep`; eager with a
    note off CUDA): the alpha optimizer must then be built with ``capturable=True`` and the objective must not
    synchronize with the host (NA-DARTS with ``max``/``median`` does, and is refused).
    """

    def __init__(self, net: nn.Module, w_opt: torch.optim.SGD, a_opt: torch.optim.Optimizer,
                 objective: CenterObjective | NeighborhoodObjective, order: int, grad_clip: float,
                 smoothing_eps: float | None = None, generator: torch.Generator | None = None,
                 autocast: Callable[[], ContextManager] = contextlib.nullcontext, graphs: bool = False,
                 graph_backend: str | None = None, log: Callable[[str], None] = note) -> None:
        if smoothing_eps is not None and generator is None:
            raise ValueError("random smoothing needs a torch.Generator")
        self.net, self.w_opt, self.a_opt = net, w_opt, a_opt
        self.objective, self.order, self.grad_clip = objective, order, grad_clip
        self.smoothing_eps, self.generator, self.autocast = smoothing_eps, generator, autocast
        self.names = [n for n, _ in net.named_parameters() if n != "alpha"]
        self.weights = [p for n, p in net.named_parameters() if n != "alpha"]
        self.device = net.alpha.device
        self.graphed = GraphedStep(self._core, w_opt, enabled=graphs, device=self.device, backend=graph_backend,
                                   log=log)
        if self.graphed.enabled:
            if not objective.capturable:
                raise ConfigError("--graphs needs an alpha objective without host synchronization: use the "
                                  "NA-DARTS aggregate mean, or drop --graphs")
            if self.graphed.backend == "cuda" and not a_opt.defaults.get("capturable", False):
                raise ConfigError("--graphs needs the alpha optimizer built with capturable=True (build_step does)")

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

    # ---------------------------------------------------------------- host part
    def prepare(self) -> list[torch.Tensor]:
        """The random choices of one iteration, drawn on the host: the objective's moves, then the noise."""
        extras = list(self.objective.draw(self.net.alpha))
        if self.smoothing_eps is not None:
            extras.append(smoothing_noise(self.net.alpha.shape, self.generator))  # type: ignore[arg-type]
        return extras

    def _split(self, extras: Sequence[torch.Tensor]) -> tuple[tuple[torch.Tensor, ...], torch.Tensor | None]:
        if self.smoothing_eps is None:
            return tuple(extras), None
        return tuple(extras[:-1]), extras[-1]

    # ---------------------------------------------------------------- steps
    def iteration(self, xt: torch.Tensor, yt: torch.Tensor, xv: torch.Tensor,
                  yv: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One search iteration: ``(alpha objective, train loss, number correct)``, all detached tensors."""
        extras = self.prepare()
        if self.graphed.enabled:
            extras = [e.to(self.device, non_blocking=True) for e in extras]
        return self.graphed(xt, yt, xv, yv, *extras)  # type: ignore[return-value]

    def _core(self, xt: torch.Tensor, yt: torch.Tensor, xv: torch.Tensor, yv: torch.Tensor,
              *extras: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        moves, noise = self._split(extras)
        value = self._arch_update(xt, yt, xv, yv, moves)
        loss, correct = self._weight_update(xt, yt, noise)
        return value, loss, correct

    def arch_step(self, xt: torch.Tensor, yt: torch.Tensor, xv: torch.Tensor, yv: torch.Tensor) -> torch.Tensor:
        """Update alpha alone (eagerly); returns the objective's value (detached)."""
        return self._arch_update(xt, yt, xv, yv, tuple(self.objective.draw(self.net.alpha)))

    def _arch_update(self, xt: torch.Tensor, yt: torch.Tensor, xv: torch.Tensor, yv: torch.Tensor,
                     moves: Sequence[torch.Tensor]) -> torch.Tensor:
        alpha = self.net.alpha
        if self.order == 1:
            value, (g,) = self.objective(self._forward, alpha, xv, yv, [alpha], moves)
        else:
            value, g = self._unrolled_grad(xt, yt, xv, yv, moves)
        self.a_opt.zero_grad(set_to_none=True)
        alpha.grad = g
        self.a_opt.step()
        return value

    def _unrolled_grad(self, xt: torch.Tensor, yt: torch.Tensor, xv: torch.Tensor, yv: torch.Tensor,
                       moves: Sequence[torch.Tensor] = ()) -> tuple[torch.Tensor, torch.Tensor]:
        alpha = self.net.alpha
        group = self.w_opt.param_groups[0]
        xi, mom, wd = self.graphed.lr_value(), group["momentum"], group["weight_decay"]
        grads = torch.autograd.grad(self._train_loss(self._forward, xt, yt), self.weights)
        with torch.no_grad():
            unrolled = []
            for p, g in zip(self.weights, grads):
                buf = self.w_opt.state.get(p, {}).get("momentum_buffer")
                step = g + wd * p if buf is None else mom * buf + g + wd * p
                unrolled.append((p - xi * step).requires_grad_(True))
        value, out = self.objective(self._forward_at(unrolled), alpha, xv, yv, [alpha] + unrolled, moves)
        g_alpha, v = out[0], out[1:]
        norm = torch.sqrt(sum((t.float() ** 2).sum() for t in v))
        # No host check of the norm (a graph cannot branch on it): with v = 0 both shifts are the weights
        # themselves, the two terms cancel exactly and g_alpha is returned unchanged.
        r = FINITE_DIFF_R / torch.where(norm > 0, norm, torch.ones_like(norm))
        hvp = []
        for sign in (1.0, -1.0):
            with torch.no_grad():
                shifted = [p + sign * r * t for p, t in zip(self.weights, v)]
            hvp.append(torch.autograd.grad(self._train_loss(self._forward_at(shifted), xt, yt), alpha)[0])
        return value, g_alpha - xi * (hvp[0] - hvp[1]) / (2 * r)

    def train_weights(self, noise: torch.Tensor | None = None) -> torch.Tensor:
        """Op weights of the weight step: ``softmax(alpha)``, smoothed for SDARTS-RS (no graph to alpha)."""
        probs = self.net.alpha.detach().softmax(dim=-1)
        if self.smoothing_eps is None:
            return probs
        if noise is None:
            noise = smoothing_noise(probs.shape, self.generator)  # type: ignore[arg-type]
        return smooth(probs, noise, self.smoothing_eps)

    def weight_step(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Update the supernet weights alone (eagerly); returns (loss, number correct), both detached tensors."""
        self.w_opt.zero_grad(set_to_none=True)
        return self._weight_update(x, y, None)

    def _weight_update(self, x: torch.Tensor, y: torch.Tensor,
                       noise: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        logits = upcast(self._forward(x, self.train_weights(noise)))
        loss = F.cross_entropy(logits, y)
        loss.backward()
        if self.grad_clip > 0:
            nn.utils.clip_grad_norm_(self.weights, self.grad_clip)
        self.graphed.optimizer_step()
        return loss.detach(), (logits.detach().argmax(dim=1) == y).sum()
