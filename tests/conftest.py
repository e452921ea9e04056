"""Shared fixtures: the real tables from ../shared/data, a store built from its upstream mirror, and a
tiny synthetic store committed under tests/fixtures.

Two kinds of store, two kinds of test:

* ``data_dir`` / ``bench``: the store built from the real upstream files in ``../shared/data``
  (``$NABENCH_SHARED_DATA``). Tests that check real numbers use these; without the folder they
  *skip* with the reason (an outside contributor's clone has no ``../shared/data``).
* ``tiny_data_dir`` / ``tiny_bench``: ``tests/fixtures/tiny-store``, random values written by the
  store writer (``tests/fixtures/make_tiny_store.py`` rebuilds it; CIFAR-10 only). Tests of
  plumbing (CLI, analyses, figures, the README's code) run on it everywhere.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TINY_STORE = REPO / "tests" / "fixtures" / "tiny-store"


def shared_data_status(env: dict[str, str] | None = None) -> tuple[Path, str | None]:
    """The shared data folder and, when it is unusable, the reason to skip the tests that need it."""
    env = os.environ if env is None else env
    path = Path(env.get("NABENCH_SHARED_DATA") or REPO.parent / "shared" / "data")
    if (path / "upstream" / "MANIFEST.json").is_file():
        return path, None
    return path, (f"needs the canonical tables: {path} has no upstream/MANIFEST.json (set NABENCH_SHARED_DATA to "
                  "the folder holding nb201_*.csv.gz and upstream/; see README 'Tests')")


def pytest_configure(config: pytest.Config) -> None:
    """One BLAS / torch thread per test worker: with `-n 2` on 2 cores, more threads oversubscribe the
    CPU and slow small torch steps by 10x or more."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def searcher_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Searchers a test registers (a plugin, the Optuna samplers loaded on first use of their names) are
    unregistered after it: tests that run every registered searcher must see the built-in ones only,
    whatever ran before them in the same worker (Optuna's GP sampler alone takes minutes per run)."""
    from nabench.search import registry

    monkeypatch.setattr(registry, "SEARCHERS", dict(registry.SEARCHERS))
    monkeypatch.setattr(registry, "NAMES", registry.NAMES)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of canonical tables (``../shared/data`` or ``$NABENCH_SHARED_DATA``); skips without it."""
    path, reason = shared_data_status()
    if reason:
        pytest.skip(reason)
    return path


@pytest.fixture(scope="session")
def mirror(shared_data: Path) -> Path:
    """The local mirror of the upstream files."""
    return shared_data / "upstream"


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory, mirror: Path) -> Path:
    """A data folder holding a store built from the mirror (once per test session and worker)."""
    from nabench.tables import build_from_upstream

    root = tmp_path_factory.mktemp("nabench-data")
    build_from_upstream(root, mirror, progress=False, log=lambda _: None)
    return root


@pytest.fixture(scope="session")
def bench(data_dir: Path):
    """The NAS-Bench-201 benchmark loaded from the session store."""
    import nabench

    return nabench.load("nb201", data_dir=data_dir)


@pytest.fixture(scope="session")
def tiny_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder holding a copy of the tiny synthetic store (random values, CIFAR-10 arrays only)."""
    root = tmp_path_factory.mktemp("nabench-tiny")
    shutil.copytree(TINY_STORE, root, dirs_exist_ok=True)
    return root


@pytest.fixture(scope="session")
def tiny_bench(tiny_data_dir: Path):
    """The tiny synthetic store loaded as an NB201 benchmark."""
    import nabench

    return nabench.load("nb201", data_dir=tiny_data_dir)
