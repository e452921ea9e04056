"""One training step captured in a CUDA graph, with the eager step as the fallback (``--graphs``).

Small networks (NAS-Bench-201 cells, supernets at batch 64) are launch-bound: the GPU waits for Python to
issue hundreds of small kernels per step. A CUDA graph records the kernels of one step once and replays
them with a single launch. :class:`GraphedStep` wraps the *same* step function the eager path runs (a
``core(*tensors) -> tensors`` doing forward, backward and the optimizer update), so both paths compute the
same thing:

* calls ``1..warmup`` run ``core`` eagerly (on a side stream on CUDA, as PyTorch requires before capture);
* the next call captures ``core`` on static copies of its inputs, then replays it; later calls copy their
  inputs into the static buffers and replay. Outputs are the graph's static tensors, overwritten by the next
  replay: use (or accumulate) them before the next call, as the trainer does;
* if the capture itself fails (an op that cannot be captured), a note is logged and every later call runs
  eagerly (the failed capture ran nothing, so training continues on the same trajectory);
* a call whose input shapes differ from the captured ones (the short last batch of an epoch) runs eagerly
  and keeps the captured gradient buffers (zeroed in place), so replays stay valid;
* the learning-rate schedule steps on the host after every call. A captured kernel cannot read a Python
  float, so in graph mode the SGD update is :func:`sgd_step_`, which reads the learning rate from a device
  tensor filled before each call (same arithmetic as ``torch.optim.SGD``, up to the rounding of a fused
  multiply-add).

Without CUDA the option falls back to the eager step with one logged note. ``backend="emulate"`` runs the
graph bookkeeping (warm-up count, one capture, static buffers, shape fallback, device learning rate) on any
device with ``core`` re-run at each "replay", which is how the CPU tests check that the graphed path gives the
eager path's results. ``torch.compile(mode="reduce-overhead")`` uses CUDA graphs too, but recompiles each
network (minutes for a pack of 64 cells) and needs the same care with the learning rate; plain capture is the
simpler and faster choice here.
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch

from nabench.errors import ConfigError
from nabench.train import note

Core = Callable[..., Sequence[torch.Tensor]]


@torch.no_grad()
def sgd_step_(optimizer: torch.optim.SGD, lr: torch.Tensor) -> None:
    """``optimizer.step()`` with the learning rate read from the device tensor ``lr`` (capturable).

    Same update as ``torch.optim.SGD`` (weight decay, momentum with the first buffer a copy of the gradient,
    Nesterov; no dampening), on the optimizer's own momentum buffers, so checkpoints are unchanged.
    """
    for group in optimizer.param_groups:
        params = [p for p in group["params"] if p.grad is not None]
        if not params:
            continue
        grads = [p.grad for p in params]
        wd, momentum, nesterov = group["weight_decay"], group["momentum"], group["nesterov"]
        if wd:
            grads = torch._foreach_add(grads, params, alpha=wd)
        if momentum:
            bufs = []
            for p, g in zip(params, grads):
                state = optimizer.state[p]
                buf = state.get("momentum_buffer")
                if buf is None:
                    buf = state["momentum_buffer"] = g.detach().clone()
                else:
                    buf.mul_(momentum).add_(g)
                bufs.append(buf)
            grads = torch._foreach_add(grads, bufs, alpha=momentum) if nesterov else bufs
        torch._foreach_sub_(params, torch._foreach_mul(grads, lr))
    # What optimizer.step() records for the LR scheduler's order check ("scheduler.step() before
    # optimizer.step()" would warn, wrongly: this update is the step).
    optimizer._opt_called = True  # type: ignore[attr-defined]


def _check_sgd(optimizer: torch.optim.Optimizer) -> None:
    if not isinstance(optimizer, torch.optim.SGD):
        raise ConfigError(f"--graphs supports SGD weight steps, not {type(optimizer).__name__}")
    for group in optimizer.param_groups:
        if group.get("dampening", 0) or group.get("maximize", False):
            raise ConfigError("--graphs supports SGD without dampening and maximize")


class GraphedStep:
    """Run ``core`` as a captured CUDA graph after ``warmup`` eager calls (see the module docstring)."""

    def __init__(self, core: Core, optimizer: torch.optim.Optimizer, enabled: bool, device: torch.device,
                 scheduler: torch.optim.lr_scheduler.LRScheduler | None = None, warmup: int = 3,
                 backend: str | None = None, log: Callable[[str], None] = note) -> None:
        if backend not in (None, "cuda", "emulate"):
            raise ValueError(f"unknown graph backend {backend!r}")
        if enabled and backend is None:
            if device.type == "cuda":
                backend = "cuda"
            else:
                log(f"note: CUDA graphs need a CUDA device; running the eager step on {device}")
                enabled = False
        if enabled:
            _check_sgd(optimizer)
        self.core, self.optimizer, self.scheduler = core, optimizer, scheduler
        self.enabled, self.backend, self.warmup, self.device = enabled, backend, warmup, device
        self.log = log
        self.failed = False
        self.calls = 0
        self.captures = 0
        self.replays = 0
        self.graph: torch.cuda.CUDAGraph | None = None
        self._key: tuple | None = None
        self._static_in: list[torch.Tensor] = []
        self._static_out: Sequence[torch.Tensor] = ()
        self._lr = torch.zeros((), device=device) if enabled else None

    def lr_value(self) -> float | torch.Tensor:
        """The SGD learning rate as the core must read it: the device tensor in graph mode, else the float."""
        return self._lr if self.enabled else self.optimizer.param_groups[0]["lr"]  # type: ignore[return-value]

    def optimizer_step(self) -> None:
        """The update inside ``core``: ``optimizer.step()`` eagerly, :func:`sgd_step_` in graph mode."""
        if self.enabled:
            sgd_step_(self.optimizer, self._lr)  # type: ignore[arg-type]
        else:
            self.optimizer.step()

    @staticmethod
    def _signature(inputs: Sequence[torch.Tensor]) -> tuple:
        return tuple((tuple(t.shape), t.dtype, t.device) for t in inputs)

    def __call__(self, *inputs: torch.Tensor) -> Sequence[torch.Tensor]:
        if not self.enabled:
            self.optimizer.zero_grad(set_to_none=True)
            out = self.core(*inputs)
        else:
            self._lr.fill_(self.optimizer.param_groups[0]["lr"])  # type: ignore[union-attr]
            if self.failed:
                self.optimizer.zero_grad(set_to_none=True)
                out = self.core(*inputs)
            elif self._key is None and self.calls < self.warmup:
                self.optimizer.zero_grad(set_to_none=True)
                out = self._warm(inputs)
            elif self._key is None:
                out = self._capture_or_fall_back(inputs)
            elif self._signature(inputs) == self._key:
                out = self._replay(inputs)
            else:
                self.optimizer.zero_grad(set_to_none=False)
                out = self.core(*inputs)
        self.calls += 1
        if self.scheduler is not None:
            self.scheduler.step()
        return out

    # ------------------------------------------------------------------------------------ graph parts
    def _warm(self, inputs: Sequence[torch.Tensor]) -> Sequence[torch.Tensor]:
        if self.backend != "cuda":
            return self.core(*inputs)
        side = torch.cuda.Stream(self.device)
        side.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(side):
            out = self.core(*inputs)
        torch.cuda.current_stream(self.device).wait_stream(side)
        return out

    def _capture_or_fall_back(self, inputs: Sequence[torch.Tensor]) -> Sequence[torch.Tensor]:
        """Capture and replay; if capture fails (an op that cannot be captured), run eagerly from now on."""
        try:
            self._capture(inputs)
        except RuntimeError as e:
            # Nothing ran during the failed capture (capture records kernels, it does not execute them).
            self.log(f"note: CUDA graph capture failed ({str(e).splitlines()[0]}); continuing with the eager step")
            self.graph, self._key, self._static_out = None, None, ()
            self.failed = True
            self.optimizer.zero_grad(set_to_none=True)
            return self.core(*inputs)
        return self._replay(inputs)

    def _capture(self, inputs: Sequence[torch.Tensor]) -> None:
        self._key = self._signature(inputs)
        self._static_in = [t.detach().clone() for t in inputs]
        self.optimizer.zero_grad(set_to_none=True)
        self.captures += 1
        if self.backend == "cuda":
            torch.cuda.synchronize(self.device)
            self.graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(self.graph):
                self._static_out = self.core(*self._static_in)

    def _replay(self, inputs: Sequence[torch.Tensor]) -> Sequence[torch.Tensor]:
        for static, t in zip(self._static_in, inputs):
            static.copy_(t, non_blocking=True)
        self.replays += 1
        if self.backend == "cuda":
            self.graph.replay()  # type: ignore[union-attr]
            return self._static_out
        # Emulation: a captured backward writes fresh gradients, so zero them first; outputs are
        # static buffers overwritten at every replay, as a graph's are.
        self.optimizer.zero_grad(set_to_none=False)
        out = self.core(*self._static_in)
        if not self._static_out:
            self._static_out = [o.detach().clone() for o in out]
        else:
            for static, o in zip(self._static_out, out):
                static.copy_(o)
        return self._static_out
