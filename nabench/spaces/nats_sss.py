"""The NATS-Bench size search space (sss): channel counts of 5 layers, each in 8, 16, ..., 64.

A candidate is written ``"c1:c2:c3:c4:c5"``; its official index is the base-8 number of its channel
choices with the last layer least significant (``8:8:8:8:8`` is 0, ``8:8:8:8:16`` is 1), which is
the order of NATS-Bench's ``meta_archs`` (checked on import). 8^5 = 32,768 candidates.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from nabench.spaces.nb201 import ArchError

CHANNELS: tuple[int, ...] = (8, 16, 24, 32, 40, 48, 56, 64)
N_LAYERS = 5
N_ARCHS = len(CHANNELS) ** N_LAYERS
_POW8 = len(CHANNELS) ** np.arange(N_LAYERS - 1, -1, -1)


def parse(arch: str) -> tuple[int, ...]:
    """Channel counts of ``"c1:c2:c3:c4:c5"``."""
    parts = str(arch).strip().split(":")
    if len(parts) != N_LAYERS:
        raise ArchError(f"{arch!r} must list {N_LAYERS} channel counts separated by ':', e.g. '8:16:32:48:64'")
    try:
        values = tuple(int(p) for p in parts)
    except ValueError:
        raise ArchError(f"{arch!r} holds a channel count that is not an integer") from None
    bad = [v for v in values if v not in CHANNELS]
    if bad:
        raise ArchError(f"channel count {bad[0]} in {arch!r} is not one of {CHANNELS}")
    return values


def to_str(channels: Sequence[int]) -> str:
    """``"c1:c2:c3:c4:c5"`` of channel counts."""
    return ":".join(str(c) for c in channels)


class ChannelOrder:
    """Official index <-> channel configuration of the size search space."""

    n_archs = N_ARCHS

    def __init__(self) -> None:
        digits = (np.arange(N_ARCHS)[:, None] // _POW8) % len(CHANNELS)
        self.channels = np.asarray(CHANNELS, dtype=np.uint8)[digits]
        self.channels.setflags(write=False)

    def index(self, arch: str | Sequence[int]) -> int:
        values = parse(arch) if isinstance(arch, str) else tuple(int(v) for v in arch)
        return int(np.dot([CHANNELS.index(v) for v in values], _POW8))

    def str(self, index: int) -> str:
        return to_str(self.channels[check_index(index)])

    def resolve(self, archs: Any) -> np.ndarray | int:
        if isinstance(archs, str):
            return self.index(archs)
        a = np.asarray(archs)
        if a.dtype.kind in "UO":
            return np.array([self.index(x) for x in a.ravel()], dtype=np.int64)
        return check_index(a)


def check_index(index: Any) -> Any:
    """Validate size-space indices."""
    a = np.asarray(index)
    if a.dtype.kind not in "iu":
        raise ArchError(f"architecture indices must be integers, got {a.dtype} values")
    if a.size and (a.min() < 0 or a.max() >= N_ARCHS):
        raise ArchError(f"architecture index out of range; NATS-Bench size-space indices are 0..{N_ARCHS - 1}")
    return int(a) if a.ndim == 0 else a.astype(np.int64)
