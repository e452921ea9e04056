"""The training farm: a search-run folder's final cells trained (packed), resumed, tabulated and plotted, on CPU."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nabench.cli import main
from nabench.errors import ConfigError, NotAvailableError
from nabench.spaces import nb201
pytest.importorskip("torch", reason='needs PyTorch: pip install "nabench[torch]"')
from nabench.train import farm
from nabench.train.run import RunConfig
from nabench.vision import synthetic


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cifar")
    synthetic.write_cifar(path, "cifar10", 32, 16, np.random.default_rng(0))
    return path


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    out = tmp_path_factory.mktemp("grid") / "out"
    assert main(["run", "--space", "201", "--runs", "4", "--searcher", "rs,rea", "--out", str(out),
                 "--data-dir", str(data_dir), "--no-progress"]) == 0
    return out


def _config(images: Path) -> RunConfig:
    return RunConfig(dataset="cifar10", preset="nb201-200", data_root=images, epochs=1, batch_size=16, workers=0,
                     device="cpu", progress=False, channels=4, layers=1)


def test_cells_are_the_runs_final_cells_deduplicated(run_dir: Path, bench, data_dir: Path) -> None:
    runs = pd.read_csv(run_dir / "runs.csv").drop_duplicates(["searcher", "run"])
    cells = farm.cells_from_run(run_dir, data_dir)
    canon = {nb201.canonical(nb201.parse(bench.arch_str(int(a)))) for a in runs["final_arch"]}
    assert len(cells) == len(canon) and {c.canonical for c in cells} == canon
    assert sum(c.n_runs for c in cells) == len(runs)
    assert all(c.arch == bench.arch_str(c.code) for c in cells)
    top = farm.cells_from_run(run_dir, data_dir, top=2)
    best = sorted(cells, key=lambda c: -c.best_signal)[:2]
    assert {c.canonical for c in top} == {c.canonical for c in best}


def test_farm_trains_packed_resumes_and_tabulates(run_dir: Path, images: Path, data_dir: Path, bench,
                                                  tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    args = ["train", "--from-run", str(run_dir), "--top", "3", "--seeds", "0,1", "--pack", "4", "--dataset", "cifar10",
            "--preset", "nb201-200", "--epochs", "1", "--batch-size", "16", "--channels", "4", "--cells", "1",
            "--workers", "0", "--device", "cpu", "--image-root", str(images), "--data-dir", str(data_dir),
            "--out", str(tmp_path / "farm"), "--no-progress"]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "3 distinct cells x 2 seeds = 6 jobs" in err and "(0 already done)" in err
    table = pd.read_csv(tmp_path / "farm" / farm.TABLE)
    assert len(table) == 6 and sorted(table["seed"].tolist()) == [0, 0, 0, 1, 1, 1]
    assert table["test_acc"].between(0, 100).all() and (table["epochs"] == 1).all()
    expected = bench.accuracy([bench.index(a) for a in table["arch"]], dataset="cifar10", split="ori-test",
                              fidelity=200)
    assert np.allclose(table["benchmark_acc"], expected) and (table["benchmark"] == "nb201 cifar10/ori-test@200").all()
    finals = [json.loads((Path(o) / "final.json").read_text()) for o in table["out"]]
    assert sorted(f["packed_with"] for f in finals) == [2, 2, 4, 4, 4, 4]  # one pack of 4, one of 2
    # Rerun: every job is done, nothing is trained again, the table is the same.
    stamps = [(Path(o) / "final.json").stat().st_mtime_ns for o in table["out"]]
    assert main(args) == 0
    assert "(6 already done)" in capsys.readouterr().err
    assert [(Path(o) / "final.json").stat().st_mtime_ns for o in table["out"]] == stamps
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "farm" / farm.TABLE), table)
    # The figure.
    assert main(["plot", "trained-vs-benchmark", str(tmp_path / "farm"), "--formats", "png"]) == 0
    assert (tmp_path / "farm" / "trained_vs_benchmark.png").stat().st_size > 1000


def test_submitit_path_gives_the_local_results(run_dir: Path, images: Path, data_dir: Path, tmp_path: Path) -> None:
    """The submitit path (its debug executor, in this process) trains the same networks to the same numbers."""
    pytest.importorskip("submitit", reason='needs submitit: pip install "nabench[slurm]"')
    config = _config(images)
    kw = dict(seeds=[3], top=2, pack=2, data_dir=data_dir, log=lambda m: None)
    local = farm.run_farm(run_dir, config, farm_dir=tmp_path / "local", launcher="local", **kw)
    sub = farm.run_farm(run_dir, config, farm_dir=tmp_path / "sub", launcher="submitit-debug", **kw)
    cols = ["arch", "seed", "test_acc", "test_loss", "params", "benchmark_acc"]
    pd.testing.assert_frame_equal(local[cols], sub[cols])
    assert (tmp_path / "sub" / "submitit").is_dir()


def test_slurm_jobs_are_built_not_submitted(images: Path, tmp_path: Path) -> None:
    """The Slurm settings and the torchrun command a multi-GPU job runs (no cluster here: nothing is submitted)."""
    params = farm.SlurmSettings(partition="gpu", qos="high", time_min=90, gpus_per_job=4).executor_parameters()
    assert params["slurm_partition"] == "gpu" and params["gpus_per_node"] == 4 and params["timeout_min"] == 90
    assert params["slurm_qos"] == "high" and "slurm_account" not in params
    with pytest.raises(ConfigError, match="--mem-gb"):
        farm.SlurmSettings(mem_gb=0)
    # Every key is one submitit accepts for Slurm (a generic one, or slurm_<an sbatch option>).
    submitit = pytest.importorskip("submitit", reason='needs submitit: pip install "nabench[slurm]"')

    full = farm.SlurmSettings(partition="gpu", account="lab", qos="high").executor_parameters()
    slurm_keys = submitit.SlurmExecutor._valid_parameters()
    assert all(k in submitit.AutoExecutor._valid_parameters() or (k.startswith("slurm_") and k[6:] in slurm_keys)
               for k in full)
    cell = farm.Cell("darts", "darts-v2", 0, "darts:0", 1, "rs/default", 90.0)
    config = replace(_config(images), dataset="imagenet", preset="darts-imagenet", epochs=None, channels=None,
                     layers=None)
    cmd = farm.torchrun_command(farm.Job(cell, 7, tmp_path / "job"), config, 4)
    assert cmd[:3] == [sys.executable, "-m", "torch.distributed.run"] and "--nproc-per-node=4" in cmd
    i = cmd.index("train")
    assert cmd[i + 1:i + 3] == ["--genotype", "darts-v2"] and cmd[cmd.index("--seed") + 1] == "7"
    assert "--epochs" not in cmd and cmd[cmd.index("--image-root") + 1] == str(images)


def test_bad_run_folders_and_settings(tmp_path: Path, images: Path, run_dir: Path, data_dir: Path) -> None:
    with pytest.raises(ConfigError, match="not a finished search-run folder"):
        farm.cells_from_run(tmp_path)
    with pytest.raises(ConfigError, match="distinct"):
        farm.run_farm(run_dir, _config(images), seeds=[1, 1], data_dir=data_dir)
    with pytest.raises(ConfigError, match="choose one"):
        farm.run_farm(run_dir, _config(images), seeds=[1], pack=2, launcher="slurm",
                      slurm=farm.SlurmSettings(gpus_per_job=2), data_dir=data_dir)
    with pytest.raises(ConfigError, match="--launcher"):
        farm.run_farm(run_dir, _config(images), seeds=[1], launcher="cloud", data_dir=data_dir)
    cells = farm.cells_from_run(run_dir, data_dir)
    with pytest.raises(Exception, match="NAS-Bench-201 has no accuracy"):
        farm.benchmark_values(cells, replace(_config(images), train_split="search-train", eval_split="test"), data_dir)


def _darts_run_folder(path: Path) -> tuple[Path, list[int]]:
    """A run folder as a DARTS-space grid (protocol nb301) writes it: two runs returning DARTS-V2, one another cell."""
    from nabench.spaces.darts import DARTS_V2, DartsSpace

    space = DartsSpace()
    v2 = space.from_genotype(DARTS_V2)
    other = int(space.canonical(v2 + 1))
    path.mkdir()
    rows = [("nb301", "cifar10", "rs", "default", r, r, "cifar10/valid@98", code, 90.0 + r, 90.0, 10, 10, 1.0, "crossing", 0.1)
            for r, code in enumerate([v2, other, v2])]
    pd.DataFrame(rows, columns=["protocol", "dataset", "searcher", "setting", "run", "seed", "report", "final_arch",
                                "final_signal", "test_acc", "steps", "queries", "time", "stop", "wall_s"]
                 ).to_csv(path / "runs.csv", index=False)
    (path / "manifest.json").write_text("{}")
    return path, [v2, other]


def test_darts_space_runs_use_the_nb301_surrogate(tmp_path: Path, images: Path, data_dir: Path) -> None:
    from nabench.spaces.darts import DartsSpace, parse

    run, codes = _darts_run_folder(tmp_path / "darts-run")
    cells = farm.cells_from_run(run)
    assert [c.kind for c in cells] == ["darts", "darts"] and [c.code for c in cells] == codes
    # The genotype literal names the same cell (inputs in source order), which nabench train --genotype takes.
    assert [DartsSpace().from_genotype(parse(c.arch)) for c in cells] == codes
    assert cells[0].n_runs == 2 and cells[1].n_runs == 1
    config = replace(_config(images), preset="darts-cifar")
    with pytest.raises(NotAvailableError, match="NAS-Bench-301"):
        farm.benchmark_values(cells, config, tmp_path / "no-data")
    surrogate = Path(data_dir) / "downloads" / "yahpo_nb301"
    if surrogate.is_dir():  # installed by `nabench data fetch` with the tables (the CI store has it)
        import nabench

        values, label = farm.benchmark_values(cells, config, data_dir)
        expected = nabench.load("nb301", data_dir).accuracy(np.array(codes), dataset="cifar10", split="valid",
                                                            fidelity=98)
        assert np.allclose(values, expected) and label == "nb301 surrogate cifar10/valid@98"


def test_submitit_local_executor_trains_in_a_subprocess(run_dir: Path, images: Path, data_dir: Path,
                                                        tmp_path: Path) -> None:
    """submitit's local executor: the job is pickled, run by another process, and its final.json collected."""
    pytest.importorskip("submitit", reason='needs submitit: pip install "nabench[slurm]"')
    config = _config(images)
    table = farm.run_farm(run_dir, config, seeds=[4], top=1, farm_dir=tmp_path / "farm", launcher="submitit-local",
                          data_dir=data_dir, log=lambda m: None)
    assert len(table) == 1 and 0 <= table["test_acc"].iloc[0] <= 100
    logs = list((tmp_path / "farm" / "submitit").glob("*_log.out"))
    assert logs, "submitit wrote no job log: the job did not run through the executor"
