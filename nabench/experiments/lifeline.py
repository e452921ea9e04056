"""Worker processes that die with their parent (no orphans after a ``kill -9`` of ``nabench run``).

A process pool's workers block on the parent's call queue; when the parent is killed with SIGKILL
nothing tells them, and they would live on (each holding the space, the signals and the parent's
pipes). Two guards, both set up first thing in every worker:

* Linux: ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` through ctypes makes the kernel kill the worker the
  moment its parent exits. A parent that died before the call is caught by comparing ``getppid()``
  with the pid the parent passed in.
* Everywhere (and as a second line on Linux): a daemon thread polls ``os.getppid()`` and ends the
  process when it changes (the worker was re-parented to init or a subreaper).

The same initializer registers the parent's plugins in the worker (:func:`parent_plugins`: searcher
classes and benchmark plugins registered at run time). This module imports nothing heavy, so it costs a
spawned worker nothing.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from typing import Any, Callable, Mapping

#: Seconds between two looks at the parent pid in the fallback thread.
POLL_S = 0.5
_PR_SET_PDEATHSIG = 1


def _pdeathsig() -> bool:
    """Ask the Linux kernel to SIGKILL this process when its parent dies; ``False`` where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch(parent: int) -> None:
    while True:
        if os.getppid() != parent:
            os._exit(1)
        time.sleep(POLL_S)


def die_with_parent(parent: int) -> None:
    """Make this process exit when the process ``parent`` (its parent) dies."""
    _pdeathsig()
    if os.getppid() != parent:
        os._exit(1)
    threading.Thread(target=_watch, args=(parent,), name="nabench-lifeline", daemon=True).start()


def start(parent: int, plugins: Mapping[str, Any], init: Callable[..., None], *initargs: Any) -> None:
    """Pool initializer: :func:`die_with_parent`; register the parent's plugins (:func:`parent_plugins`);
    then the real initializer ``init(*initargs)``."""
    die_with_parent(parent)
    register_plugins(plugins)
    init(*initargs)


#: Key prefix of benchmark plugins in :func:`parent_plugins` (searchers are keyed by their names).
BENCHMARK_KEY = "benchmark:"


def parent_plugins() -> dict[str, Any]:
    """What a worker must register to run as this process does: the plugin searcher classes by name
    (:func:`nabench.search.registry.plugins`) and the benchmark plugins under ``benchmark:<name>``
    (:func:`nabench.benchmarks.plugins`)."""
    from nabench import benchmarks
    from nabench.search import registry

    return {**registry.plugins(), **{BENCHMARK_KEY + n: p for n, p in benchmarks.plugins().items()}}


def register_plugins(plugins: Mapping[str, Any]) -> None:
    """Register :func:`parent_plugins` of the parent in this process (benchmarks first, then searchers)."""
    if plugins:
        from nabench import benchmarks
        from nabench.search import registry

        for key, plugin in plugins.items():
            if key.startswith(BENCHMARK_KEY):
                benchmarks.register(plugin, replace=True)
        for key, cls in plugins.items():
            if not key.startswith(BENCHMARK_KEY):
                registry.register(cls, replace=True)
