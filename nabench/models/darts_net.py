"""The DARTS-space evaluation networks (``NetworkCIFAR``, ``NetworkImageNet``) for a fixed genotype.

They follow the DARTS reference code (Liu et al., 2019, ``cnn/model.py``): cells take the two previous
cells' outputs (preprocessed by a 1x1 ReLU-Conv-BN, or a factorized reduction after a reduction cell),
reduction cells at 1/3 and 2/3 of the depth double the channels, and an auxiliary head after the second
reduction cell. Standard settings: CIFAR 20 cells / 36 channels, ImageNet "mobile" 14 cells / 48 channels.

Parameter convention: DARTS reports parameters *without* the auxiliary head (its
``count_parameters_in_MB`` skips names containing ``auxiliary``); :meth:`DartsNetwork.param_count`
does the same by default. DARTS-V2 on CIFAR-10 gives 3,349,342 that way (published "3.3M").

Drop-path: instead of drawing masks inside ``forward`` from a global random state (as DARTS does),
the caller draws them with :meth:`DartsNetwork.drop_path_masks` from an explicit ``torch.Generator``
and passes them to ``forward``. This keeps randomness explicit and keeps the forward free of
generator calls, so ``torch.compile`` sees one graph. As in DARTS, identity (``skip_connect``, stride 1)
edges are never dropped and kept paths are scaled by ``1 / keep_prob``.
"""

from __future__ import annotations

import torch
from torch import nn

from nabench.models.ops import DARTS_OPS, FactorizedReduce, Identity, ReLUConvBN
from nabench.spaces.darts import Genotype, validate


class DartsCell(nn.Module):
    """A normal or reduction cell built from a genotype."""

    def __init__(self, genotype: Genotype, C_prev_prev: int, C_prev: int, C: int, reduction: bool,
                 reduction_prev: bool) -> None:
        super().__init__()
        self.reduction = reduction
        self.preprocess0 = FactorizedReduce(C_prev_prev, C) if reduction_prev else ReLUConvBN(C_prev_prev, C, 1, 1, 0)
        self.preprocess1 = ReLUConvBN(C_prev, C, 1, 1, 0)
        pairs = genotype.reduce if reduction else genotype.normal
        self.concat = list(genotype.reduce_concat if reduction else genotype.normal_concat)
        self.indices = [int(src) for _, src in pairs]
        self.steps = len(pairs) // 2
        self.ops = nn.ModuleList(
            DARTS_OPS[name](C, 2 if reduction and src < 2 else 1, True) for name, src in pairs
        )
        #: Whether each op may be dropped by drop-path (everything but the identity).
        self.droppable = [not isinstance(op, Identity) for op in self.ops]
        self.multiplier = len(self.concat)

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, masks: torch.Tensor | None = None) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for i in range(self.steps):
            node = None
            for k in (2 * i, 2 * i + 1):
                h = self.ops[k](states[self.indices[k]])
                if masks is not None and self.droppable[k]:
                    h = h * masks[k].view(-1, 1, 1, 1).to(h.dtype)
                node = h if node is None else node + h
            states.append(node)
        return torch.cat([states[i] for i in self.concat], dim=1)


class AuxiliaryHead(nn.Module):
    """DARTS's auxiliary classifier on the output of the second reduction cell.

    CIFAR (8x8 input): pool 5/3, 1x1 conv to 128, 2x2 conv to 768 with BN. ImageNet (7x7 input): pool 5/2
    and, as in the DARTS code used for its published results, no BN after the 768-channel conv.
    """

    def __init__(self, C: int, num_classes: int, imagenet: bool) -> None:
        super().__init__()
        tail: list[nn.Module] = [] if imagenet else [nn.BatchNorm2d(768)]
        self.features = nn.Sequential(
            nn.ReLU(inplace=True),
            nn.AvgPool2d(5, stride=2 if imagenet else 3, padding=0, count_include_pad=False),
            nn.Conv2d(C, 128, 1, bias=False),
            nn.BatchNorm2d(128),
            nn.ReLU(inplace=True),
            nn.Conv2d(128, 768, 2, bias=False),
            *tail,
            nn.ReLU(inplace=True),
        )
        self.classifier = nn.Linear(768, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.features(x), 1))


class DartsNetwork(nn.Module):
    """DARTS evaluation network; ``forward(x, drop_masks=None)`` returns logits, or ``(logits, aux_logits)``
    in training mode when the auxiliary head is on."""

    def __init__(self, genotype: Genotype, num_classes: int, layers: int, C: int, auxiliary: bool,
                 imagenet: bool) -> None:
        super().__init__()
        genotype = validate(genotype)
        self.genotype = genotype
        self.layers = layers
        self.imagenet = imagenet
        if imagenet:
            self.stem0 = nn.Sequential(
                nn.Conv2d(3, C // 2, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(C // 2), nn.ReLU(inplace=True),
                nn.Conv2d(C // 2, C, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(C),
            )
            self.stem1 = nn.Sequential(
                nn.ReLU(inplace=True), nn.Conv2d(C, C, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(C),
            )
            c_pp, c_p, c_cur, reduction_prev = C, C, C, True
        else:
            self.stem = nn.Sequential(nn.Conv2d(3, 3 * C, 3, padding=1, bias=False), nn.BatchNorm2d(3 * C))
            c_pp, c_p, c_cur, reduction_prev = 3 * C, 3 * C, C, False
        self.aux_index = 2 * layers // 3
        self.cells = nn.ModuleList()
        c_aux = c_p
        for i in range(layers):
            reduction = i in (layers // 3, 2 * layers // 3)
            if reduction:
                c_cur *= 2
            cell = DartsCell(genotype, c_pp, c_p, c_cur, reduction, reduction_prev)
            self.cells.append(cell)
            reduction_prev = reduction
            c_pp, c_p = c_p, cell.multiplier * c_cur
            if i == self.aux_index:
                c_aux = c_p
        self.auxiliary_head = AuxiliaryHead(c_aux, num_classes, imagenet) if auxiliary else None
        self.classifier = nn.Linear(c_p, num_classes)

    def drop_path_masks(self, batch: int, drop_prob: float, generator: torch.Generator,
                        device: torch.device | str | None = None) -> torch.Tensor | None:
        """Per-sample drop-path masks ``(cells, ops per cell, batch)``: 0 or ``1 / keep_prob``; None if
        ``drop_prob`` is 0. Drawn on the generator's device, then moved to ``device``."""
        if drop_prob <= 0:
            return None
        if not 0 <= drop_prob < 1:
            raise ValueError(f"drop_prob must be in [0, 1), got {drop_prob}")
        keep = 1.0 - drop_prob
        n_ops = len(self.cells[0].ops)
        u = torch.rand((len(self.cells), n_ops, batch), generator=generator, device=generator.device)
        masks = (u < keep).to(torch.float32) / keep
        return masks.to(device) if device is not None else masks

    def forward(self, x: torch.Tensor, drop_masks: torch.Tensor | None = None):
        if self.imagenet:
            s0 = self.stem0(x)
            s1 = self.stem1(s0)
        else:
            s0 = s1 = self.stem(x)
        if not self.training:
            drop_masks = None
        aux = None
        for i, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1, None if drop_masks is None else drop_masks[i])
            if i == self.aux_index and self.auxiliary_head is not None and self.training:
                aux = self.auxiliary_head(s1)
        logits = self.classifier(s1.mean(dim=(2, 3)))  # global average pooling, deterministic on CUDA
        return (logits, aux) if aux is not None else logits

    def param_count(self, with_auxiliary: bool = False) -> int:
        """Parameters, by default without the auxiliary head (the DARTS convention)."""
        return sum(p.numel() for n, p in self.named_parameters() if with_auxiliary or "auxiliary" not in n)


def network_cifar(genotype: Genotype, num_classes: int = 10, layers: int = 20, C: int = 36,
                  auxiliary: bool = True) -> DartsNetwork:
    """DARTS ``NetworkCIFAR`` (default: the standard 20 cells, 36 initial channels, auxiliary head)."""
    return DartsNetwork(genotype, num_classes, layers, C, auxiliary, imagenet=False)


def network_imagenet(genotype: Genotype, num_classes: int = 1000, layers: int = 14, C: int = 48,
                     auxiliary: bool = True) -> DartsNetwork:
    """DARTS ``NetworkImageNet`` (default: the mobile setting, 14 cells, 48 initial channels)."""
    return DartsNetwork(genotype, num_classes, layers, C, auxiliary, imagenet=True)
