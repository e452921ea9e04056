"""The supernet iteration behind --graphs: the CPU emulation of its CUDA-graph bookkeeping gives the eager results."""

from __future__ import annotations

from dataclasses import replace

import pytest

torch = pytest.importorskip("torch", reason='needs PyTorch: pip install "nabench[torch]"')

from nabench.errors import ConfigError
from nabench.oneshot.config import Neighborhood, SearchConfig
from nabench.oneshot.loop import build_network, build_step

BASE = SearchConfig(space="201", algo="darts-1st", channels=4, cells=1, batch_size=8, seed=3,
                    neighborhood=Neighborhood(k=2))


def _run(cfg: SearchConfig, graphs: bool, steps: int = 5) -> tuple[list[float], torch.Tensor, torch.Tensor, object]:
    net = build_network(cfg, 10)
    step = build_step(cfg, net, torch.device("cpu"), graphs=graphs, graph_backend="emulate" if graphs else None)
    step.graphed.warmup = 2
    g = torch.Generator().manual_seed(0)
    values = []
    for i in range(steps):
        n = 6 if i == 3 else 8          # one short batch: an eager call between replays
        xt, xv = (torch.randn(n, 3, 8, 8, generator=g).double() for _ in range(2))
        yt, yv = (torch.randint(0, 10, (n,), generator=g) for _ in range(2))
        arch, loss, correct = step.iteration(xt, yt, xv, yv)
        values += [float(arch), float(loss), float(correct)]
    return values, net.alpha.detach().clone(), torch.cat([p.detach().flatten() for p in step.weights]), step.graphed


#: NA-DARTS beyond the default: the radius-2 ball (padded move sequences), and the DARTS space (op changes and
#: row swaps built in the captured core; moves drawn on the host)
VARIANTS = {"na-darts-r2": dict(algo="na-darts", neighborhood=Neighborhood(radius=2, k=3)),
            "na-darts-darts": dict(algo="na-darts", space="darts", cells=3, channels=2)}


@pytest.mark.parametrize("algo", ["darts-1st", "darts-2nd", "sdarts-rs", "na-darts", *VARIANTS])
def test_emulated_graphs_match_eager(algo: str) -> None:
    """Float64 (BatchNorm over 8 tiny images amplifies float32 rounding): the graph path's SGD update rounds
    like torch's to the last bit or so, so trajectories agree to 1e-10."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        cfg = replace(BASE, **VARIANTS.get(algo, {"algo": algo}))
        eager, alpha_e, w_e, _ = _run(cfg, graphs=False)
        graphed, alpha_g, w_g, wrapper = _run(cfg, graphs=True)
    finally:
        torch.set_default_dtype(old)
    assert wrapper.captures == 1 and wrapper.replays == 5 - 2 - 1
    assert graphed == pytest.approx(eager, abs=1e-10)
    assert torch.allclose(alpha_g, alpha_e, atol=1e-10, rtol=0) and not torch.equal(alpha_e, torch.zeros_like(alpha_e))
    assert torch.allclose(w_g, w_e, atol=1e-10, rtol=0)


def test_graphs_refuse_a_host_synchronizing_objective() -> None:
    cfg = replace(BASE, algo="na-darts", neighborhood=Neighborhood(k=2, agg="max"))
    with pytest.raises(ConfigError, match="aggregate mean"):
        build_step(cfg, build_network(cfg, 10), torch.device("cpu"), graphs=True, graph_backend="emulate")


def test_graphs_fall_back_to_eager_on_cpu(capsys: pytest.CaptureFixture) -> None:
    net = build_network(BASE, 10)
    step = build_step(BASE, net, torch.device("cpu"), graphs=True)
    assert not step.graphed.enabled and "CUDA graphs need a CUDA device" in capsys.readouterr().err
