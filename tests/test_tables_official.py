"""Importing official files (through nats_bench / nas_201_api) keeps what their records hold."""

from __future__ import annotations

import gzip
import json
import shutil

import numpy as np
import pandas as pd
import pytest

import nabench
from nabench.errors import ConfigError, IntegrityError, NotAvailableError
from nabench.tables import official, store

SAMPLE = ("0", "11", "284")


@pytest.fixture(scope="module")
def raw(shared_data):
    return json.load(gzip.open(shared_data / "nats_raw_samples.json.gz", "rt"))["tss"]


@pytest.fixture(scope="module")
def tss_folder(mirror):
    return mirror / "nats_official_sample" / "NATS-tss-v1_0-3ffb9-simple"


@pytest.fixture(scope="module")
def imported(tmp_path_factory, tss_folder):
    root = tmp_path_factory.mktemp("imported")
    official.import_path(tss_folder, root)
    return nabench.load("nb201", data_dir=root)


def _runs(raw):
    for index in SAMPLE:
        for hp, rec in raw[index].items():
            for name, run in rec["runs"].items():
                ds, seed = name.split("@")
                yield int(index), int(hp), ds, int(seed), run


def test_final_values_per_seed_match_raw_records(imported, raw):
    n = 0
    for index, hp, ds, seed, run in _runs(raw):
        last = run["epochs"] - 1
        for split_epoch, acc in run["eval_acc1"].items():
            split, epoch = split_epoch.split("@")
            if int(epoch) != last:
                continue
            got = imported.accuracy(index, dataset=ds, split=split, fidelity=hp, seed=seed)
            assert float(got) == pytest.approx(acc, abs=1e-9)
            loss = imported.loss(index, dataset=ds, split=split, fidelity=hp, seed=seed)
            assert float(loss) == pytest.approx(run["eval_loss"][split_epoch], abs=1e-9)
            n += 1
        assert float(imported.accuracy(index, dataset=ds, split="train", fidelity=hp, seed=seed)) == pytest.approx(
            run["train_acc1"][-1], abs=1e-9)
    assert n > 100


def test_curves_costs_and_model_info_match_raw_records(imported, raw):
    for index, hp, ds, seed, run in _runs(raw):
        curve = imported.curve(index, dataset=ds, split="train", fidelity=hp, seed=seed, metric="loss")
        np.testing.assert_allclose(curve, run["train_loss"], rtol=1e-6)
        split = "ori-test"
        accs = [run["eval_acc1"].get(f"{split}@{e}", np.nan) for e in range(run["epochs"])]
        got = imported.curve(index, dataset=ds, split=split, fidelity=hp, seed=seed)
        np.testing.assert_allclose(got, accs, rtol=1e-6)  # epochs without an evaluation stay NaN
        assert float(imported.cost(index, dataset=ds, fidelity=hp)) == pytest.approx(sum(run["train_time_s"]))
        assert float(imported.params(index, dataset=ds)) == pytest.approx(run["params_mb"])
        assert float(imported.flops(index, dataset=ds)) == pytest.approx(run["flop_m"])
        assert float(imported.latency(index, dataset=ds)) == pytest.approx(np.mean(run["latency_s"]))


def test_seed_means_match_official_api(imported, tss_folder):
    import nats_bench

    api = nats_bench.create(str(tss_folder), "tss", fast_mode=True, verbose=False)
    names = {"cifar10-valid": [("valid", "x-valid"), ("test", "ori-test")], "cifar10": [("test", "ori-test")],
             "cifar100": [("valid", "x-valid"), ("test", "x-test"), ("valtest", "ori-test")],
             "ImageNet16-120": [("valid", "x-valid"), ("test", "x-test"), ("valtest", "ori-test")]}
    for index in map(int, SAMPLE):
        for hp in (12, 200):
            for ds, pairs in names.items():
                info = api.get_more_info(index, ds, hp=str(hp), is_random=False)
                for theirs, ours in pairs:
                    got = imported.accuracy(index, dataset=ds, split=ours, fidelity=hp)
                    assert float(got) == pytest.approx(info[f"{theirs}-accuracy"], abs=1e-9)


def test_imported_store_agrees_with_fetched_store(imported, bench):
    idx = [0, 11, 284]
    for ds, split in (("cifar10-valid", "x-valid"), ("cifar100", "x-test"), ("ImageNet16-120", "ori-test")):
        np.testing.assert_allclose(imported.accuracy(idx, dataset=ds, split=split, fidelity=200),
                                   bench.accuracy(idx, dataset=ds, split=split, fidelity=200), atol=1e-6)
        np.testing.assert_allclose(imported.cost(idx, dataset=ds, fidelity=12), bench.cost(idx, dataset=ds, fidelity=12))
    np.testing.assert_allclose(imported.accuracy(idx, dataset="cifar10-valid", split="x-valid", fidelity=12),
                               bench.accuracy(idx, dataset="cifar10-valid", split="x-valid", fidelity=12), atol=1e-6)


def test_absent_architectures_are_reported(imported):
    with pytest.raises(NotAvailableError, match="not in this store.*3 architectures"):
        imported.accuracy([0, 5], dataset="cifar10", split="ori-test", fidelity=200)
    with pytest.raises(NotAvailableError, match="not in this store"):
        imported.curve(5, dataset="cifar10", split="ori-test", fidelity=200)


def test_nb201_pth_import_matches_tss_import(tmp_path, tss_folder, imported):
    """A NAS-Bench-201 .pth built from the official sample records imports to the same values."""
    import torch
    import nats_bench

    api = nats_bench.create(str(tss_folder), "tss", fast_mode=True, verbose=False)
    infos = {}
    for index in map(int, SAMPLE):
        infos[index] = {"less": api.query_meta_info_by_index(index, "12").state_dict(),
                        "full": api.query_meta_info_by_index(index, "200").state_dict()}
    pth = tmp_path / "NAS-Bench-201-v1_1-fake.pth"
    torch.save({"meta_archs": list(api.meta_archs), "arch2infos": infos, "evaluated_indexes": set(infos)}, pth)
    official.import_path(pth, tmp_path / "data")
    b = nabench.load("nb201", data_dir=tmp_path / "data")
    for ds, split in (("cifar10-valid", "x-valid"), ("cifar100", "x-test"), ("cifar10", "ori-test")):
        for hp in (12, 200):
            np.testing.assert_allclose(b.accuracy([0, 11, 284], dataset=ds, split=split, fidelity=hp),
                                       imported.accuracy([0, 11, 284], dataset=ds, split=split, fidelity=hp))
    assert "NAS-Bench-201" in b.meta["made_by"]


def test_corrupt_official_files(tmp_path, tss_folder):
    broken = tmp_path / "NATS-tss-v1_0-3ffb9-simple"
    shutil.copytree(tss_folder, broken)
    f = broken / "000011.pickle.pbz2"
    f.chmod(0o644)
    f.write_bytes(f.read_bytes()[:5000])
    with pytest.raises(IntegrityError, match="corrupt or truncated"):
        official.import_path(broken, tmp_path / "data")
    assert not (tmp_path / "data" / "nb201").exists()
    bad_pth = tmp_path / "x.pth"
    bad_pth.write_bytes(b"not a torch file")
    with pytest.raises(IntegrityError, match="NAS-Bench-201"):
        official.import_path(bad_pth, tmp_path / "data")


def test_size_space_import_matches_raw_records(tmp_path, mirror, shared_data):
    official.import_path(mirror / "nats_official_sample" / "NATS-sss-v1_0-50262-simple", tmp_path)
    b = nabench.load("nats-sss", data_dir=tmp_path)
    raw = json.load(gzip.open(shared_data / "nats_raw_samples.json.gz", "rt"))["sss"]
    n = 0
    for index, by_hp in raw.items():
        for hp, rec in by_hp.items():
            assert b.arch_str(int(index)) == rec["arch_str"] and b.index(rec["arch_str"]) == int(index)
            for name, run in rec["runs"].items():
                ds, seed = name.split("@")
                last = f"ori-test@{run['epochs'] - 1}"
                got = b.accuracy(rec["arch_str"], dataset=ds, split="ori-test", fidelity=int(hp), seed=int(seed))
                assert float(got) == pytest.approx(run["eval_acc1"][last], abs=1e-9)
                assert float(b.cost(int(index), dataset=ds, fidelity=int(hp))) == pytest.approx(sum(run["train_time_s"]))
                n += 1
    assert n == 60
    with pytest.raises(ConfigError, match="valid fidelities.*1, 12, 90"):
        b.accuracy(0, dataset="cifar10", split="ori-test", fidelity=200)
    with pytest.raises(ConfigError, match="not one of"):
        b.accuracy("8:8:8:8:7", dataset="cifar10", split="ori-test", fidelity=90)


def test_unsupported_inputs(tmp_path, mirror):
    (tmp_path / "x.txt").write_text("hello")
    with pytest.raises(ConfigError, match="not an official file"):
        official.import_path(tmp_path / "x.txt", tmp_path)


def test_small_import_does_not_silently_replace_full_store(tmp_path, data_dir, tss_folder):
    shutil.copytree(data_dir / "nb201", tmp_path / "nb201")
    with pytest.raises(ConfigError, match="covers 15625 architectures.*--force"):
        official.import_path(tss_folder, tmp_path)
    assert nabench.load("nb201", data_dir=tmp_path).order is not None


def test_latency_table_from_csv_and_pt_folder(tmp_path, data_dir, shared_data):
    shutil.copytree(data_dir / "nb201", tmp_path / "nb201")
    official.import_path(shared_data / "nb201_latency_help.csv.gz", tmp_path)
    b = nabench.load("nb201", data_dir=tmp_path)
    help_table = pd.read_csv(shared_data / "nb201_latency_help.csv.gz")
    assert len(b.devices()) == 27
    np.testing.assert_array_equal(b.device_latency(np.arange(15625), device="pixel3"), help_table["pixel3_ms"])
    assert b.accuracy(6111, dataset="cifar10", split="ori-test", fidelity=200) > 94
    import torch
    folder = tmp_path / "help"
    folder.mkdir()
    torch.save([float(v) for v in help_table["fpga_ms"]], folder / "fpga.pt")
    torch.save([1.0, 2.0], folder / "broken_device.pt")
    with pytest.raises(IntegrityError, match="broken_device has 2 entries"):
        official.import_path(folder, tmp_path)
    (folder / "broken_device.pt").unlink()
    official.import_path(folder, tmp_path)
    np.testing.assert_array_equal(nabench.load(data_dir=tmp_path).device_latency([0, 1], device="fpga"),
                                  help_table["fpga_ms"][:2])
    assert store.verify(tmp_path / "nb201") == []
