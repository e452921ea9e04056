"""Shared fixtures: the real tables from ../shared/data and a store built from its upstream mirror."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def pytest_configure(config: pytest.Config) -> None:
    """One BLAS / torch thread per test worker: with `-n 2` on 2 cores, more threads oversubscribe the
    CPU and slow small torch steps by 10x or more."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of canonical tables (``../shared/data`` or ``$NABENCH_SHARED_DATA``)."""
    path = Path(os.environ.get("NABENCH_SHARED_DATA", REPO.parent / "shared" / "data"))
    if not (path / "upstream" / "MANIFEST.json").is_file():
        pytest.fail(f"the shared data folder {path} is missing: set NABENCH_SHARED_DATA to the folder "
                    "holding nb201_*.csv.gz and upstream/")
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
