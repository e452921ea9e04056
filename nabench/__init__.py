"""nabench: neighborhood-aware neural architecture search on tabular benchmarks.

``nabench.load("nb201")`` opens the installed NAS-Bench-201 tables (see :mod:`nabench.tables`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from nabench.tables import NB201Benchmark


def load(name: str = "nb201", data_dir: Any = None) -> "NB201Benchmark":
    """Open an installed benchmark store; see :func:`nabench.tables.load`."""
    from nabench.tables import load as _load

    return _load(name, data_dir)
