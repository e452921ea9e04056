"""The NA-DARTS neighborhood construction, its objective and gradients, and SDARTS-RS smoothing."""

from __future__ import annotations

import numpy as np
import pytest
torch = pytest.importorskip("torch", reason='needs PyTorch: pip install "nabench[torch]"')

from nabench.errors import ConfigError
from nabench.oneshot.config import Neighborhood, SearchConfig, n_moves
from nabench.train.initialization import init_parameters
from nabench.oneshot.nb201_supernet import NB201Supernet
from nabench.oneshot.neighbors import decode_moves, neighbor_weights, neighborhood_weights, sample_moves
from nabench.oneshot.objectives import CenterObjective, NeighborhoodObjective
from nabench.oneshot.smoothing import random_smoothing
from nabench.spaces import nb201



def _probs(seed: int = 0, shape: tuple[int, int] = (6, 5)) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64).mul(2).softmax(-1)


@pytest.mark.parametrize("radius", [1, 2])
def test_discretized_neighbors_are_exactly_the_hamming_neighborhood(radius):
    """With all the dominant mass moved, the neighbors' argmax cells are the radius-r neighbors of the
    center's argmax cell, each once (checked against the space's own neighbor table)."""
    p = _probs(radius)
    hood = Neighborhood(radius=radius, n_neighbors=0)
    edges, offsets = sample_moves(6, 5, hood, np.random.default_rng(0))
    assert len(edges) == n_moves(6, 5, radius) == nb201.n_neighbors(radius)
    w = neighbor_weights(p, edges, offsets, 1.0)
    assert torch.allclose(w.sum(-1), torch.ones(len(edges), 6, dtype=torch.float64))
    assert (w >= 0).all()
    center = nb201.to_code(p.argmax(-1).tolist())
    codes = nb201.codes_of(w.argmax(-1).numpy())
    assert sorted(codes.tolist()) == sorted(nb201.neighbor_codes(radius)[center].tolist())
    # only the picked edges change
    changed = (w != p.unsqueeze(0)).any(-1)
    assert (changed.sum(-1) == radius).all()


def test_mass_fraction_moves_that_share_of_the_dominant_weight():
    p = _probs(3)
    d = p.argmax(-1)
    edges, offsets = decode_moves(np.array([0, 7]), 6, 5, 1)   # edge 0 offset 1, edge 1 offset 4
    assert edges.tolist() == [[0], [1]] and offsets.tolist() == [[1], [4]]
    w = neighbor_weights(p, edges, offsets, 0.25)
    t0 = (d[0] + 1) % 5
    assert torch.isclose(w[0, 0, d[0]], 0.75 * p[0, d[0]])
    assert torch.isclose(w[0, 0, t0], p[0, t0] + 0.25 * p[0, d[0]])
    assert torch.equal(w[0, 1:], p[1:])
    assert torch.isclose(w[1, 1, (d[1] + 4) % 5], p[1, (d[1] + 4) % 5] + 0.25 * p[1, d[1]])


def test_sampling_is_seeded_distinct_and_capped():
    hood = Neighborhood(radius=1, n_neighbors=5)
    a = sample_moves(6, 5, hood, np.random.default_rng(7))
    b = sample_moves(6, 5, hood, np.random.default_rng(7))
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    pairs = {(int(e), int(o)) for e, o in zip(a[0][:, 0], a[1][:, 0])}
    assert len(pairs) == 5
    assert len(sample_moves(6, 5, Neighborhood(n_neighbors=100), np.random.default_rng(0))[0]) == 24
    darts_moves = sample_moves(28, 8, Neighborhood(radius=2, n_neighbors=3), np.random.default_rng(0))
    assert darts_moves[0].shape == (3, 2) and (darts_moves[0][:, 0] < darts_moves[0][:, 1]).all()
    assert ((darts_moves[1] >= 1) & (darts_moves[1] <= 7)).all()


def test_center_is_first_when_included():
    p = _probs(4)
    edges, offsets = sample_moves(6, 5, Neighborhood(n_neighbors=3), np.random.default_rng(0))
    with_c = neighborhood_weights(p, edges, offsets, Neighborhood(n_neighbors=3))
    without = neighborhood_weights(p, edges, offsets, Neighborhood(n_neighbors=3, include_center=False))
    assert with_c.shape == (4, 6, 5) and without.shape == (3, 6, 5)
    assert torch.equal(with_c[0], p) and torch.equal(with_c[1:], without)


def _net_and_batch():
    net = NB201Supernet(10, C=4, N=1).double()
    g = torch.Generator().manual_seed(0)
    init_parameters(net, g, strict=False)
    with torch.no_grad():
        net.alpha.normal_(generator=g)
    x = torch.randn(8, 3, 8, 8, generator=g, dtype=torch.float64)
    y = torch.randint(0, 10, (8,), generator=g)
    return net, x, y


def test_gradient_reaches_alpha_through_every_neighbor_term():
    net, x, y = _net_and_batch()
    alpha = net.alpha
    hood = Neighborhood(n_neighbors=4, include_center=False)
    _, (g_center,) = CenterObjective()(net, alpha, x, y, [alpha])
    value, (g_na,) = NeighborhoodObjective(hood, 6, 5, np.random.default_rng(0), chunk=10)(net, alpha, x, y, [alpha])
    assert g_na.abs().max() > 1e-4
    assert not torch.allclose(g_na, g_center, atol=1e-6)
    # each neighbor term alone sends a nonzero gradient to alpha
    edges, offsets = sample_moves(6, 5, hood, np.random.default_rng(0))
    for k in range(len(edges)):
        w = neighbor_weights(alpha.softmax(-1), edges[k:k + 1], offsets[k:k + 1])
        g = torch.autograd.grad(torch.nn.functional.cross_entropy(net(x, w), y), alpha)[0]
        assert g.abs().max() > 1e-6
    # the objective's gradient equals autograd through the explicit mean over the same neighbors
    w = neighbor_weights(alpha.softmax(-1), edges, offsets)
    losses = torch.stack([torch.nn.functional.cross_entropy(net(x, w[k]), y) for k in range(len(edges))])
    assert torch.isclose(value, losses.mean().detach())
    assert torch.allclose(torch.autograd.grad(losses.mean(), alpha)[0], g_na, atol=1e-9)


@pytest.mark.parametrize("aggregate", ["mean", "max", "median"])
def test_chunked_evaluation_gives_the_same_objective(aggregate):
    net, x, y = _net_and_batch()
    hood = Neighborhood(n_neighbors=3, aggregate=aggregate)
    out = [NeighborhoodObjective(hood, 6, 5, np.random.default_rng(1), chunk=c)(net, net.alpha, x, y, [net.alpha])
           for c in (1, 2, 4)]
    for value, (g,) in out[1:]:
        assert torch.isclose(value, out[0][0], atol=1e-9)
        assert torch.allclose(g, out[0][1][0], atol=1e-8)


def test_max_aggregate_is_the_worst_neighbor():
    net, x, y = _net_and_batch()
    mean_v, _ = NeighborhoodObjective(Neighborhood(n_neighbors=4), 6, 5, np.random.default_rng(2), 5)(
        net, net.alpha, x, y, [net.alpha])
    max_v, _ = NeighborhoodObjective(Neighborhood(n_neighbors=4, aggregate="max"), 6, 5, np.random.default_rng(2), 5)(
        net, net.alpha, x, y, [net.alpha])
    assert max_v > mean_v


@pytest.mark.parametrize("kwargs, match", [
    ({"radius": 7}, "radius"), ({"n_neighbors": -1}, "neighbors"), ({"fraction": 1.5}, "mass-fraction"),
    ({"aggregate": "mode"}, "aggregate"),
])
def test_bad_neighborhood_settings_are_config_errors(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        SearchConfig(space="201", algo="na-darts", neighborhood=Neighborhood(**kwargs)).resolved()


def test_random_smoothing_stays_on_the_simplex_within_eps():
    p = _probs(5).float()
    g1, g2 = torch.Generator().manual_seed(0), torch.Generator().manual_seed(0)
    a, b = random_smoothing(p, 0.03, g1), random_smoothing(p, 0.03, g2)
    assert torch.equal(a, b)
    c = random_smoothing(p, 0.03, g1)
    assert not torch.equal(a, c)
    assert torch.allclose(a.sum(-1), torch.ones(6))
    assert (a >= 0).all() and not torch.allclose(a, p)
    assert (a - p).abs().max() < 0.03 * 2 + 1e-6
    # a row whose clamped values would all be zero keeps its largest entry
    tiny = torch.full((1, 5), 1e-4)
    out = random_smoothing(tiny.softmax(-1) * 0 + 1e-9, 0.5, torch.Generator().manual_seed(1))
    assert torch.allclose(out.sum(-1), torch.ones(1)) and (out >= 0).all()
