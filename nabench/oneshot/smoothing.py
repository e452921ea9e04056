"""SDARTS-RS random smoothing (Chen & Hsieh, ICML 2020), the continuous-neighborhood baseline.

During the weight step the supernet runs with op weights ``softmax(alpha) + U(-eps, eps)``, drawn
afresh at every step, then projected back onto the simplex the way the SDARTS code does: each row
is clamped to [0, 1], a row that became all zero gets 1 on its largest perturbed entry, and rows are
renormalized to sum 1. The perturbation lives in the softmax (probability) space, as in SDARTS, and
``eps = 0.03`` is the paper's default. The alpha step is plain DARTS.
"""

from __future__ import annotations

import torch


def smoothing_noise(shape: torch.Size | tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
    """Uniform [0, 1) noise of ``shape``, drawn on CPU from ``generator`` (the host part of a step)."""
    return torch.rand(shape, generator=generator, dtype=torch.float32)


def smooth(probs: torch.Tensor, noise: torch.Tensor, epsilon: float) -> torch.Tensor:
    """``probs`` (E, K) perturbed by ``epsilon * (2 noise - 1)`` and projected back onto the simplex."""
    noisy = probs.detach() + (2.0 * noise - 1.0).to(probs.device, probs.dtype) * epsilon
    top = noisy.argmax(dim=-1, keepdim=True)
    clamped = noisy.clamp(0.0, 1.0)
    empty = clamped.sum(dim=-1, keepdim=True) == 0
    clamped = torch.where(empty, torch.zeros_like(clamped).scatter(-1, top, 1.0), clamped)
    return clamped / clamped.sum(dim=-1, keepdim=True)


def random_smoothing(probs: torch.Tensor, epsilon: float, generator: torch.Generator) -> torch.Tensor:
    """Perturbed op weights (same shape as ``probs`` (E, K)); noise drawn on CPU from ``generator``."""
    return smooth(probs, smoothing_noise(probs.shape, generator), epsilon)
