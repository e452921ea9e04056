"""A plain NAS-Bench-201 supernet: one module per edge and op from :mod:`nabench.models.ops`.

This is the textbook DARTS formulation (every edge a ``MixedOp`` summing ``w_k * op_k(x)`` over
the 5 ops, a Python loop over edges) with the same skeleton as
:class:`~nabench.oneshot.nb201_supernet.NB201Supernet`. It exists as an independent oracle: the tests
copy its weights into the fused supernet and check that both give the same logits and gradients,
and ``benchmarks/gpu_search_throughput.py`` uses it as the speed baseline. It evaluates one
architecture per pass (no groups).
"""

from __future__ import annotations

import torch
from torch import nn

from nabench.models.ops import NB201_OPS, ResNetBasicBlock
from nabench.oneshot.layers import Supernet
from nabench.oneshot.nb201_supernet import NB201Supernet, as_groups
from nabench.spaces import nb201


class MixedOp(nn.Module):
    """``sum_k w_k * op_k(x)`` over the NAS-Bench-201 ops (affine-free batch norms, batch statistics)."""

    def __init__(self, C: int) -> None:
        super().__init__()
        self.ops = nn.ModuleList(NB201_OPS[name](C, C, 1, False, False) for name in nb201.OPS)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return sum(wk * op(x) for wk, op in zip(w, self.ops))


class ReferenceCell(nn.Module):
    def __init__(self, C: int) -> None:
        super().__init__()
        self.edges = nn.ModuleList(MixedOp(C) for _ in nb201.EDGES)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for target in range(1, nb201.N_NODES):
            nodes.append(sum(self.edges[e](nodes[s], w[e]) for e, (t, s) in enumerate(nb201.EDGES) if t == target))
        return nodes[-1]


class ReferenceNB201Supernet(Supernet):
    """Per-edge NAS-Bench-201 supernet with the same interface as ``NB201Supernet`` (``G`` must be 1)."""

    n_edges = nb201.N_EDGES
    n_ops = nb201.N_OPS
    supports_groups = False

    def __init__(self, num_classes: int, C: int = 16, N: int = 5, in_channels: int = 3) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, C, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(C, track_running_stats=False))
        layers: list[nn.Module] = []
        c_prev = C
        for stage, c in enumerate((C, 2 * C, 4 * C)):
            if stage:
                layers.append(ResNetBasicBlock(c_prev, c, 2, True, False))
            layers.extend(ReferenceCell(c) for _ in range(N))
            c_prev = c
        self.layers = nn.ModuleList(layers)
        self.last_bn = nn.BatchNorm2d(c_prev, track_running_stats=False)
        self.classifier = nn.Linear(c_prev, num_classes)
        self.alpha = nn.Parameter(torch.zeros(self.n_edges, self.n_ops))

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        w = as_groups(weights, self.n_edges, self.n_ops)
        if w.shape[0] != 1:
            raise ValueError("the reference supernet evaluates one architecture per pass")
        h = self.stem(x)
        for layer in self.layers:
            h = layer(h, w[0]) if isinstance(layer, ReferenceCell) else layer(h)
        h = torch.relu(self.last_bn(h))
        return self.classifier(h.mean(dim=(2, 3)))

    def derive(self) -> tuple[int, ...]:
        return tuple(int(i) for i in self.alpha.detach().argmax(dim=-1).cpu())


def copy_into_fused(ref: ReferenceNB201Supernet, fused: NB201Supernet) -> None:
    """Copy every weight of ``ref`` into the matching slot of ``fused`` (same C, N, classes)."""
    with torch.no_grad():
        fused.stem.weight.copy_(ref.stem[0].weight)
        fused.stem_bn.weight.copy_(ref.stem[1].weight)
        fused.stem_bn.bias.copy_(ref.stem[1].bias)
        for lr, lf in zip(ref.layers, fused.layers):
            if isinstance(lr, ReferenceCell):
                for e, (t, s) in enumerate(nb201.EDGES):
                    for name in ("nor_conv_1x1", "nor_conv_3x3"):
                        conv = lr.edges[e].ops[nb201.OPS.index(name)][1]
                        lf.edge_conv_weight(t, s, name).copy_(conv.weight)
            else:
                for half in ("conv_a", "conv_b"):
                    src, dst = getattr(lr, half), getattr(lf, half)
                    dst.conv.weight.copy_(src[1].weight)
                    dst.bn.weight.copy_(src[2].weight)
                    dst.bn.bias.copy_(src[2].bias)
                lf.shortcut.weight.copy_(lr.downsample[1].weight)
        fused.last_bn.weight.copy_(ref.last_bn.weight)
        fused.last_bn.bias.copy_(ref.last_bn.bias)
        fused.classifier.weight.copy_(ref.classifier.weight)
        fused.classifier.bias.copy_(ref.classifier.bias)
        fused.alpha.copy_(ref.alpha)
