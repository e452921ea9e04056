"""``nabench train`` end to end on a tiny local CIFAR-10, and its one-line errors for user mistakes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from nabench.cli import main
pytest.importorskip("torch", reason='needs PyTorch: pip install "nabench[torch]"')
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
    (["--preset", "nb201-200"], "missing --arch, --genotype or --from-run"),
    (["--arch", "six", "--preset", "nb201-200"], "neither an index"),
    (["--arch", TOP, "--seeds", "1,x", "--preset", "nb201-200"], "comma-separated integers"),
    (["--arch", TOP, "--arch", TOP, "--preset", "nb201-200"], "given twice"),
    (["--arch", TOP, "--pack", "0", "--preset", "nb201-200"], "--pack"),
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


def test_train_accepts_the_index_that_query_accepts(root: Path, tmp_path: Path, data_dir: Path,
                                                    capsys: pytest.CaptureFixture) -> None:
    """``--arch 6111`` names the same cell as ``nabench query 6111`` (the benchmark's own order)."""
    assert main(_tiny(root, tmp_path / "run", "--arch", "6111", "--data-dir", str(data_dir), "--preset", "nb201-200",
                      "--json")) == 0
    assert json.loads(capsys.readouterr().out)["run"]["network"]["arch"] == TOP


def test_train_pack_end_to_end(root: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Two cells x two seeds with --pack 3: one pack of 3 and one network alone, then a rerun trains nothing."""
    other = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_3x3~0|avg_pool_3x3~1|nor_conv_3x3~2|"
    args = _tiny(root, tmp_path / "farm", "--arch", TOP, "--arch", other, "--seeds", "0,1", "--pack", "3",
                 "--preset", "nb201-200", "--json")
    assert main(args) == 0
    summaries = json.loads(capsys.readouterr().out)  # progress lines go to stderr: stdout is the JSON alone
    assert len(summaries) == 4 and [s["seed"] for s in summaries] == [0, 1, 0, 1]
    assert [s.get("packed_with", 1) for s in summaries] == [3, 3, 3, 1]
    folders = sorted(p.name for p in (tmp_path / "farm").iterdir())
    assert len(folders) == 4 and all((tmp_path / "farm" / f / "final.json").is_file() for f in folders)
    stamp = (tmp_path / "farm" / folders[0] / "final.json").stat().st_mtime_ns
    assert main(args) == 0
    assert "4 of 4 networks already trained" in capsys.readouterr().err
    assert (tmp_path / "farm" / folders[0] / "final.json").stat().st_mtime_ns == stamp
