"""The NAS-Bench-201 supernet: the benchmark's macro skeleton with a mixed op on every cell edge.

Skeleton (as in NAS-Bench-201's DARTS search model): a 3x3 conv stem (``C`` = 16 channels) + BN;
three stages of ``N`` = 5 cells with ``C``, ``2C``, ``4C`` channels joined by residual reduction
blocks; final BN + ReLU, global average pooling, a linear classifier. Every one of the 6 cell edges
is a mixed op ``sum_k w[e, k] * op_k(x)`` over the 5 NAS-Bench-201 ops with ``affine=False`` batch
norms. One architecture tensor ``alpha`` of shape (6, 5) is shared by all cells.

Speed (the mixed ops dominate the cost):

* ``none`` is zero and contributes nothing, so it is not computed (its weight still gets gradient
  through the softmax, exactly as when multiplying zeros).
* Each op output is added into its target node with one fused multiply-add (``addcmul``).
* Ops that only depend on the source node are computed once per source, not once per edge: the
  identity and the 3x3 average pool, and the ReLU in front of the convolutions. The convolutions of
  all edges leaving one node are one convolution with ``fan_out * C`` output channels (a fused
  conv bank), followed by one batch norm over those channels; with per-channel statistics and no
  affine parameters this equals separate per-edge ReLU-Conv-BN ops. A cell thus runs 3 sources x
  (1 ReLU, 2 convs, 2 BNs, 1 pool) instead of 6 edges x (2 x ReLU-Conv-BN + pool).
* ``forward`` takes weights for ``G`` architectures at once and evaluates all of them in one
  batched pass over ``G`` copies of the batch (grouped batch norm keeps the copies independent).
  NA-DARTS uses this to evaluate a neighborhood for about the cost of one pass on a GPU, where
  kernels at batch 64 and 16 channels are launch-bound.

:class:`nabench.oneshot.reference.ReferenceNB201Supernet` is the plain per-edge version built from
:mod:`nabench.models.ops`; the tests check that both compute the same function.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from nabench.oneshot.layers import GroupedBatchNorm, ReductionBlock, Supernet, grouped_batch_norm
from nabench.spaces import nb201

#: Edge index (string order) of the edge ``target <- source``.
EDGE_INDEX: dict[tuple[int, int], int] = {edge: e for e, edge in enumerate(nb201.EDGES)}
_SKIP, _CONV1, _CONV3, _POOL = (nb201.OPS.index(n) for n in
                                ("skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"))


def as_groups(weights: torch.Tensor, n_edges: int, n_ops: int) -> torch.Tensor:
    """View architecture weights as ``(G, n_edges, n_ops)``, accepting a single ``(n_edges, n_ops)``."""
    w = weights.unsqueeze(0) if weights.dim() == 2 else weights
    if w.dim() != 3 or w.shape[1:] != (n_edges, n_ops):
        raise ValueError(f"architecture weights must have shape ({n_edges}, {n_ops}) or "
                         f"(G, {n_edges}, {n_ops}), got {tuple(weights.shape)}")
    return w


def _accumulate(acc: torch.Tensor | None, t: torch.Tensor, coef: torch.Tensor) -> torch.Tensor:
    """``acc + coef * t`` as one fused ``addcmul``; ``t`` is (G*n, C, H, W), ``coef`` (G,) one weight per group."""
    g = coef.shape[0]
    c = coef.to(t.dtype)
    if g == 1:
        return t * c if acc is None else torch.addcmul(acc, t, c)
    t5, c5 = t.unflatten(0, (g, -1)), c.view(g, 1, 1, 1, 1)
    out = t5 * c5 if acc is None else torch.addcmul(acc.unflatten(0, (g, -1)), t5, c5)
    return out.flatten(0, 1)


class FusedSearchCell(nn.Module):
    """A NAS-Bench-201 search cell (``C -> C``, stride 1) with fused per-source computation."""

    def __init__(self, C: int) -> None:
        super().__init__()
        self.C = C
        fan_out = [nb201.N_NODES - 1 - i for i in range(nb201.N_NODES - 1)]  # 3, 2, 1
        self.conv1 = nn.ParameterList(nn.Parameter(torch.empty(n * C, C, 1, 1)) for n in fan_out)
        self.conv3 = nn.ParameterList(nn.Parameter(torch.empty(n * C, C, 3, 3)) for n in fan_out)

    def edge_conv_weight(self, target: int, source: int, op: str) -> torch.Tensor:
        """The slice of a fused conv bank that is edge ``target <- source``'s conv of ``op``."""
        bank = {"nor_conv_1x1": self.conv1, "nor_conv_3x3": self.conv3}[op][source]
        k = target - source - 1
        return bank[k * self.C:(k + 1) * self.C]

    def forward(self, x: torch.Tensor, w: torch.Tensor, groups: int) -> torch.Tensor:
        """``x`` (G*n, C, H, W), ``w`` (G, 6, 5): the cell output node."""
        C = self.C
        sums: dict[int, torch.Tensor | None] = dict.fromkeys(range(1, nb201.N_NODES))
        node = x
        for i in range(nb201.N_NODES - 1):
            r = F.relu(node)
            c1 = grouped_batch_norm(F.conv2d(r, self.conv1[i]), groups)
            c3 = grouped_batch_norm(F.conv2d(r, self.conv3[i], padding=1), groups)
            pool = F.avg_pool2d(node, 3, 1, 1, count_include_pad=False)
            # split (not slicing): its backward is one concatenation instead of zero-filled copies
            for j, c1_j, c3_j in zip(range(i + 1, nb201.N_NODES), c1.split(C, dim=1), c3.split(C, dim=1)):
                we = w[:, EDGE_INDEX[(j, i)]]
                for t, op in ((node, _SKIP), (c1_j, _CONV1), (c3_j, _CONV3), (pool, _POOL)):
                    sums[j] = _accumulate(sums[j], t, we[:, op])
            node = sums[i + 1]
        return node


class NB201Supernet(Supernet):
    """The NAS-Bench-201 search network with ``alpha`` (6, 5) shared by all cells.

    ``forward(x, weights)`` takes op weights (after softmax, or perturbed/neighbor versions) of shape
    (6, 5) or (G, 6, 5) and returns logits (G * N, num_classes): block ``g`` of N rows is the batch
    evaluated under architecture ``g``. ``alpha`` itself is a parameter the algorithms read; the
    network never applies the softmax, so each algorithm decides which weights a pass uses.
    """

    n_edges = nb201.N_EDGES
    n_ops = nb201.N_OPS
    #: the op of each column of ``alpha``
    op_names = nb201.OPS
    supports_groups = True

    def __init__(self, num_classes: int, C: int = 16, N: int = 5, in_channels: int = 3) -> None:
        super().__init__()
        self.stem = nn.Conv2d(in_channels, C, 3, padding=1, bias=False)
        self.stem_bn = GroupedBatchNorm(C, affine=True)
        layers: list[nn.Module] = []
        c_prev = C
        for stage, c in enumerate((C, 2 * C, 4 * C)):
            if stage:
                layers.append(ReductionBlock(c_prev, c))
            layers.extend(FusedSearchCell(c) for _ in range(N))
            c_prev = c
        self.layers = nn.ModuleList(layers)
        self.last_bn = GroupedBatchNorm(c_prev, affine=True)
        self.classifier = nn.Linear(c_prev, num_classes)
        self.alpha = nn.Parameter(torch.zeros(self.n_edges, self.n_ops))

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        w = as_groups(weights, self.n_edges, self.n_ops)
        groups = w.shape[0]
        # The stem does not depend on the architecture: run it once, then copy for each group.
        h = self.stem_bn(self.stem(x))
        w = w.to(h.dtype)  # the compute dtype (bf16 under autocast): cast the op weights once, not per use
        if groups > 1:
            h = h.repeat(groups, 1, 1, 1)
            if x.is_contiguous(memory_format=torch.channels_last):
                h = h.contiguous(memory_format=torch.channels_last)
        for layer in self.layers:
            h = layer(h, w, groups) if isinstance(layer, FusedSearchCell) else layer(h, groups)
        h = F.relu(self.last_bn(h, groups))
        return self.classifier(h.mean(dim=(2, 3)))

    def derive(self) -> tuple[int, ...]:
        """The discrete cell: argmax of ``alpha`` per edge, ``none`` included (as NAS-Bench-201 does)."""
        return tuple(int(i) for i in self.alpha.detach().argmax(dim=-1).cpu())

    def derive_str(self) -> str:
        """The derived cell as the official NAS-Bench-201 string."""
        return nb201.to_str(self.derive())
