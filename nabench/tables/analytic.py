"""Parameter counts and FLOPs of NAS-Bench-201 networks, computed in closed form (no torch).

The network (DESIGN.md section 2): 3x3 stem conv (16 ch) + BN; three stages of 5 cells with 16, 32,
64 channels joined by residual reduction blocks; BN + ReLU; global pooling; linear classifier.
Only the two convolutions of a cell carry weights: ``nor_conv_3x3`` (9C^2 conv + 2C BN) and
``nor_conv_1x1`` (C^2 + 2C); pooling, skip and none have none. FLOPs follow NATS-Bench's counter:
multiply-accumulates of convolutions and of the classifier (with its bias); BN, ReLU and pooling
count zero. Both reproduce the official records exactly (see the tests) and give the canonical
parameter count for the 204 cells whose per-seed records disagree.
"""

from __future__ import annotations

import numpy as np

from nabench.errors import ConfigError

STEM_CHANNELS = 16
STAGE_CHANNELS = (16, 32, 64)
CELLS_PER_STAGE = 5
#: Input resolution and class count of each benchmark dataset.
INPUT = {"cifar10-valid": (32, 10), "cifar10": (32, 10), "cifar100": (32, 100), "ImageNet16-120": (16, 120)}
_CONV3, _CONV1 = 3, 2  # op indices of nor_conv_3x3 and nor_conv_1x1 in nabench.spaces.nb201.OPS


def _counts(ops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = np.atleast_2d(np.asarray(ops))
    return (a == _CONV3).sum(-1), (a == _CONV1).sum(-1)


def _geometry(dataset: str) -> tuple[int, int]:
    try:
        return INPUT[dataset]
    except KeyError:
        raise ConfigError(f"unknown dataset {dataset!r}; valid datasets are {', '.join(INPUT)}") from None


def params(ops: np.ndarray, dataset: str) -> np.ndarray:
    """Parameter count (in millions, as the tables store it) of each ``(n, 6)`` op row."""
    _, n_classes = _geometry(dataset)
    n3, n1 = _counts(ops)
    base = 3 * 9 * STEM_CHANNELS + 2 * STEM_CHANNELS
    for c_in, c_out in zip(STAGE_CHANNELS[:-1], STAGE_CHANNELS[1:]):
        base += 9 * c_in * c_out + 2 * c_out + 9 * c_out * c_out + 2 * c_out + c_in * c_out
    base += 2 * STAGE_CHANNELS[-1] + STAGE_CHANNELS[-1] * n_classes + n_classes
    per3 = CELLS_PER_STAGE * sum(9 * c * c + 2 * c for c in STAGE_CHANNELS)
    per1 = CELLS_PER_STAGE * sum(c * c + 2 * c for c in STAGE_CHANNELS)
    return (base + n3 * per3 + n1 * per1) / 1e6


def flops(ops: np.ndarray, dataset: str) -> np.ndarray:
    """FLOPs (in millions, NATS-Bench's convention) of each ``(n, 6)`` op row."""
    size, n_classes = _geometry(dataset)
    n3, n1 = _counts(ops)
    hw = [(size // 2**s) ** 2 for s in range(len(STAGE_CHANNELS))]
    base = hw[0] * 9 * 3 * STEM_CHANNELS
    for s, (c_in, c_out) in enumerate(zip(STAGE_CHANNELS[:-1], STAGE_CHANNELS[1:])):
        out = hw[s + 1]
        base += out * (9 * c_in * c_out + 9 * c_out * c_out + c_in * c_out)
    base += STAGE_CHANNELS[-1] * n_classes + n_classes
    per3 = CELLS_PER_STAGE * sum(h * 9 * c * c for h, c in zip(hw, STAGE_CHANNELS))
    per1 = CELLS_PER_STAGE * sum(h * c * c for h, c in zip(hw, STAGE_CHANNELS))
    return (base + n3 * per3 + n1 * per1) / 1e6
