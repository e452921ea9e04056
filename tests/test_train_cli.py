"""``nabench train`` end to end on a tiny local CIFAR-10, and its one-line errors for user mistakes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from nabench.cli import main
from nabench.vision import synthetic

# One intra-op thread: with two test workers on two cores, more threads oversubscribe and spin.

TOP = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cifar")
    synthetic.write_cifar(path, "cifar10", 32, 16, np.random.default_rng(0))
    return path


def _tiny(root: Path, out: Path, *extra: str) -> list[str]:
    return ["train", "--dataset", "cifar10", "--data-root", str(root), "--out", str(out), "--epochs", "1",
            "--batch-size", "16", "--workers", "0", "--no-progress", "--channels", "4", "--cells", "1", *extra]


def test_train_arch_writes_the_run_folder(root: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(_tiny(root, tmp_path / "run", "--arch", TOP, "--preset", "nb201-200", "--json")) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["test_images"] == 16 and 0 <= summary["test_acc"] <= 100
    assert summary["run"]["network"]["arch"] == TOP and summary["recipe"]["nesterov"] is True
    assert {p.name for p in (tmp_path / "run").iterdir()} == {"checkpoint.pt", "metrics.csv", "final.json"}


def test_train_genotype(root: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    args = _tiny(root, tmp_path / "run", "--genotype", "darts-v2", "--preset", "darts-cifar")
    args[args.index("--cells") + 1] = "3"
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "test: top-1" in out and "params:" in out


def test_list_presets(capsys: pytest.CaptureFixture) -> None:
    assert main(["train", "--list-presets"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in ("nb201-200", "darts-cifar", "darts-imagenet"))


@pytest.mark.parametrize("args, message", [
    (["--arch", TOP, "--preset", "nb201-999"], "unknown preset 'nb201-999'"),
    (["--genotype", "darts-v7", "--preset", "darts-cifar"], "named genotype"),
    (["--genotype", "Genotype(normal=[('conv_9x9', 0)])", "--preset", "darts-cifar"], "cannot read genotype"),
    (["--arch", "|none~0|+|none~0|", "--preset", "nb201-200"], "node groups"),
    (["--arch", TOP, "--preset", "darts-cifar"], "auxiliary head"),
    (["--preset", "nb201-200"], "missing --arch or --genotype"),
])
def test_user_mistakes_give_one_line_errors(root: Path, tmp_path: Path, capsys: pytest.CaptureFixture,
                                            args: list[str], message: str) -> None:
    assert main(_tiny(root, tmp_path / "run", *args)) == 2
    err = capsys.readouterr().err
    assert err.startswith("nabench train: error:") and "Traceback" not in err
    assert re.search(message, err), err


def test_missing_data_folder(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(_tiny(tmp_path / "nothing", tmp_path / "run", "--arch", TOP, "--preset", "nb201-200")) == 2
    err = capsys.readouterr().err
    assert "CIFAR-10 not found" in err and "--download" in err
    assert not (tmp_path / "run").exists()
