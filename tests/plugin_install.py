"""Test helpers for the plugin examples: install one into a folder of its own, run a grid in fresh processes.

``pip install --target`` keeps the shared virtualenv unchanged (other tests iterate over every installed
searcher and benchmark); the returned environment puts that folder and the checkout on ``PYTHONPATH``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def install_example(name: str, dist: str, tmp_path: Path) -> dict[str, str]:
    """pip-install ``examples/<name>`` (distribution ``dist``) into ``tmp_path/site``; the environment to use it."""
    src = tmp_path / "src"
    shutil.copytree(REPO / "examples" / name, src)  # the build writes into its source folder
    site = tmp_path / "site"
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index",
                          "--quiet", "--target", str(site), str(src)], capture_output=True, text=True, timeout=300)
    assert pip.returncode == 0, pip.stderr
    assert list(site.glob(f"{dist}-*.dist-info"))
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), str(REPO)]))


def run_grid_with_1_and_2_workers(cfg: Path, tmp_path: Path, env: dict[str, str],
                                  extra: tuple[str, ...] = ()) -> list[subprocess.CompletedProcess]:
    """``nabench run --config cfg`` into ``tmp_path/out2`` (2 workers) and ``tmp_path/out1`` (1 worker)."""
    done = []
    for workers in ("2", "1"):
        res = subprocess.run([sys.executable, "-m", "nabench.cli", "run", "--config", str(cfg), "--out",
                              str(tmp_path / f"out{workers}"), *extra, "--workers", workers, "--no-progress"],
                             env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
        assert res.returncode == 0, res.stderr
        done.append(res)
    return done
