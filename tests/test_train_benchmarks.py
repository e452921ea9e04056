"""The benchmark scripts run: the throughput benchmark on CPU (tiny) and the parity sweep on a sample."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest


REPO = Path(__file__).resolve().parents[1]

# One intra-op thread: with two test workers on two cores, more threads oversubscribe and spin.


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def test_throughput_benchmark_cpu_smoke(tmp_path: Path, capsys) -> None:
    bench = _load("gpu_train_throughput")
    out = tmp_path / "t.json"
    # The GPU default is batch 256; a small batch keeps this CPU check within the test budget.
    assert bench.main(["--device", "cpu", "--steps", "2", "--batch-size", "8", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    modes = {r["mode"]: r for r in report["results"]}
    assert set(modes) == {"eager", "fast"} and report["arch"] == bench.ARCH_6111
    assert modes["eager"]["speedup_vs_eager"] == 1.0 and modes["fast"]["amp"] and modes["fast"]["channels_last"]
    assert all(r["images_per_s"] > 0 and r["final_loss"] == r["final_loss"] for r in modes.values())
    assert "speed-up" in capsys.readouterr().out
    assert bench.main(["--device", "cpu", "--modes", "fast"]) == 2


def test_packed_and_graphed_benchmarks_cpu_smoke(tmp_path: Path) -> None:
    """The issue-13 parts of the GPU check run on CPU in a tiny configuration and report their targets."""
    train = _load("gpu_train_throughput")
    out = tmp_path / "t.json"
    assert train.main(["--device", "cpu", "--steps", "1", "--batch-size", "4", "--channels", "4", "--cells", "1",
                       "--modes", "eager", "--pack-sizes", "1,3", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert [r["pack"] for r in report["packed"]] == [1, 3] and all(r["images_per_s"] > 0 for r in report["packed"])
    target = report["targets"]["packed_vs_one_network_eager"]
    assert target["target"] == 8.0 and target["best"] == max(r["vs_one_network_eager"] for r in report["packed"])
    assert len(set(train.pack_cells(5, 0))) == 5 and train.pack_cells(5, 0)[0] == train.ARCH_6111
    search = _load("gpu_search_throughput")
    out = tmp_path / "s.json"
    assert search.main(["--device", "cpu", "--steps", "1", "--warmup", "0", "--batch-size", "4", "--channels", "4",
                        "--cells", "1", "--space", "201", "--graphs", "--only", "201/na-darts",
                        "201/darts-1st+graphs", "201/na-darts+graphs", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    rows = {r["variant"]: r for r in report["results"]}
    assert set(rows) == {"201/darts-1st", "201/na-darts", "201/darts-1st+graphs", "201/na-darts+graphs"}
    assert not rows["201/darts-1st+graphs"]["graphs"]  # CPU: the eager fallback
    t = report["targets"]
    assert t["darts_1st_iteration_ms"]["variant"] == "201/darts-1st+graphs" and t["darts_1st_iteration_ms"]["target"] == 68.0
    assert t["na_darts_vs_darts_1st"]["value"] == pytest.approx(
        rows["201/na-darts+graphs"]["step_ms"] / rows["201/darts-1st+graphs"]["step_ms"], rel=1e-2)


def test_params_parity_script_on_a_sample(tmp_path: Path, shared_data: Path) -> None:
    parity = _load("params_parity")
    out = tmp_path / "p.json"
    code = parity.main(["--table", str(shared_data / "nb201_200epoch.csv.gz"), "--limit", "20", "--workers", "1",
                        "--json", str(out)])
    report = json.loads(out.read_text())
    assert code == 0 and report["networks"] == 60 and report["matches"] == 60 and not report["mismatches"]
