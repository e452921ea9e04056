"""``nabench search`` end to end on a tiny CIFAR-10 folder in the real format, and its user errors."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
torch = pytest.importorskip("torch", reason='needs PyTorch: pip install "nabench[torch]"')

from nabench.cli import main
from nabench.spaces import darts, nb201
from nabench.vision.synthetic import write_cifar



@pytest.fixture(scope="module")
def cifar_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("images")
    write_cifar(root, "cifar10", n_train=128, n_test=16, rng=np.random.default_rng(0))
    return root


def _args(cifar_root: Path, data_dir: Path, out: Path, *extra: str) -> list[str]:
    return ["search", "--dataset", "cifar10", "--epochs", "2", "--data-root", str(cifar_root),
            "--data-dir", str(data_dir), "--out", str(out), "--channels", "4", "--cells", "1",
            "--batch-size", "16", "--workers", "0", "--steps-per-epoch", "2", "--device", "cpu", *extra]


def test_search_201_writes_rows_and_keeps_them_on_a_second_run(cifar_root, data_dir, tmp_path, capsys):
    out = tmp_path / "run"
    args = _args(cifar_root, data_dir, out, "--space", "201", "--algo", "na-darts", "--neighbors", "2",
                 "--radius", "2", "--aggregate", "max")
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "final architecture: |" in printed and "table (200 epochs)" in printed
    with open(out / "epochs.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2
    nb201.parse(rows[-1]["arch"])
    assert 0 < float(rows[-1]["test_200"]) < 100
    config = json.loads((out / "config.json").read_text())
    assert config["config"]["neighborhood"] == {"radius": 2, "include_self": True, "k": 2, "agg": "max",
                                                "exact": False, "fraction": 1.0}
    before = (out / "epochs.csv").read_text()
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "already holds a finished search" in err and "--overwrite" in err and "Traceback" not in err
    assert (out / "epochs.csv").read_text() == before


def test_search_darts_space_gives_a_trainable_genotype(cifar_root, data_dir, tmp_path):
    out = tmp_path / "darts"
    args = _args(cifar_root, data_dir, out, "--space", "darts", "--algo", "sdarts-rs", "--cells", "3",
                 "--steps-per-epoch", "1", "--epochs", "1")
    assert main(args) == 0
    result = json.loads((out / "result.json").read_text())
    genotype = darts.parse(result["arch"])
    assert darts.validate(genotype) == genotype
    assert "test_200" not in result and len(result["alpha"]) == 28
    # the trainer's evaluation network accepts it
    from nabench.models.darts_net import network_cifar

    net = network_cifar(genotype, layers=3, C=4, auxiliary=False).eval()
    assert net(torch.zeros(2, 3, 32, 32)).shape == (2, 10)


@pytest.mark.parametrize("extra, message", [
    (["--algo", "enas"], "unknown algorithm 'enas'"),
    (["--algo", "darts-1st", "--order", "2"], "darts-2nd"),
    (["--algo", "na-darts", "--radius", "9"], "--radius 9"),
    (["--dataset", "mnist"], "unknown --dataset"),
    (["--workers", "-1"], "--workers"),
    (["--mass-fraction", "0"], "--mass-fraction"),
    (["--algo", "na-darts", "--space", "darts", "--radius", "3"], "more than nabench enumerates"),
    (["--space", "sss"], "supernets for"),
    (["--space", "101"], "unknown space"),
    (["--device", "cuda"], "--device cpu"),
])
def test_user_mistakes_are_one_line_errors(cifar_root, data_dir, tmp_path, capsys, extra, message):
    if extra == ["--device", "cuda"] and torch.cuda.is_available():
        pytest.skip("this machine has a GPU, so --device cuda is not a mistake here")
    assert main(_args(cifar_root, data_dir, tmp_path / "x", *extra)) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "x" / "epochs.csv").exists()


def test_missing_data_is_reported_before_training(cifar_root, data_dir, tmp_path, capsys):
    assert main(_args(tmp_path / "nothing-here", data_dir, tmp_path / "a", "--space", "201")) == 2
    assert "cifar" in capsys.readouterr().err.lower()
    assert main(_args(cifar_root, tmp_path / "no-store", tmp_path / "b", "--space", "201")) == 2
    err = capsys.readouterr().err
    assert "store" in err.lower() or "nabench data" in err
    assert not (tmp_path / "b").exists()


def test_neighborhood_flags_are_nabench_runs_names_and_the_old_ones_still_work():
    """--radius/--exact/--k/--no-self/--agg as `nabench run` names them; --neighbors, --no-center and --aggregate
    are kept as aliases; --k 0 is the whole neighborhood."""
    from nabench import cli
    from nabench.commands.oneshot import _config

    parser = cli.build_parser("oneshot")
    new = _config(parser.parse_args(["oneshot", "--algo", "na-darts", "--radius", "2", "--exact", "--k", "0",
                                     "--no-self", "--agg", "median"]))
    old = _config(parser.parse_args(["oneshot", "--algo", "na-darts", "--radius", "2", "--exact", "--neighbors", "0",
                                     "--no-center", "--aggregate", "median"]))
    assert new == old
    assert (new.neighborhood.radius, new.neighborhood.exact, new.neighborhood.k, new.neighborhood.include_self,
            new.neighborhood.agg) == (2, True, None, False, "median")
    assert _config(parser.parse_args(["oneshot", "--space", "301"])).space == "darts"
