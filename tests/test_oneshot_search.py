"""Smoke runs of every algorithm in both spaces on tiny real images, determinism, and the second-order step."""

from __future__ import annotations

from dataclasses import replace

import pytest
torch = pytest.importorskip("torch", reason='needs PyTorch: pip install "nabench[torch]"')
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch.func import functional_call

from nabench.errors import ConfigError
from nabench.oneshot import steps
from nabench.oneshot.config import Neighborhood, SearchConfig
from nabench.oneshot.loop import build_network, build_step, seed_streams
from nabench.oneshot.runner import run_oneshot
from nabench.spaces import darts, nb201



@pytest.fixture(scope="module")
def digits() -> tuple[list, list]:
    """scikit-learn's 8x8 digits as 3-channel images, standardized: 32 train and 32 valid batches of 16."""
    d = load_digits()
    x = torch.tensor(d.images, dtype=torch.float32).unsqueeze(1).repeat(1, 3, 1, 1)
    x = (x - x.mean()) / x.std()
    y = torch.tensor(d.target)
    batches = [(x[i:i + 16], y[i:i + 16]) for i in range(0, 1024, 16)]
    return batches[:32], batches[32:]


def _cfg(space: str, algo: str, **kw) -> SearchConfig:
    """A tiny search: the DARTS network is far slower per step on CPU, so it gets fewer steps."""
    small = space == "201"
    base = dict(space=space, algo=algo, epochs=3 if small else 2, channels=4, cells=1 if small else 3, lr=0.05,
                arch_lr=3e-3, steps_per_epoch=6 if small else 3, batch_size=16,
                neighborhood=Neighborhood(k=3 if small else 2))
    base.update(kw)
    return SearchConfig(**base)


@pytest.mark.parametrize("space", ["201", "darts"])
@pytest.mark.parametrize("algo", ["darts-1st", "darts-2nd", "sdarts-rs", "na-darts"])
def test_smoke_search_learns_and_derives_a_valid_architecture(digits, space, algo):
    cfg = _cfg(space, algo)
    train, valid = digits
    alpha0 = build_network(cfg, 10).alpha.detach().clone()
    result = run_oneshot(cfg, train, valid, num_classes=10, log=lambda _: None)
    rows = result.rows
    assert [r["epoch"] for r in rows] == list(range(cfg.epochs))
    assert rows[-1]["train_loss"] < rows[0]["train_loss"] - 0.1
    assert rows[-1]["arch_loss"] < rows[0]["arch_loss"] - 0.05
    moved = (torch.as_tensor(result.alpha) - alpha0).abs().max()
    assert moved > 5e-3
    if space == "201":
        ops = nb201.parse(result.arch)
        assert ops == result.net.derive() and len(ops) == 6
    else:
        g = darts.parse(result.arch)
        assert darts.validate(g) == g and g == result.net.derive()
    assert rows[-1]["lr"] < rows[0]["lr"] == cfg.lr


def test_same_seed_same_search_and_other_seed_differs(digits):
    train, valid = digits
    cfg = _cfg("201", "na-darts", epochs=1, steps_per_epoch=3)
    a = run_oneshot(cfg, train, valid, num_classes=10, log=lambda _: None).alpha
    b = run_oneshot(cfg, train, valid, num_classes=10, log=lambda _: None).alpha
    c = run_oneshot(replace(cfg, seed=1), train, valid, num_classes=10, log=lambda _: None).alpha
    assert (a == b).all()
    assert not (a == c).all()
    assert len(set(seed_streams(0).values())) == len(seed_streams(0))


def test_second_order_step_matches_exact_unrolled_gradient(digits, monkeypatch):
    """The finite-difference implicit term equals autograd through the virtual SGD step (float64).

    DARTS's step R = 0.01 / ||v|| moves this tiny network's weights too far for a tight comparison,
    so the check uses R = 1e-5 / ||v|| (the formula is the same)."""
    monkeypatch.setattr(steps, "FINITE_DIFF_R", 1e-5)
    cfg = _cfg("201", "darts-2nd").resolved()
    net = build_network(cfg, 10).double()
    step = build_step(cfg, net, torch.device("cpu"))
    (xt, yt), (xv, yv) = [(x.double(), y) for x, y in (digits[0][0], digits[1][0])]
    _, approx = step._unrolled_grad(xt, yt, xv, yv)

    names = [n for n, _ in net.named_parameters() if n != "alpha"]
    weights = [p for n, p in net.named_parameters() if n != "alpha"]
    loss_t = F.cross_entropy(net(xt, net.alpha.softmax(-1)), yt)
    grads = torch.autograd.grad(loss_t, weights, create_graph=True)
    unrolled = {n: w - cfg.lr * (g + cfg.weight_decay * w) for n, w, g in zip(names, weights, grads)}
    loss_v = F.cross_entropy(functional_call(net, unrolled, (xv, net.alpha.softmax(-1))), yv)
    exact = torch.autograd.grad(loss_v, net.alpha)[0]
    first = torch.autograd.grad(F.cross_entropy(functional_call(net, {n: w.detach() for n, w in unrolled.items()},
                                                                (xv, net.alpha.softmax(-1))), yv), net.alpha)[0]
    implicit = (exact - first).abs().max()
    assert implicit > 1e-3                               # the implicit term is not negligible here
    assert (approx - exact).abs().max() < 0.02 * implicit


def test_bad_configs_are_config_errors():
    with pytest.raises(ConfigError, match="unknown algorithm"):
        SearchConfig(algo="enas").resolved()
    with pytest.raises(ConfigError, match="order"):
        SearchConfig(algo="darts-1st", order=2).resolved()
    with pytest.raises(ConfigError, match="space"):
        SearchConfig(space="nb101").resolved()
    with pytest.raises(ConfigError, match="dataset"):
        SearchConfig(dataset="mnist").resolved()
    with pytest.raises(ConfigError, match="epochs"):
        SearchConfig(epochs=0).resolved()
    assert SearchConfig(algo="DARTS").resolved().algo == "darts-2nd"
    assert SearchConfig(algo="na-darts", order=2).resolved().order == 2


@pytest.mark.parametrize("space, algo", [("201", "na-darts"), ("201", "darts-2nd"), ("darts", "sdarts-rs")])
def test_cuda_code_path_bf16_channels_last_runs_on_cpu(digits, space, algo):
    """What a CUDA search does (bf16 autocast, channels_last, batched neighbors), emulated with CPU autocast."""
    cfg = _cfg(space, algo, na_chunk=100).resolved()
    net = build_network(cfg, 10).to(memory_format=torch.channels_last)
    step = build_step(cfg, net, torch.device("cpu"))
    step.autocast = lambda: torch.autocast("cpu", dtype=torch.bfloat16)
    (xt, yt), (xv, yv) = [(x.contiguous(memory_format=torch.channels_last), y) for x, y in digits[0][:2]]
    alpha0 = net.alpha.detach().clone()
    value = step.arch_step(xt, yt, xv, yv)
    loss, correct = step.weight_step(xt, yt)
    assert value.dtype == loss.dtype == torch.float32
    assert torch.isfinite(value) and torch.isfinite(loss) and 0 <= int(correct) <= len(yt)
    assert torch.isfinite(net.alpha.grad).all() and not torch.equal(net.alpha.detach(), alpha0)


class _Stop(Exception):
    pass


@pytest.mark.parametrize("algo", ["na-darts", "sdarts-rs"])
def test_interrupted_search_resumes_to_the_same_result(digits, tmp_path, algo):
    train, valid = digits
    cfg = _cfg("201", algo, epochs=3, steps_per_epoch=2)
    whole = run_oneshot(cfg, train, valid, num_classes=10, out=tmp_path / "whole", log=lambda _: None)

    def stop_after_first(line: str) -> None:
        if line.startswith("epoch 1/"):
            raise _Stop
    with pytest.raises(_Stop):
        run_oneshot(cfg, train, valid, num_classes=10, out=tmp_path / "cut", log=stop_after_first)
    assert (tmp_path / "cut" / "epochs.csv").read_text().count("\n") == 2      # header + epoch 0 kept
    lines: list[str] = []
    resumed = run_oneshot(cfg, train, valid, num_classes=10, out=tmp_path / "cut", log=lines.append)
    assert lines[0].startswith("resuming") and len(resumed.rows) == 3
    assert (resumed.alpha == whole.alpha).all()
    assert [r["arch"] for r in resumed.rows] == [r["arch"] for r in whole.rows]
    csv_cut = (tmp_path / "cut" / "epochs.csv").read_text().splitlines()
    csv_whole = (tmp_path / "whole" / "epochs.csv").read_text().splitlines()
    assert len(csv_cut) == 4 and [r.split(",")[9] for r in csv_cut] == [r.split(",")[9] for r in csv_whole]

    with pytest.raises(ConfigError, match="finished search"):
        run_oneshot(cfg, train, valid, num_classes=10, out=tmp_path / "whole", log=lambda _: None)
    with pytest.raises(_Stop):
        run_oneshot(cfg, train, valid, num_classes=10, out=tmp_path / "other", log=stop_after_first)
    with pytest.raises(ConfigError, match="different settings.*seed"):
        run_oneshot(replace(cfg, seed=5), train, valid, num_classes=10, out=tmp_path / "other", log=lambda _: None)
    assert (tmp_path / "other" / "epochs.csv").read_text().count("\n") == 2


def test_the_oneshot_runner_is_named_apart_from_the_tabular_loop():
    """Issue 14.7: one run_search (the tabular loop); the one-shot search is run_oneshot."""
    from nabench.oneshot import runner
    from nabench.search import loop

    assert callable(loop.run_search) and callable(runner.run_oneshot)
    assert not hasattr(runner, "run_search")
