"""The NATS-Bench size search space (sss): channel counts of 5 layers, each in 8, 16, ..., 64.

A candidate is written ``"c1:c2:c3:c4:c5"``; its official index is the base-8 number of its channel
choices with the last layer least significant (``8:8:8:8:8`` is 0, ``8:8:8:8:16`` is 1), which is
the order of NATS-Bench's ``meta_archs`` (checked on import). 8^5 = 32,768 candidates.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from nabench.errors import ConfigError
from nabench.spaces.nb201 import ArchError

CHANNELS: tuple[int, ...] = (8, 16, 24, 32, 40, 48, 56, 64)
N_LAYERS = 5
N_ARCHS = len(CHANNELS) ** N_LAYERS
_POW8 = len(CHANNELS) ** np.arange(N_LAYERS - 1, -1, -1)


def parse(arch: str) -> tuple[int, ...]:
    """Channel counts of ``"c1:c2:c3:c4:c5"``."""
    from nabench import validate

    parts = str(arch).strip().split(":")
    if len(parts) != N_LAYERS:
        raise ArchError(f"{validate.brief(arch)} must list {N_LAYERS} channel counts separated by ':', "
                        "e.g. '8:16:32:48:64'")
    try:
        values = tuple(validate.int_string("channel count", p) for p in parts)
    except ConfigError as e:
        raise ArchError(f"{validate.brief(arch)} holds a channel count that is not a plain integer: {e}") from None
    bad = [v for v in values if v not in CHANNELS]
    if bad:
        raise ArchError(f"channel count {bad[0]} in {arch!r} is not one of {CHANNELS}")
    return values


def _check_channels(channels: Sequence[Any]) -> tuple[int, ...]:
    """Channel counts given as a sequence of integers (strings, floats and bools are refused)."""
    from nabench import validate

    try:
        values = tuple(validate.integer("channel count", v) for v in channels)
    except ConfigError as e:
        raise ArchError(str(e)) from None
    if len(values) != N_LAYERS or any(v not in CHANNELS for v in values):
        raise ArchError(f"{validate.brief(channels)} must list {N_LAYERS} channel counts, each one of {CHANNELS}")
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
        values = parse(arch) if isinstance(arch, str) else _check_channels(arch)
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
    if isinstance(index, int) and not isinstance(index, bool) and not 0 <= index < N_ARCHS:
        raise ArchError(f"architecture index {index} is out of range; NATS-Bench size-space indices are 0..{N_ARCHS - 1}")
    a = np.asarray(index)
    if a.dtype.kind not in "iu":
        raise ArchError(f"architecture indices must be integers, got {a.dtype} values")
    if a.size and (a.min() < 0 or a.max() >= N_ARCHS):
        raise ArchError(f"architecture index out of range; NATS-Bench size-space indices are 0..{N_ARCHS - 1}")
    return int(a) if a.ndim == 0 else a.astype(np.int64)


class SizeSpace:
    """The size space as a :class:`~nabench.spaces.base.SearchSpace`: archs are official indices.

    One edit changes one layer's channel count to one of the 7 others (35 neighbors at radius 1);
    the encoding is the 5 channel choices (0..7 each); distance is the Hamming distance over layers.
    Every configuration is its own canonical form (no two compute the same network).
    """

    name = "nats-sss"
    cardinalities: tuple[int, ...] = (len(CHANNELS),) * N_LAYERS
    size = N_ARCHS
    enumerable = True
    n_archs = N_ARCHS

    def __init__(self) -> None:
        self.order = ChannelOrder()
        self._digits = ((np.arange(N_ARCHS)[:, None] // _POW8) % len(CHANNELS)).astype(np.int64)
        self._digits.setflags(write=False)
        self._tables: dict[tuple[int, bool], np.ndarray] = {}

    def _table(self, radius: int, exact: bool) -> np.ndarray:
        key = (int(radius), bool(exact))
        if key not in self._tables:
            from itertools import combinations, product

            base = np.arange(N_ARCHS, dtype=np.int64)
            cols = []
            shells = [radius] if exact else range(1, radius + 1)
            k = len(CHANNELS)
            for r in shells:
                for layers in combinations(range(N_LAYERS), r):
                    for shifts in product(range(1, k), repeat=r):
                        code = base.copy()
                        for layer, sh in zip(layers, shifts):
                            d = self._digits[:, layer]
                            code += (((d + sh) % k) - d) * _POW8[layer]
                        cols.append(code)
            table = np.stack(cols, axis=1)
            table.setflags(write=False)
            self._tables[key] = table
        return self._tables[key]

    def sample(self, rng: np.random.Generator, n: int | None = None) -> Any:
        return int(rng.integers(N_ARCHS)) if n is None else rng.integers(N_ARCHS, size=n)

    def mutate(self, arch: int, rng: np.random.Generator) -> int:
        d = self._digits[int(arch)].copy()
        layer = int(rng.integers(N_LAYERS))
        d[layer] = (d[layer] + int(rng.integers(1, len(CHANNELS)))) % len(CHANNELS)
        return int(d @ _POW8)

    def neighbors(self, arch: Any, radius: int = 1, exact: bool = False) -> np.ndarray:
        return self._table(radius, exact)[arch]

    def distance(self, a: int, b: int) -> int:
        return int((self._digits[int(a)] != self._digits[int(b)]).sum())

    def canonical(self, arch: int) -> int:
        return int(arch)

    def parse(self, value: Any) -> int:
        """An official index from an index or ``"c1:c2:c3:c4:c5"``."""
        from nabench import validate

        if isinstance(value, str):
            s = value.strip()
            if ":" in s:
                return self.order.index(s)
            try:
                return int(check_index(validate.int_string("architecture index", s, signed=True)))
            except ArchError:
                raise
            except ConfigError:
                raise ArchError(f"architecture {validate.brief(value)} is neither an index (0..{N_ARCHS - 1}, "
                                "digits 0-9) nor channel counts 'c1:c2:c3:c4:c5'") from None
        if isinstance(value, (tuple, list)):
            return self.order.index(tuple(value))
        return int(check_index(validate.integer("architecture index", value)))

    def format(self, arch: int) -> str:
        return self.order.str(int(arch))

    def encode(self, archs: Any) -> np.ndarray:
        return self._digits[archs]

    def decode(self, vectors: Any) -> Any:
        v = np.asarray(vectors, dtype=np.int64)
        if v.size and (v.min() < 0 or v.max() >= len(CHANNELS)):
            raise ArchError(f"size-space codes must lie in 0..{len(CHANNELS) - 1}")
        return int(v @ _POW8) if v.ndim == 1 else (v @ _POW8).astype(np.int64)
