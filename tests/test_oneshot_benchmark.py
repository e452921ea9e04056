"""benchmarks/gpu_search_throughput.py runs on CPU (``--device cpu --steps 1``) and writes its JSON."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch", reason='needs PyTorch: pip install "nabench[torch]"')

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_search_throughput.py"


def _load():
    spec = importlib.util.spec_from_file_location("gpu_search_throughput", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_throughput_benchmark_runs_on_cpu_and_writes_json(tmp_path, capsys):
    bench = _load()
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        rc = bench.main(["--device", "cpu", "--steps", "1", "--warmup", "0", "--batch-size", "2", "--space", "201",
                         "--only", "201/na-darts", "201/sdarts-rs", "--json", str(tmp_path / "t.json")])
    finally:
        torch.set_num_threads(n)
    assert rc == 0
    out = json.loads((tmp_path / "t.json").read_text())
    names = [r["variant"] for r in out["results"]]
    assert names == ["201/darts-1st", "201/sdarts-rs", "201/na-darts"]
    assert out["results"][0]["speed_vs_baseline"] == 1.0
    for r in out["results"]:
        assert r["images_per_s"] > 0 and r["step_ms"] > 0
        assert r["peak_mem_mib"] is None          # CPU: no allocator statistics
    assert "201/na-darts" in capsys.readouterr().out


def test_throughput_benchmark_rejects_unknown_variants(capsys):
    assert _load().main(["--device", "cpu", "--only", "201/enas"]) == 2
    assert "unknown variants" in capsys.readouterr().err
