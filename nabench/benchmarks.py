"""Benchmark plugins: a user's :class:`~nabench.spaces.base.Benchmark` under a name, everywhere a built-in is.

:func:`register_benchmark` (also ``nabench.register_benchmark``) records a plugin and installs it in the
one table of each concept, so no code path needs to know plugins exist:

* its tasks (:class:`nabench.spaces.base.Task`, ``benchmark`` = the plugin's name) go into
  :data:`nabench.spaces.base.TASKS`;
* its name and ``space_aliases`` become ``--space`` values (:data:`nabench.spaces.SPACE_BENCHMARK`);
* its search presets (:class:`nabench.search.protocols.Preset`, by protocol name) become protocols of
  the benchmark (:func:`nabench.search.protocols.register_protocols`; the first is its default). A plugin
  that declares none gets one preset named after the benchmark: 100 distinct queries at the task's
  search fidelity, crossing rule ``drop`` (as the DARTS-space presets);
* ``nabench.load(name, data_dir)`` calls its ``factory(data_dir)`` and checks that the result is a
  Benchmark of that name.

So a plugin works with ``nabench.load``, ``nabench run --space NAME [--protocol P]``, TOML grids and
every searcher and NA variant. Installed packages register through the entry-point group
:data:`ENTRY_POINT_GROUP` (``nabench.benchmarks``): each entry point names a :class:`BenchmarkPlugin`
(or a callable returning one); they are loaded the first time a benchmark, space or protocol name is
looked up (:func:`ensure_loaded`), not at import, so a plugin may import any part of nabench. Plugins
registered at run time reach spawned workers through :func:`plugins`, which the runner hands to each
worker with the searcher plugins (:func:`nabench.experiments.lifeline.parent_plugins`); the plugin's
factory, space and benchmark must therefore be importable, module-level objects (as a searcher class is).
A worker holds only the space and the search signal, never the benchmark: an enumerable space's signal
is read once into arrays (``n_archs``, ``check_query`` as the tabular stores; see
``examples/plugin_benchmark``), a non-enumerable one is asked through the benchmark, which is then
pickled to the workers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from nabench.errors import ConfigError

#: Entry-point group through which an installed package adds benchmarks (each: a BenchmarkPlugin).
ENTRY_POINT_GROUP = "nabench.benchmarks"
#: Benchmarks nabench ships (a plugin may not take their names).
BUILTIN: frozenset[str] = frozenset({"nb201", "nats-sss", "nb301"})
_NAME = re.compile(r"[a-z][a-z0-9.-]{0,49}")
_PLUGINS: dict[str, "BenchmarkPlugin"] = {}
_loaded = False


@dataclass(frozen=True)
class BenchmarkPlugin:
    """What a plugin declares: its name, how to open it, its tasks, search presets and ``--space`` aliases."""

    name: str
    factory: Callable[[Any], Any]
    tasks: Mapping[str, Any]
    protocols: Mapping[str, Any] = field(default_factory=dict)
    space_aliases: tuple[str, ...] = ()


def register_benchmark(name: str, factory: Callable[[Any], Any], *, tasks: Mapping[str, Any],
                       protocols: Mapping[str, Any] | None = None, space_aliases: tuple[str, ...] = (),
                       replace: bool = False) -> BenchmarkPlugin:
    """Register a benchmark plugin (see the module docstring) and return its :class:`BenchmarkPlugin`.

    ``factory(data_dir)`` opens the benchmark (``data_dir``: what ``nabench.load`` was given, may be None);
    ``tasks``: task name -> :class:`nabench.spaces.base.Task` with ``benchmark == name``; ``protocols``:
    protocol name -> :class:`nabench.search.protocols.Preset`; ``space_aliases``: more ``--space`` values.
    ``replace=True`` lets a plugin name be registered again (a reloaded module, a worker).
    """
    return register(BenchmarkPlugin(name, factory, tasks, dict(protocols) if protocols is not None else {},
                                    tuple(space_aliases)), replace=replace)


def register(plugin: BenchmarkPlugin, *, replace: bool = False) -> BenchmarkPlugin:
    """Install a :class:`BenchmarkPlugin` (what :func:`register_benchmark` builds) in this process."""
    from nabench import spaces
    from nabench.search import protocols as proto
    from nabench.spaces.base import TASKS, Task

    if not isinstance(plugin, BenchmarkPlugin):
        raise ConfigError(f"register() takes a nabench.benchmarks.BenchmarkPlugin, got {plugin!r}")
    name = plugin.name
    if not isinstance(name, str) or not _NAME.fullmatch(name) or name in BUILTIN:
        raise ConfigError(f"a benchmark plugin needs a name of lowercase letters, digits, '.' and '-' that is not "
                          f"one of the built-in benchmarks ({', '.join(sorted(BUILTIN))}), got {name!r}")
    if name in _PLUGINS and _PLUGINS[name] != plugin and not replace:
        raise ConfigError(f"a benchmark named {name!r} is already registered; give this one another name "
                          "(or pass replace=True)")
    if not callable(plugin.factory):
        raise ConfigError(f"the factory of benchmark plugin {name!r} must be callable as factory(data_dir), "
                          f"got {plugin.factory!r}")
    if not plugin.tasks or not all(isinstance(t, Task) and t.benchmark == name and t.name == k
                                   for k, t in plugin.tasks.items()):
        raise ConfigError(f"benchmark plugin {name!r} needs tasks: a mapping of task name -> "
                          f"nabench.spaces.base.Task(benchmark={name!r}, name=<that task name>, ...)")
    aliases = (name,) + tuple(a.strip().lower() for a in plugin.space_aliases)
    for a in aliases:
        if not isinstance(a, str) or not _NAME.fullmatch(a) and not a.isdigit():
            raise ConfigError(f"space alias {a!r} of benchmark plugin {name!r} must be a plain lowercase name")
        if spaces.SPACE_BENCHMARK.get(a, name) != name:
            raise ConfigError(f"space alias {a!r} of benchmark plugin {name!r} already names benchmark "
                              f"{spaces.SPACE_BENCHMARK[a]}")
    presets = dict(plugin.protocols) or {name: proto.Preset(proto.Budget("queries", 100.0, "drop"))}
    proto.register_protocols(name, presets)  # checks the presets, before anything is installed
    if name in _PLUGINS:
        unregister(name)
        proto.register_protocols(name, presets)
    TASKS[name] = plugin.tasks  # the plugin's own mapping: bench.tasks is TASKS[bench.name]
    for a in aliases:
        spaces.SPACE_BENCHMARK[a] = name
    _PLUGINS[name] = plugin
    return plugin


def unregister(name: str) -> None:
    """Remove a registered plugin (its tasks, ``--space`` names and protocols) from this process."""
    from nabench import spaces
    from nabench.search import protocols as proto
    from nabench.spaces.base import TASKS

    if name not in _PLUGINS:
        raise ConfigError(f"no benchmark plugin named {name!r} is registered")
    del _PLUGINS[name]
    TASKS.pop(name, None)
    for alias in [a for a, b in spaces.SPACE_BENCHMARK.items() if b == name]:
        del spaces.SPACE_BENCHMARK[alias]
    proto.unregister_protocols(name)


def plugins() -> dict[str, BenchmarkPlugin]:
    """The registered benchmark plugins, by name (what a spawned worker must register too)."""
    return dict(_PLUGINS)


def get(name: str) -> BenchmarkPlugin | None:
    """The plugin registered as ``name`` (installed entry points loaded first), or None."""
    ensure_loaded()
    return _PLUGINS.get(name)


def ensure_loaded() -> None:
    """Load the installed entry points once per process (see :func:`load_entry_points`)."""
    global _loaded
    if not _loaded:
        _loaded = True
        load_entry_points()


def load_entry_points() -> list[str]:
    """Register every benchmark installed under :data:`ENTRY_POINT_GROUP` (each a :class:`BenchmarkPlugin` or
    a callable returning one); returns their names (a plugin that fails to load is skipped with a
    warning: :func:`nabench.entrypoints.load_group`)."""
    from nabench.entrypoints import load_group

    return load_group(ENTRY_POINT_GROUP, "benchmark", lambda obj: register(
        obj if isinstance(obj, BenchmarkPlugin) else obj(), replace=True).name)


def open_plugin(name: str, data_dir: Any) -> Any:
    """``nabench.load`` of a plugin benchmark: its factory's benchmark, checked against the protocol."""
    from nabench.spaces.base import Benchmark, SearchSpace

    plugin = get(name)
    if plugin is None:
        raise ConfigError(f"unknown benchmark {name!r}")
    bench = plugin.factory(data_dir)
    if not isinstance(bench, Benchmark) or getattr(bench, "name", None) != name \
            or not isinstance(bench.space, SearchSpace):
        raise ConfigError(f"the factory of benchmark plugin {name!r} returned {type(bench).__name__}, not a "
                          f"nabench.spaces.base.Benchmark named {name!r} with a SearchSpace")
    return bench
