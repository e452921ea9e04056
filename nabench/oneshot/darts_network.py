"""The DARTS search network (Liu et al., 2019): 8 ops, normal and reduction cells, 4 nodes, 14 edges.

Defaults as in DARTS ``model_search.py``: ``C`` = 16 initial channels, 8 cells with reduction
cells at ``layers // 3`` and ``2 * layers // 3`` (channels doubled there), a 3x3 conv stem with
``3 * C`` channels + BN, cell inputs preprocessed by ReLU-Conv-BN 1x1 (FactorizedReduce after a
reduction cell), every edge a mixed op over :data:`nabench.spaces.darts.PRIMITIVES` with
``affine=False`` (pooling ops followed by an affine-free BN), node outputs summed, the 4 nodes
concatenated, global average pooling and a linear classifier.

The architecture is one tensor ``alpha`` of shape (28, 8): rows 0-13 are the normal cell's edges
(node 0 takes edges 0-1 from inputs 0, 1; node 1 edges 2-4; node 2 edges 5-8; node 3 edges 9-13),
rows 14-27 the reduction cell's. Keeping both cells in one tensor lets every algorithm (smoothing,
neighborhoods) treat the two spaces alike. Batch norms use batch statistics (the network is
always in training mode). The ops come from :mod:`nabench.models.ops` and ``none`` is skipped
(it adds zero). A pass evaluates one architecture (``supports_groups = False``): NA-DARTS evaluates
neighbors here one pass at a time.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from nabench.models.ops import DARTS_OPS, FactorizedReduce, ReLUConvBN
from nabench.oneshot.layers import Supernet
from nabench.oneshot.nb201_supernet import as_groups
from nabench.spaces import darts

_NONE = darts.PRIMITIVES.index("none")


class DartsMixedOp(nn.Module):
    """``sum_k w_k * op_k(x)`` over the DARTS primitives, skipping ``none``."""

    def __init__(self, C: int, stride: int) -> None:
        super().__init__()
        ops = []
        for name in darts.PRIMITIVES:
            op = DARTS_OPS[name](C, stride, False)
            if "pool" in name:
                op = nn.Sequential(op, nn.BatchNorm2d(C, affine=False, track_running_stats=False))
            ops.append(op)
        self.ops = nn.ModuleList(ops)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return sum(w[k] * op(x) for k, op in enumerate(self.ops) if k != _NONE)


class DartsSearchCell(nn.Module):
    def __init__(self, C_pp: int, C_p: int, C: int, reduction: bool, reduction_prev: bool) -> None:
        super().__init__()
        self.reduction = reduction
        self.pre0 = (FactorizedReduce(C_pp, C, False, False) if reduction_prev
                     else ReLUConvBN(C_pp, C, 1, 1, 0, 1, False, False))
        self.pre1 = ReLUConvBN(C_p, C, 1, 1, 0, 1, False, False)
        self.edges = nn.ModuleList(
            DartsMixedOp(C, 2 if reduction and j < 2 else 1) for i in range(darts.N_NODES) for j in range(2 + i)
        )

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        states = [self.pre0(s0), self.pre1(s1)]
        offset = 0
        for i in range(darts.N_NODES):
            states.append(sum(self.edges[offset + j](h, w[offset + j]) for j, h in enumerate(states)))
            offset += len(states) - 1
        return torch.cat(states[2:], dim=1)


class DartsSearchNetwork(Supernet):
    """The DARTS supernet; ``forward(x, weights)`` with op weights of shape (28, 8) (or (1, 28, 8))."""

    n_edges = 2 * darts.N_EDGES
    n_ops = len(darts.PRIMITIVES)
    #: the op of each column of ``alpha``
    op_names = darts.PRIMITIVES
    supports_groups = False

    def __init__(self, num_classes: int, C: int = 16, layers: int = 8, in_channels: int = 3,
                 stem_multiplier: int = 3) -> None:
        super().__init__()
        if layers < 3:
            raise ValueError(f"the DARTS search network needs at least 3 cells (two are reductions), got {layers}")
        c_cur = stem_multiplier * C
        self.stem = nn.Sequential(nn.Conv2d(in_channels, c_cur, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(c_cur, track_running_stats=False))
        c_pp, c_p, c_cur = c_cur, c_cur, C
        cells, reduction_prev = [], False
        for i in range(layers):
            reduction = i in (layers // 3, 2 * layers // 3)
            if reduction:
                c_cur *= 2
            cells.append(DartsSearchCell(c_pp, c_p, c_cur, reduction, reduction_prev))
            reduction_prev = reduction
            c_pp, c_p = c_p, darts.N_NODES * c_cur
        self.cells = nn.ModuleList(cells)
        self.classifier = nn.Linear(c_p, num_classes)
        self.alpha = nn.Parameter(torch.zeros(self.n_edges, self.n_ops))

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        w = as_groups(weights, self.n_edges, self.n_ops)
        if w.shape[0] != 1:
            raise ValueError("the DARTS search network evaluates one architecture per pass")
        normal, reduce = w[0, :darts.N_EDGES], w[0, darts.N_EDGES:]
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1, reduce if cell.reduction else normal)
        return self.classifier(s1.mean(dim=(2, 3)))

    def derive(self) -> darts.Genotype:
        """The DARTS genotype of ``softmax(alpha)``, validated."""
        return derive_genotype(self.alpha.detach().softmax(dim=-1).cpu().numpy())

    def derive_str(self) -> str:
        """The derived genotype's repr (inputs of each node strongest first, as DARTS prints them)."""
        return darts.to_str(self.derive())


def _parse_cell(w: np.ndarray) -> list[tuple[str, int]]:
    """DARTS's rule: per node keep the 2 inputs whose strongest non-``none`` op is largest, with that op."""
    gene, start = [], 0
    masked = w.copy()
    masked[:, _NONE] = -np.inf
    for i in range(darts.N_NODES):
        n_in = 2 + i
        strength = masked[start:start + n_in].max(axis=1)
        inputs = sorted(range(n_in), key=lambda j: -strength[j])[:2]
        gene.extend((darts.PRIMITIVES[int(masked[start + j].argmax())], j) for j in inputs)
        start += n_in
    return gene


def derive_genotype(weights: np.ndarray) -> darts.Genotype:
    """Genotype from op weights (28, 8) (rows 0-13 normal, 14-27 reduce), checked by ``darts.validate``."""
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (2 * darts.N_EDGES, len(darts.PRIMITIVES)):
        raise ValueError(f"DARTS op weights must have shape ({2 * darts.N_EDGES}, {len(darts.PRIMITIVES)}), "
                         f"got {w.shape}")
    concat = list(range(2, 2 + darts.N_NODES))
    return darts.validate(darts.Genotype(normal=_parse_cell(w[:darts.N_EDGES]), normal_concat=concat,
                                         reduce=_parse_cell(w[darts.N_EDGES:]), reduce_concat=concat))
