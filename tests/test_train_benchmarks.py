"""The benchmark scripts run: the throughput benchmark on CPU (tiny) and the parity sweep on a sample."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType


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


def test_params_parity_script_on_a_sample(tmp_path: Path, shared_data: Path) -> None:
    parity = _load("params_parity")
    out = tmp_path / "p.json"
    code = parity.main(["--table", str(shared_data / "nb201_200epoch.csv.gz"), "--limit", "20", "--workers", "1",
                        "--json", str(out)])
    report = json.loads(out.read_text())
    assert code == 0 and report["networks"] == 60 and report["matches"] == 60 and not report["mismatches"]
