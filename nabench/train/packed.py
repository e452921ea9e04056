"""Packed NAS-Bench-201 networks: K networks (different cells) as one batched computation.

Decision: grouped convolutions over a channel-packed layout, not ``torch.func.stack_module_state`` + ``vmap``.

* ``vmap`` needs K copies of one module structure. NB201 cells differ in their op on every edge, so vmap would
  either batch only networks with identical cells (a training farm of deduplicated cells has none) or run every
  candidate op on every edge for every network with 0/1 masks (about 5x the work, and extra parameters that
  the benchmark's networks do not have). BatchNorm running statistics under vmap also need
  ``replace_all_batch_norm_modules_`` or hand-threaded buffers.
* Channel packing puts network ``k`` in channels ``[k*C, (k+1)*C)`` of one ``(B, K*C, H, W)`` tensor. A
  convolution with ``groups=K`` is then K independent convolutions, and an ordinary ``BatchNorm2d(K*C)`` is K
  independent batch norms, running statistics included, because batch norm is per channel. On an edge, the
  networks are grouped by their op there: each op runs once over the channel blocks of the networks that use
  it (``groups = number of those networks``), and its output is added into the target node's blocks. No
  network computes an op it does not have, and the parameters are exactly those of the K separate networks.

Exactness: every value of network ``k`` is computed from network ``k``'s own inputs and weights by the same
ops as in :class:`~nabench.models.nb201_net.NB201Net` (node sums in the same edge order; adding into a zero
block is exact), and SGD (momentum, Nesterov, weight decay) is elementwise, so the packed networks follow the
separate trajectories up to the rounding of the kernels (a grouped convolution may sum in another order than a
single one): ``tests/test_train_packed.py`` checks weights, BatchNorm statistics and losses after several
steps against K separate :class:`~nabench.train.trainer.Trainer` runs.

Input: ``x`` of shape ``(B, 3, H, W)`` (one batch shared by all networks) or ``(B, 3K, H, W)`` (network ``k``'s
own batch in channels ``3k..3k+2``); output logits ``(B, K, classes)``. :meth:`PackedNB201.unpack` gives each
network's state dict under :class:`NB201Net`'s names, so a packed run writes the same checkpoints as K runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from nabench.errors import ConfigError
from nabench.models.nb201_net import NB201Net
from nabench.spaces import nb201

#: NB201 op indices (nabench.spaces.nb201.OPS order) that hold a ReLU-Conv-BN, with their kernel size.
_CONV_KERNELS = {nb201.OPS.index("nor_conv_1x1"): 1, nb201.OPS.index("nor_conv_3x3"): 3}
_SKIP = nb201.OPS.index("skip_connect")
_POOL = nb201.OPS.index("avg_pool_3x3")
_NONE = nb201.OPS.index("none")


@dataclass(frozen=True)
class Slot:
    """One packed leaf module and where its tensors come from: ``source`` in each member network."""

    packed: str
    source: str
    members: tuple[int, ...]
    stacked: bool = False


class PackedConv(nn.Module):
    """``len(members)`` convolutions as one grouped convolution; the weight is the members' weights concatenated."""

    def __init__(self, n: int, c_in: int, c_out: int, kernel: int, stride: int, padding: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n * c_out, c_in, kernel, kernel))
        self.stride, self.padding = stride, padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # groups = 1 for a shared 3-channel input (the stem), otherwise one group per member.
        groups = x.shape[1] // self.weight.shape[1]
        return F.conv2d(x, self.weight, None, self.stride, self.padding, 1, groups)


class PackedLinear(nn.Module):
    """K linear classifiers: features ``(B, K*C)`` -> logits ``(B, K, classes)``."""

    def __init__(self, k: int, c_in: int, c_out: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(k, c_out, c_in))
        self.bias = nn.Parameter(torch.empty(k, c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k, c_out, c_in = self.weight.shape
        feats = x.reshape(x.shape[0], k, c_in).transpose(0, 1)          # (K, B, C)
        out = torch.baddbmm(self.bias.unsqueeze(1), feats, self.weight.transpose(1, 2))
        return out.transpose(0, 1)                                      # (B, K, classes)


class PackedNB201(nn.Module):
    """K :class:`NB201Net` networks (same channels, depth and classes; any cells) packed; see the module docstring."""

    def __init__(self, nets: Sequence[NB201Net]) -> None:
        super().__init__()
        if not nets:
            raise ConfigError("packing needs at least one network")
        shapes = {(n.stem[0].out_channels, len(n.cells), n.classifier.out_features) for n in nets}
        if len(shapes) != 1:
            raise ConfigError("packed networks must share channels, cells per stage and classes; "
                              f"got {sorted(shapes)}; pack only networks trained with the same settings")
        self.K = len(nets)
        self.archs = [n.arch for n in nets]
        self.cell_ops = [nb201.parse(a) for a in self.archs]
        C = nets[0].stem[0].out_channels
        classes = nets[0].classifier.out_features
        everyone = tuple(range(self.K))
        self.slots: list[Slot] = []
        self.leaves = nn.ModuleDict()
        self.stages: list[tuple[str, int, int]] = []   # ("cell" | "reduce", position in net.cells, channels)

        self._add("stem.conv", "stem.0", everyone, PackedConv(self.K, 3, C, 3, 1, 1))
        self._add("stem.bn", "stem.1", everyone, nn.BatchNorm2d(self.K * C))
        for j, layer in enumerate(nets[0].cells):
            if hasattr(layer, "edges"):
                c = _cell_channels(nets, j)
                self.stages.append(("cell", j, c))
                for e in range(nb201.N_EDGES):
                    for op, kernel in _CONV_KERNELS.items():
                        members = tuple(k for k in everyone if self.cell_ops[k][e] == op)
                        if members:
                            pad = kernel // 2
                            self._add(f"c{j}.e{e}.o{op}.conv", f"cells.{j}.edges.{e}.1", members,
                                      PackedConv(len(members), c, c, kernel, 1, pad))
                            self._add(f"c{j}.e{e}.o{op}.bn", f"cells.{j}.edges.{e}.2", members,
                                      nn.BatchNorm2d(len(members) * c))
            else:
                c_in, c_out = layer.conv_a[1].in_channels, layer.conv_a[1].out_channels
                self.stages.append(("reduce", j, c_out))
                self._add(f"r{j}.a.conv", f"cells.{j}.conv_a.1", everyone, PackedConv(self.K, c_in, c_out, 3, 2, 1))
                self._add(f"r{j}.a.bn", f"cells.{j}.conv_a.2", everyone, nn.BatchNorm2d(self.K * c_out))
                self._add(f"r{j}.b.conv", f"cells.{j}.conv_b.1", everyone, PackedConv(self.K, c_out, c_out, 3, 1, 1))
                self._add(f"r{j}.b.bn", f"cells.{j}.conv_b.2", everyone, nn.BatchNorm2d(self.K * c_out))
                self._add(f"r{j}.down", f"cells.{j}.downsample.1", everyone, PackedConv(self.K, c_in, c_out, 1, 1, 0))
        # The cell plan (same for every cell of a network): per node, its (edge, source, op, members) groups;
        # and the channel indices of each partial group, as buffers so that they move with the module and a
        # CUDA graph can capture the gathers (no host-to-device copy in the forward).
        self.plan: list[list[tuple[int, int, int, tuple[int, ...], str | None]]] = []
        index_names: dict[tuple[tuple[int, ...], int], str] = {}
        channels = sorted({c for kind, _, c in self.stages if kind == "cell"})
        for node in range(1, nb201.N_NODES):
            groups = []
            for e, (dst, src) in enumerate(nb201.EDGES):
                if dst != node:
                    continue
                for op in (_SKIP, *_CONV_KERNELS, _POOL):
                    members = tuple(k for k in everyone if self.cell_ops[k][e] == op)
                    if not members:
                        continue
                    if len(members) < self.K:
                        for c in channels:
                            if (members, c) not in index_names:
                                name = f"index{len(index_names)}"
                                idx = (torch.tensor(members).unsqueeze(1) * c + torch.arange(c)).reshape(-1)
                                self.register_buffer(name, idx, persistent=False)
                                index_names[(members, c)] = name
                    groups.append((e, src, op, members, None if len(members) == self.K else "partial"))
            self.plan.append(groups)
        self._index_names = index_names
        c_last = nets[0].classifier.in_features
        self._add("last.bn", "lastact.0", everyone, nn.BatchNorm2d(self.K * c_last))
        self._add("classifier", "classifier", everyone, PackedLinear(self.K, c_last, classes), stacked=True)
        self.load_networks(nets)

    # ------------------------------------------------------------------------------ packing
    def _add(self, name: str, source: str, members: tuple[int, ...], module: nn.Module, stacked: bool = False) -> None:
        key = name.replace(".", "_")
        self.leaves[key] = module
        self.slots.append(Slot(key, source, members, stacked))

    @torch.no_grad()
    def load_networks(self, nets: Sequence[nn.Module]) -> None:
        """Copy the K networks' parameters and buffers into the packed tensors."""
        states = [n.state_dict() for n in nets]
        for slot, name, t in self._tensors():
            parts = [states[k][f"{slot.source}.{name}"] for k in slot.members]
            if t.dim() == 0:            # num_batches_tracked: one counter, equal for all members
                t.copy_(parts[0])
            else:
                t.copy_(torch.stack(parts) if slot.stacked else torch.cat(parts))

    def _tensors(self) -> Iterator[tuple[Slot, str, torch.Tensor]]:
        """Every packed parameter and buffer: ``(slot, name in its leaf, tensor)``; its state-dict key is
        ``leaves.<slot.packed>.<name>`` and each member's is ``<slot.source>.<name>``."""
        for slot in self.slots:
            leaf = self.leaves[slot.packed]
            for name, t in list(leaf.named_parameters(recurse=False)) + list(leaf.named_buffers(recurse=False)):
                yield slot, name, t

    def split(self, tensors: dict[str, torch.Tensor]) -> list[dict[str, torch.Tensor]]:
        """Per-network tensors under :class:`NB201Net` names from packed ones keyed like ``self.state_dict()``
        (missing keys are skipped; used for states, gradients and optimizer buffers alike)."""
        out: list[dict[str, torch.Tensor]] = [{} for _ in range(self.K)]
        for slot, name, _ in self._tensors():
            key = f"leaves.{slot.packed}.{name}"
            if key not in tensors:
                continue
            t = tensors[key]
            if t.dim() == 0:
                parts = [t] * len(slot.members)
            elif slot.stacked:
                parts = list(t.unbind(0))
            else:
                parts = list(t.chunk(len(slot.members), dim=0))
            for k, part in zip(slot.members, parts):
                out[k][f"{slot.source}.{name}"] = part.detach().clone()
        return out

    def unpack(self) -> list[dict[str, torch.Tensor]]:
        """Each network's state dict (parameters and BatchNorm buffers) under :class:`NB201Net` names."""
        return self.split(self.state_dict())

    def merge(self, per_network: Sequence[dict[str, torch.Tensor]], like: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The inverse of :meth:`split` for the keys of ``like`` (a packed dict whose tensors give shape and device)."""
        out: dict[str, torch.Tensor] = {}
        for slot, name, _ in self._tensors():
            key = f"leaves.{slot.packed}.{name}"
            if key not in like:
                continue
            parts = [per_network[k][f"{slot.source}.{name}"].to(like[key].device) for k in slot.members]
            if like[key].dim() == 0:
                out[key] = parts[0].clone()
            else:
                out[key] = torch.stack(parts) if slot.stacked else torch.cat(parts)
        return out

    # ------------------------------------------------------------------------------ forward
    def _leaf(self, name: str) -> nn.Module:
        return self.leaves[name.replace(".", "_")]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] not in (3, 3 * self.K):
            raise ValueError(f"packed input needs 3 (shared) or {3 * self.K} (one batch per network) channels, "
                             f"got {x.shape[1]}")
        h = self._leaf("stem.bn")(self._leaf("stem.conv")(x))
        for kind, j, c in self.stages:
            if kind == "cell":
                h = self._cell(h, j, c)
            else:
                a = self._leaf(f"r{j}.a.bn")(self._leaf(f"r{j}.a.conv")(F.relu(h)))
                b = self._leaf(f"r{j}.b.bn")(self._leaf(f"r{j}.b.conv")(F.relu(a)))
                h = b + self._leaf(f"r{j}.down")(F.avg_pool2d(h, 2, 2))
        h = F.relu(self._leaf("last.bn")(h))
        return self._leaf("classifier")(h.mean(dim=(2, 3)))

    def _cell(self, x: torch.Tensor, j: int, c: int) -> torch.Tensor:
        nodes: list[torch.Tensor] = [x]
        for groups in self.plan:
            acc: torch.Tensor | None = None
            for e, src, op, members, partial in groups:
                idx = getattr(self, self._index_names[(members, c)]) if partial else None
                inp = nodes[src] if idx is None else nodes[src].index_select(1, idx)
                if op == _SKIP:
                    out = inp
                elif op == _POOL:
                    out = F.avg_pool2d(inp, 3, 1, 1, count_include_pad=False)
                else:
                    out = self._leaf(f"c{j}.e{e}.o{op}.bn")(self._leaf(f"c{j}.e{e}.o{op}.conv")(F.relu(inp)))
                if idx is None:
                    acc = out if acc is None else acc + out
                else:
                    acc = (torch.zeros_like(x) if acc is None else acc).index_add(1, idx, out)
            nodes.append(torch.zeros_like(x) if acc is None else acc)
        return nodes[-1]


def _cell_channels(nets: Sequence[NB201Net], j: int) -> int:
    """Channels of cell ``j`` (from any member's stage layout)."""
    c = nets[0].stem[0].out_channels
    for layer in list(nets[0].cells)[: j + 1]:
        if not hasattr(layer, "edges"):
            c = layer.conv_a[1].out_channels
    return c


def packed_losses(logits: torch.Tensor, y: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
    """Per-network mean cross-entropy ``(K,)`` of packed logits ``(B, K, classes)``; labels ``(B, K)`` or ``(B,)``."""
    if y.dim() == 1:
        y = y.unsqueeze(1).expand(-1, logits.shape[1])
    loss = F.cross_entropy(logits.permute(0, 2, 1), y, reduction="none", label_smoothing=label_smoothing)
    return loss.mean(dim=0)
