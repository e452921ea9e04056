"""Candidate operations of the NAS-Bench-201 and DARTS spaces, shared by supernets and final networks.

``NB201_OPS[name](C_in, C_out, stride, affine, track_running_stats)`` and
``DARTS_OPS[name](C, stride, affine)`` build one operation. The NAS-Bench-201 definitions follow the
benchmark's own (ReLU-Conv-BN convolutions, average pooling without padding counts), so networks
built from them have exactly the benchmark's parameter counts. Supernets use ``affine=False`` as in
DARTS; final networks use ``affine=True``.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn


class ReLUConvBN(nn.Sequential):
    """ReLU -> Conv2d (no bias) -> BatchNorm, the ``nor_conv`` op of NAS-Bench-201 and DARTS."""

    def __init__(self, C_in: int, C_out: int, kernel: int, stride: int, padding: int, dilation: int = 1,
                 affine: bool = True, track_running_stats: bool = True) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(C_in, C_out, kernel, stride=stride, padding=padding, dilation=dilation, bias=False),
            nn.BatchNorm2d(C_out, affine=affine, track_running_stats=track_running_stats),
        )


class Identity(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


class Zero(nn.Module):
    """The ``none`` op: zeros of the output shape (strided and channel-adjusted when needed)."""

    def __init__(self, C_in: int, C_out: int, stride: int) -> None:
        super().__init__()
        self.C_out, self.stride = C_out, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride > 1:
            x = x[:, :, :: self.stride, :: self.stride]
        shape = (x.shape[0], self.C_out, x.shape[2], x.shape[3])
        return x.new_zeros(shape)


class FactorizedReduce(nn.Module):
    """Halve the resolution with two offset 1x1 convolutions, concatenated (DARTS / NAS-Bench-201)."""

    def __init__(self, C_in: int, C_out: int, affine: bool = True, track_running_stats: bool = True) -> None:
        super().__init__()
        if C_out % 2:
            raise ValueError(f"FactorizedReduce needs an even C_out, got {C_out}")
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(C_in, C_out // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(C_in, C_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(C_out, affine=affine, track_running_stats=track_running_stats)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(x[:, :, 1:, 1:])], dim=1))


class Pooling(nn.Module):
    """NAS-Bench-201 pooling; a ReLU-Conv-BN 1x1 first when the channel count changes."""

    def __init__(self, C_in: int, C_out: int, stride: int, mode: str = "avg", affine: bool = True,
                 track_running_stats: bool = True) -> None:
        super().__init__()
        self.preprocess = None if C_in == C_out else ReLUConvBN(C_in, C_out, 1, 1, 0, 1, affine, track_running_stats)
        if mode == "avg":
            self.op: nn.Module = nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False)
        elif mode == "max":
            self.op = nn.MaxPool2d(3, stride=stride, padding=1)
        else:
            raise ValueError(f"unknown pooling mode {mode!r}; use 'avg' or 'max'")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x if self.preprocess is None else self.preprocess(x))


class ResNetBasicBlock(nn.Module):
    """The residual reduction block joining NAS-Bench-201 stages (stride 2, channels doubled)."""

    def __init__(self, C_in: int, C_out: int, stride: int, affine: bool = True,
                 track_running_stats: bool = True) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(C_in, C_out, 3, stride, 1, 1, affine, track_running_stats)
        self.conv_b = ReLUConvBN(C_out, C_out, 3, 1, 1, 1, affine, track_running_stats)
        if stride == 2:
            self.downsample: nn.Module | None = nn.Sequential(
                nn.AvgPool2d(2, stride=2, padding=0), nn.Conv2d(C_in, C_out, 1, bias=False)
            )
        elif C_in != C_out:
            self.downsample = ReLUConvBN(C_in, C_out, 1, 1, 0, 1, affine, track_running_stats)
        else:
            self.downsample = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv_b(self.conv_a(x))
        return out + (x if self.downsample is None else self.downsample(x))


def _nb201_skip(C_in: int, C_out: int, stride: int, affine: bool, track: bool) -> nn.Module:
    if stride == 1 and C_in == C_out:
        return Identity()
    return FactorizedReduce(C_in, C_out, affine, track)


OpFactory = Callable[[int, int, int, bool, bool], nn.Module]

#: NAS-Bench-201 ops, in :data:`nabench.spaces.nb201.OPS` order.
NB201_OPS: dict[str, OpFactory] = {
    "none": lambda C_in, C_out, stride, affine, track: Zero(C_in, C_out, stride),
    "skip_connect": _nb201_skip,
    "nor_conv_1x1": lambda C_in, C_out, stride, affine, track: ReLUConvBN(C_in, C_out, 1, stride, 0, 1, affine, track),
    "nor_conv_3x3": lambda C_in, C_out, stride, affine, track: ReLUConvBN(C_in, C_out, 3, stride, 1, 1, affine, track),
    "avg_pool_3x3": lambda C_in, C_out, stride, affine, track: Pooling(C_in, C_out, stride, "avg", affine, track),
}


class SepConv(nn.Sequential):
    """DARTS separable convolution: two stacked (ReLU, depthwise, pointwise, BN) blocks."""

    def __init__(self, C: int, kernel: int, stride: int, padding: int, affine: bool = True) -> None:
        super().__init__(
            DilConv(C, C, kernel, stride, padding, 1, affine),
            DilConv(C, C, kernel, 1, padding, 1, affine),
        )


class DilConv(nn.Sequential):
    """DARTS dilated separable convolution: ReLU, depthwise (dilated) conv, pointwise conv, BN."""

    def __init__(self, C_in: int, C_out: int, kernel: int, stride: int, padding: int, dilation: int,
                 affine: bool = True) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(C_in, C_in, kernel, stride=stride, padding=padding, dilation=dilation, groups=C_in, bias=False),
            nn.Conv2d(C_in, C_out, 1, bias=False),
            nn.BatchNorm2d(C_out, affine=affine),
        )


def _darts_skip(C: int, stride: int, affine: bool) -> nn.Module:
    return Identity() if stride == 1 else FactorizedReduce(C, C, affine)


DartsFactory = Callable[[int, int, bool], nn.Module]

#: DARTS (v2) ops, in the order of :data:`nabench.spaces.darts.PRIMITIVES`.
DARTS_OPS: dict[str, DartsFactory] = {
    "none": lambda C, stride, affine: Zero(C, C, stride),
    "max_pool_3x3": lambda C, stride, affine: nn.MaxPool2d(3, stride=stride, padding=1),
    "avg_pool_3x3": lambda C, stride, affine: nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False),
    "skip_connect": _darts_skip,
    "sep_conv_3x3": lambda C, stride, affine: SepConv(C, 3, stride, 1, affine),
    "sep_conv_5x5": lambda C, stride, affine: SepConv(C, 5, stride, 2, affine),
    "dil_conv_3x3": lambda C, stride, affine: DilConv(C, C, 3, stride, 2, 2, affine),
    "dil_conv_5x5": lambda C, stride, affine: DilConv(C, C, 5, stride, 4, 2, affine),
}
