"""The notebooks in analysis/ execute headless (small parameters) without a cell error."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]

#: Parameter overrides that keep each notebook well under a minute in CI.
FAST = {
    "flatness_vs_test.ipynb": "N_BOOTSTRAP = 50\nDATASET = 'cifar100'\n",
    "search_curves.ipynb": "N_RUNS = 5\n",
}


def execute(name: str, overrides: str) -> nbformat.NotebookNode:
    """Run a notebook with ``overrides`` appended to its parameters cell; raises on the first cell error."""
    nb = nbformat.read(REPO / "analysis" / name, as_version=4)
    params = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(params) == 1, f"{name} needs exactly one cell tagged 'parameters'"
    params[0].source += "\n" + overrides
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(REPO)}}).execute()
    return nb


@pytest.mark.parametrize("name", sorted(FAST))
def test_notebook_is_committed_without_outputs(name):
    nb = nbformat.read(REPO / "analysis" / name, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{name}: clear the outputs before committing"


@pytest.mark.parametrize("name", sorted(FAST))
def test_notebook_executes(name, data_dir, monkeypatch):
    monkeypatch.setenv("NABENCH_DATA", str(data_dir))
    nb = execute(name, FAST[name])
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 3, f"{name} should show its figures"
    if name == "search_curves.ipynb":  # p-values in scientific notation, never rounded to 0.0
        paired = [c for c in nb.cells if c.cell_type == "code" and "wilcoxon_p" in c.source][-1]
        text = "".join(o.get("data", {}).get("text/plain", "") for o in paired.outputs)
        assert re.search(r"\d\.\d\de[-+]\d\d", text), text
