"""Loading plugins from an entry-point group: the one loop shared by searcher and benchmark plugins.

A plugin that fails to load (a broken third-party package) is skipped with a warning naming it, so it
cannot break the built-in searchers and benchmarks.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable


def load_group(group: str, what: str, register: Callable[[Any], str]) -> list[str]:
    """Call ``register`` on each loaded object of entry-point ``group``; the names it returns, in order.

    ``what`` names the kind of plugin in the warning (``"searcher"``, ``"benchmark"``).
    """
    from importlib.metadata import entry_points

    names = []
    for ep in entry_points(group=group):
        try:
            names.append(register(ep.load()))
        except Exception as e:  # a broken third-party package: say so, keep going
            warnings.warn(f"nabench {what} plugin {ep.name!r} ({ep.value}) was not loaded: {e}", stacklevel=3)
    return names
