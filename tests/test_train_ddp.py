"""DDP through torchrun (gloo, 2 CPU processes) matches one plain process on the same global batches."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
torch = pytest.importorskip("torch", reason='needs PyTorch: pip install "nabench[torch]"')

from nabench.train import checkpoint as ckpt
from nabench.train.trainer import CHECKPOINT
from nabench.vision import synthetic

REPO = Path(__file__).resolve().parents[1]

# A network without BatchNorm: under DDP, BatchNorm normalizes each rank's half batch separately (standard
# DDP semantics), so only a BN-free network can match one process exactly. Augmentation stays on.
SCRIPT = '''
import sys
from pathlib import Path

import torch
from torch import nn

from nabench.train.distributed import setup, teardown
from nabench.train.recipes import get_recipe
from nabench.train.trainer import TrainOptions, Trainer
from nabench.vision.datasets import build_dataset

torch.set_num_threads(1)


def build():
    return nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(8, 10))


root, out = Path(sys.argv[1]), Path(sys.argv[2])
env = setup("cpu")
recipe = get_recipe("nb201-12").override(epochs=2, batch_size=16)
train = build_dataset("cifar10", root, "train", augment=True)
test = build_dataset("cifar10", root, "test")
try:
    Trainer(build, train, test, recipe, out, env, TrainOptions(seed=5, workers=0, progress=False), {"net": "tiny"}).fit()
finally:
    teardown(env)  # as nabench.train.run does: exiting with a live gloo group can abort the process
'''


def _run(cmd: list[str], tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]


@pytest.mark.slow
def test_two_gloo_processes_match_one_process(tmp_path: Path) -> None:
    root = tmp_path / "data"
    synthetic.write_cifar(root, "cifar10", 96, 30, np.random.default_rng(1))
    script = tmp_path / "train_tiny.py"
    script.write_text(SCRIPT)
    _run([sys.executable, str(script), str(root), str(tmp_path / "single")], tmp_path)
    _run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", str(script),
          str(root), str(tmp_path / "ddp")], tmp_path)
    one = ckpt.load(tmp_path / "single" / CHECKPOINT)
    two = ckpt.load(tmp_path / "ddp" / CHECKPOINT)
    assert one["identity"]["world_size"] == 1 and two["identity"]["world_size"] == 2
    assert len(two["rng"]) == 2  # each rank's random state is kept
    for name, w in one["model"].items():
        assert torch.allclose(w, two["model"][name], rtol=1e-5, atol=1e-6), name
    momentum = [st["momentum_buffer"] for st in one["optimizer"]["state"].values()]
    assert momentum and all(float(m.abs().sum()) > 0 for m in momentum)  # it did train
    for a, b in zip(one["history"], two["history"]):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-5)
        assert a["train_acc"] == pytest.approx(b["train_acc"])
    # Evaluation shards are disjoint and unpadded: both count all 30 test images once.
    assert one["history"][-1]["test_images"] == two["history"][-1]["test_images"] == 30
    assert one["history"][-1]["test_acc"] == pytest.approx(two["history"][-1]["test_acc"])
