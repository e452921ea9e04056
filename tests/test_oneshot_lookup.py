"""Table lookup of derived NAS-Bench-201 cells and the per-epoch rows a search writes."""

from __future__ import annotations

import csv
import json

import pytest
torch = pytest.importorskip("torch", reason='needs PyTorch: pip install "nabench[torch]"')

from nabench.oneshot import lookup
from nabench.oneshot.config import Neighborhood, SearchConfig
from nabench.oneshot.runner import run_oneshot

BEST_C10 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"



def test_lookup_maps_each_search_dataset_to_its_valid_and_test_splits(bench):
    row = lookup.lookup(bench, BEST_C10, "cifar10")
    assert row["arch_index"] == bench.index(BEST_C10) == 6111
    assert row["test_200"] == pytest.approx(94.3733, abs=1e-3)     # the NAS-Bench-201 CIFAR-10 optimum
    assert row["valid_200"] == pytest.approx(91.6067, abs=1e-3)
    expect = {
        "valid_12": ("cifar10-valid", "x-valid", 12), "test_12": ("cifar10", "ori-test", 12),
        "cifar100_valid_200": ("cifar100", "x-valid", 200), "cifar100_test_200": ("cifar100", "x-test", 200),
        "ImageNet16-120_valid_12": ("ImageNet16-120", "x-valid", 12),
        "ImageNet16-120_test_200": ("ImageNet16-120", "x-test", 200),
    }
    for col, (ds, split, fid) in expect.items():
        assert row[col] == float(bench.accuracy(BEST_C10, dataset=ds, split=split, fidelity=fid))
    c100 = lookup.lookup(bench, BEST_C10, "cifar100")
    assert c100["valid_200"] == row["cifar100_valid_200"] and c100["test_12"] == row["cifar100_test_12"]
    assert set(lookup.columns("cifar10")) <= set(row)


def test_search_writes_one_looked_up_row_per_epoch(bench, tmp_path):
    g = torch.Generator().manual_seed(0)
    batches = [(torch.randn(8, 3, 8, 8, generator=g), torch.randint(0, 10, (8,), generator=g)) for _ in range(4)]
    cfg = SearchConfig(space="201", algo="na-darts", dataset="ImageNet16-120", epochs=2, channels=4, cells=1,
                       batch_size=8, arch_lr=0.05, neighborhood=Neighborhood(k=2))
    result = run_oneshot(cfg, batches[:2], batches[2:], num_classes=10, bench=bench, out=tmp_path / "run",
                         log=lambda _: None)
    with open(tmp_path / "run" / "epochs.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [0, 1]
    for r in rows:
        assert int(r["arch_index"]) == bench.index(r["arch"])
        assert float(r["test_200"]) == pytest.approx(
            float(bench.accuracy(r["arch"], dataset="ImageNet16-120", split="x-test", fidelity=200)))
        assert float(r["valid_12"]) == pytest.approx(
            float(bench.accuracy(r["arch"], dataset="ImageNet16-120", split="x-valid", fidelity=12)))
    final = json.loads((tmp_path / "run" / "result.json").read_text())
    assert final["arch"] == result.arch == rows[-1]["arch"]
    assert final["test_200"] == pytest.approx(float(rows[-1]["test_200"]))
    assert len(final["alpha"]) == 6 and len(final["op_weights"][0]) == 5
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["store_checksum"] == bench.checksum
    assert config["config"]["neighborhood"]["k"] == 2
