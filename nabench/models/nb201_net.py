"""The NAS-Bench-201 network for one cell: the exact topology the benchmark trained.

Stem ``Conv3x3(3 -> C, no bias) + BN``; three stages of ``N`` cells with ``C``, ``2C``, ``4C`` channels,
joined by :class:`~nabench.models.ops.ResNetBasicBlock` reductions (stride 2); ``BN + ReLU``; global
average pooling; a linear classifier. With ``C=16, N=5`` (the benchmark's setting) the parameter count
equals the tables' ``params`` for every cell and class count (checked over all 15,625 cells by
``benchmarks/params_parity.py``).

In a cell, node ``j`` is the sum over ``i < j`` of ``op_{j<-i}(node i)`` and node 3 is the output.
``none`` edges are kept as modules (they have no parameters) but skipped in ``forward``, since adding
zeros changes nothing; a node with only ``none`` inputs is zero.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from nabench.models.ops import NB201_OPS, ResNetBasicBlock
from nabench.spaces import nb201


def cell_ops(arch: str | Sequence[int]) -> tuple[int, ...]:
    """The op-index tuple of a cell given as an official string or as 6 op indices."""
    if isinstance(arch, str):
        return nb201.parse(arch)
    return nb201.parse(nb201.to_str(arch))


class InferCell(nn.Module):
    """One fixed NAS-Bench-201 cell (4 nodes, 6 edges) with ``C`` channels, stride 1."""

    def __init__(self, arch: str | Sequence[int], C: int, affine: bool = True,
                 track_running_stats: bool = True) -> None:
        super().__init__()
        self.ops = cell_ops(arch)
        self.edges = nn.ModuleList(
            NB201_OPS[nb201.OPS[o]](C, C, 1, affine, track_running_stats) for o in self.ops
        )
        #: For each node 1..3, the (edge index, source node) pairs that are not ``none``.
        self.inputs: list[list[tuple[int, int]]] = [
            [(e, src) for e, (dst, src) in enumerate(nb201.EDGES) if dst == node and self.ops[e] != 0]
            for node in range(1, nb201.N_NODES)
        ]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for incoming in self.inputs:
            if incoming:
                out = self.edges[incoming[0][0]](nodes[incoming[0][1]])
                for e, src in incoming[1:]:
                    out = out + self.edges[e](nodes[src])
            else:
                out = torch.zeros_like(x)
            nodes.append(out)
        return nodes[-1]


class NB201Net(nn.Module):
    """NAS-Bench-201's ``TinyNetwork`` for a fixed cell; ``forward`` returns logits."""

    def __init__(self, arch: str | Sequence[int], num_classes: int, C: int = 16, N: int = 5) -> None:
        super().__init__()
        self.arch = nb201.to_str(cell_ops(arch))
        self.stem = nn.Sequential(nn.Conv2d(3, C, 3, padding=1, bias=False), nn.BatchNorm2d(C))
        layers: list[nn.Module] = []
        c_prev = C
        for stage, c in enumerate((C, 2 * C, 4 * C)):
            if stage > 0:
                layers.append(ResNetBasicBlock(c_prev, c, 2))
            layers.extend(InferCell(self.arch, c) for _ in range(N))
            c_prev = c
        self.cells = nn.Sequential(*layers)
        self.lastact = nn.Sequential(nn.BatchNorm2d(c_prev), nn.ReLU(inplace=True))
        self.classifier = nn.Linear(c_prev, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.lastact(self.cells(self.stem(x)))
        # Global average pooling as a mean: same result, and deterministic on CUDA (AdaptiveAvgPool2d's
        # backward is not).
        return self.classifier(out.mean(dim=(2, 3)))


def count_parameters(model: nn.Module, exclude: str | None = None) -> int:
    """Number of parameters, leaving out those whose name contains ``exclude`` (e.g. ``"auxiliary"``)."""
    return sum(p.numel() for name, p in model.named_parameters() if exclude is None or exclude not in name)
