"""The CUDA-graph step wrapper: its bookkeeping, emulated on CPU, gives the eager step's results."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch", reason='needs PyTorch: pip install "nabench[torch]"')

from nabench.train.graphs import GraphedStep, sgd_step_
from nabench.train.initialization import materialize
from nabench.train.networks import NetworkSpec
from nabench.train.recipes import get_recipe
from nabench.train.schedule import build_optimizer, build_scheduler
from nabench.train.trainer import make_train_step

SPEC = NetworkSpec("nb201", "|nor_conv_3x3~0|+|avg_pool_3x3~0|skip_connect~1|+|none~0|nor_conv_1x1~1|nor_conv_3x3~2|",
                   "cifar10", channels=4, layers=1)


def _batches(n: int, sizes=(8,)) -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    return [(torch.randn(sizes[i % len(sizes)], 3, 16, 16, generator=g),
             torch.randint(0, 10, (sizes[i % len(sizes)],), generator=g)) for i in range(n)]


def _train(graphs: bool, backend: str | None, batches, recipe="nb201-12"):
    model = materialize(SPEC, "cpu", torch.Generator().manual_seed(1))
    r = get_recipe(recipe)
    opt = build_optimizer(model, r)
    sched = build_scheduler(opt, r, steps_per_epoch=4)
    step = make_train_step(model, opt, sched, r, amp=False, device_type="cpu", graphs=graphs, graph_backend=backend)
    step.graphed.warmup = 2
    losses = []
    for x, y in batches:
        loss, _ = step(x, y)
        losses.append(float(loss))
    return model, opt, losses, step.graphed


def test_sgd_step_equals_torch_sgd() -> None:
    for nesterov, wd in ((True, 5e-4), (False, 0.0)):
        a = materialize(lambda: torch.nn.Linear(5, 3), "cpu", torch.Generator().manual_seed(3))
        b = materialize(lambda: torch.nn.Linear(5, 3), "cpu", torch.Generator().manual_seed(4))
        b.load_state_dict(a.state_dict())
        oa = torch.optim.SGD(a.parameters(), lr=0.1, momentum=0.9, nesterov=nesterov, weight_decay=wd)
        ob = torch.optim.SGD(b.parameters(), lr=0.1, momentum=0.9, nesterov=nesterov, weight_decay=wd)
        x = torch.randn(4, 5, generator=torch.Generator().manual_seed(2))
        for lr in (0.1, 0.05, 0.01):
            for m, o in ((a, oa), (b, ob)):
                o.zero_grad()
                m(x).square().sum().backward()
            oa.param_groups[0]["lr"] = lr
            oa.step()
            sgd_step_(ob, torch.tensor(lr))
        for p, q in zip(a.parameters(), b.parameters()):
            assert torch.allclose(p, q, rtol=1e-6, atol=1e-7) and not torch.equal(p, torch.zeros_like(p))
        assert torch.allclose(oa.state[next(a.parameters())]["momentum_buffer"],
                              ob.state[next(b.parameters())]["momentum_buffer"], rtol=1e-5, atol=1e-5)


def test_emulated_graph_step_gives_the_eager_trajectory() -> None:
    """Warm-up, one capture, replays on static buffers, an eager call for a short batch, then replays again.

    In float64: the graph path's SGD update rounds differently from torch's in the last bit, and BatchNorm over
    8 tiny images amplifies float32 rounding by orders of magnitude within a few steps.
    """
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        _check_emulated_trajectory()
    finally:
        torch.set_default_dtype(old)


def _check_emulated_trajectory() -> None:
    batches = [(x.double(), y) for x, y in _batches(9, sizes=(8, 8, 8, 8, 5, 8, 8, 8, 8))]
    eager_model, _, eager_losses, _ = _train(False, None, batches)
    model, opt, losses, wrapper = _train(True, "emulate", batches)
    assert wrapper.captures == 1 and wrapper.replays == 9 - 2 - 1
    assert losses == pytest_approx(eager_losses)
    for p, q in zip(model.state_dict().values(), eager_model.state_dict().values()):
        assert torch.allclose(p, q, atol=1e-12, rtol=0) and p.dtype in (torch.float64, torch.int64)
    assert opt.param_groups[0]["lr"] != get_recipe("nb201-12").lr  # the schedule stepped on the host


def test_graphs_fall_back_to_eager_on_cpu_with_a_note() -> None:
    notes: list[str] = []
    model = materialize(lambda: torch.nn.Linear(3, 2), "cpu", torch.Generator().manual_seed(0))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    wrapper = GraphedStep(lambda x: (model(x).sum().backward(), opt.step()) and (), opt, enabled=True,
                          device=torch.device("cpu"), log=notes.append)
    assert not wrapper.enabled and "CUDA" in notes[0]
    before = model.weight.detach().clone()
    wrapper(torch.ones(1, 3))
    assert not torch.equal(before, model.weight) and wrapper.captures == 0


def pytest_approx(values):
    import pytest

    return pytest.approx(values, abs=1e-12)


def test_a_failed_capture_continues_eagerly_on_the_same_trajectory(monkeypatch) -> None:
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        batches = [(x.double(), y) for x, y in _batches(5)]
        eager_model, _, eager_losses, _ = _train(False, None, batches)

        def refuse(self, inputs):
            raise RuntimeError("operation not permitted when stream is capturing")

        monkeypatch.setattr(GraphedStep, "_capture", refuse)
        model, _, losses, wrapper = _train(True, "emulate", batches)
    finally:
        torch.set_default_dtype(old)
    assert wrapper.failed and wrapper.replays == 0
    assert losses == pytest_approx(eager_losses)
    for p, q in zip(model.state_dict().values(), eager_model.state_dict().values()):
        assert torch.allclose(p, q, atol=1e-12, rtol=0)
