"""nabench: neighborhood-aware neural architecture search on tabular benchmarks.

``nabench.load("nb201")`` opens the installed NAS-Bench-201 tables (see :mod:`nabench.tables`);
``nabench.load("nb301")`` the DARTS-space surrogate. :func:`register_benchmark` adds a user's benchmark
(see :mod:`nabench.benchmarks` and ``examples/plugin_benchmark``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from nabench.tables import NB201Benchmark


def load(name: str = "nb201", data_dir: Any = None) -> "NB201Benchmark":
    """Open an installed benchmark store (or the NB301 surrogate, or a plugin); see :func:`nabench.tables.load`."""
    from nabench.tables import load as _load

    return _load(name, data_dir)


def register_benchmark(name: str, factory: Any, **kwargs: Any) -> Any:
    """Register a benchmark plugin; see :func:`nabench.benchmarks.register_benchmark` (same arguments)."""
    from nabench.benchmarks import register_benchmark as _register

    return _register(name, factory, **kwargs)
