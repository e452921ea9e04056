"""The test suite's own plumbing: it runs without torch and without ../shared/data, on a committed synthetic store."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, TINY_STORE, shared_data_status

TORCH_PACKAGES = ("torch", "nabench.models", "nabench.oneshot", "nabench.train", "nabench.vision")
TORCH_FREE = ("nabench.train.farm", "nabench.train.recipes", "nabench.oneshot.config", "nabench.vision",
              "nabench.train", "nabench.oneshot", "nabench.models")


def _top_imports(path: Path) -> list[tuple[int, str]]:
    out = []
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            out += [(node.lineno, f"{node.module}.{a.name}" if node.module == "nabench" else node.module)
                    for a in node.names]
    return out


def _guard_line(path: Path) -> int | None:
    for node in ast.parse(path.read_text()).body:
        value = node.value if isinstance(node, (ast.Expr, ast.Assign)) else None
        if isinstance(value, ast.Call) and getattr(value.func, "attr", "") == "importorskip" and value.args \
                and getattr(value.args[0], "value", None) == "torch":
            return node.lineno
    return None


@pytest.mark.parametrize("path", sorted((REPO / "tests").glob("test_*.py")), ids=lambda p: p.name)
def test_torch_test_modules_skip_without_torch(path):
    """A module importing torch code at its top calls pytest.importorskip('torch') before it."""
    heavy = [(ln, m) for ln, m in _top_imports(path)
             if m.startswith(TORCH_PACKAGES) and m not in TORCH_FREE and m.split(".")[0] in ("torch", "nabench")]
    if not heavy:
        return
    guard = _guard_line(path)
    assert guard is not None and guard < heavy[0][0], (
        f"{path.name} imports {heavy[0][1]} at line {heavy[0][0]} without pytest.importorskip('torch', reason=...) "
        "before it; the suite must collect without torch")


def test_shared_data_status_names_the_missing_folder(tmp_path):
    path, reason = shared_data_status({"NABENCH_SHARED_DATA": str(tmp_path)})
    assert path == tmp_path and reason is not None and str(tmp_path) in reason and "NABENCH_SHARED_DATA" in reason
    (tmp_path / "upstream").mkdir()
    (tmp_path / "upstream" / "MANIFEST.json").write_text("{}")
    assert shared_data_status({"NABENCH_SHARED_DATA": str(tmp_path)}) == (tmp_path, None)


def test_tests_needing_the_real_tables_skip_without_them(tmp_path):
    """With NABENCH_SHARED_DATA pointing at an empty folder, a real-data test skips and a tiny-store test passes."""
    env = dict(os.environ, NABENCH_SHARED_DATA=str(tmp_path))
    res = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", "-p", "no:cacheprovider", "-rs",
         "tests/test_fixtures.py::test_the_real_store_fixture_is_the_fetched_store",
         "tests/test_cli.py::test_user_errors_print_one_line"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out
    assert "1 passed" in out and "skipped" in out, out
    assert "needs the canonical tables" in out and str(tmp_path) in out


def test_tiny_store_is_small_synthetic_and_rebuilt_by_its_script(tiny_bench):
    sys.path.insert(0, str(REPO / "tests" / "fixtures"))
    try:
        import make_tiny_store
    finally:
        sys.path.pop(0)
    size = sum(f.stat().st_size for f in (TINY_STORE / "nb201").iterdir())
    assert size < 1_000_000
    assert tiny_bench.meta["made_by"] == "synthetic test fixture" and tiny_bench.n_present == 15625
    arrays, _ = make_tiny_store.arrays()
    for name, value in arrays.items():
        np.testing.assert_array_equal(tiny_bench._a[name], value, err_msg=name)
    acc = tiny_bench.accuracy(np.arange(15625), dataset="cifar10-valid", split="x-valid", fidelity=200)
    assert 10 < acc.min() and acc.max() < 95 and np.unique(np.round(acc, 6)).size < acc.size  # has ties


def test_the_real_store_fixture_is_the_fetched_store(bench):
    """``bench`` is the store built from ../shared/data's upstream mirror (skips without the folder)."""
    assert bench.meta["made_by"] == "fetch" and bench.n_present == 15625
