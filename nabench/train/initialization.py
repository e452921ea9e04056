"""Build a network and initialise its weights from an explicit ``torch.Generator``.

PyTorch layers initialise themselves from the global random state when constructed. To keep every random
choice explicit, :func:`materialize` constructs the network on the ``meta`` device (no memory, no random
numbers), allocates it on the target device and draws the weights with :func:`init_parameters`, which
reproduces PyTorch's default initialisation (the one NAS-Bench-201 and DARTS used): Kaiming-uniform with
``a = sqrt(5)`` for convolution and linear weights, ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` for their
biases, ones and zeros for normalization layers, fresh running statistics.

This is the one initialiser of the package: final networks (``strict=True``) and the one-shot supernets
(``strict=False``, which also fills fused weight banks and the architecture parameters with Kaiming-uniform;
the search re-draws ``alpha`` afterwards). A custom normalization layer (the supernets' grouped batch norm)
marks itself with the class attribute ``is_normalization = True``.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn

from nabench.errors import ConfigError

_NORMS = (nn.modules.batchnorm._BatchNorm, nn.GroupNorm, nn.LayerNorm)


def _is_norm(module: nn.Module) -> bool:
    return isinstance(module, _NORMS) or getattr(type(module), "is_normalization", False)


@torch.no_grad()
def init_parameters(model: nn.Module, generator: torch.Generator, strict: bool = True) -> nn.Module:
    """Initialise every parameter and buffer of ``model`` in place (PyTorch defaults, explicit generator).

    ``strict`` refuses parameters outside convolution, linear and normalization layers; with
    ``strict=False`` such parameters of two or more dimensions (fused weight banks) get Kaiming-uniform.
    """
    for name, module in model.named_modules():
        own_params = dict(module.named_parameters(recurse=False))
        own_buffers = dict(module.named_buffers(recurse=False))
        if isinstance(module, (nn.modules.conv._ConvNd, nn.Linear)):
            weight = module.weight
            fan_in = weight.shape[1] * math.prod(weight.shape[2:])
            _on_generator_device(weight, generator,
                                 lambda w: nn.init.kaiming_uniform_(w, a=math.sqrt(5), generator=generator))
            if module.bias is not None:
                bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
                _on_generator_device(module.bias, generator,
                                     lambda b: nn.init.uniform_(b, -bound, bound, generator=generator))
        elif _is_norm(module):
            if getattr(module, "weight", None) is not None:
                nn.init.ones_(module.weight)
            if getattr(module, "bias", None) is not None:
                nn.init.zeros_(module.bias)
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.reset_running_stats()
        elif not strict and own_params and all(p.dim() >= 2 for p in own_params.values()):
            for p in own_params.values():
                _on_generator_device(p, generator,
                                     lambda w: nn.init.kaiming_uniform_(w, a=math.sqrt(5), generator=generator))
        elif own_params or own_buffers:
            raise ConfigError(f"cannot initialise {type(module).__name__} at {name or 'the root'}: only "
                              "convolution, linear and normalization layers hold weights in nabench networks")
    return model


def _on_generator_device(tensor: torch.Tensor, generator: torch.Generator,
                         fill: Callable[[torch.Tensor], torch.Tensor]) -> None:
    """Fill ``tensor`` using ``generator``, drawing on the generator's device when the two differ."""
    if tensor.device == generator.device:
        fill(tensor)
    else:
        tmp = torch.empty(tensor.shape, dtype=tensor.dtype, device=generator.device)
        fill(tmp)
        tensor.copy_(tmp)


def materialize(build: Callable[[], nn.Module], device: torch.device | str,
                generator: torch.Generator) -> nn.Module:
    """Construct ``build()`` on the meta device, allocate it on ``device`` and initialise it from ``generator``.

    The weights depend only on the generator's state, not on the device (they are drawn on the
    generator's device, a CPU generator by default).
    """
    with torch.device("meta"):
        model = build()
    model = model.to_empty(device=device)
    return init_parameters(model, generator)
