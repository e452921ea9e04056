"""The NA-DARTS neighborhood: the space's own neighbors relaxed, its vocabulary, objective, gradients; SDARTS-RS."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pytest
torch = pytest.importorskip("torch", reason='needs PyTorch: pip install "nabench[torch]"')

from nabench.errors import ConfigError
from nabench.neighborhood import NeighborhoodSpec, members_of
from nabench.oneshot.config import Neighborhood, SearchConfig, search_space
from nabench.oneshot.darts_network import DartsSearchNetwork, derive_genotype
from nabench.oneshot.moves import MAX_MOVES, moves_for
from nabench.oneshot.nb201_supernet import NB201Supernet
from nabench.oneshot.neighbors import full_moves, neighbor_weights, neighborhood_weights, relaxation_for, sample_moves
from nabench.oneshot.objectives import CenterObjective, NeighborhoodObjective
from nabench.oneshot.smoothing import random_smoothing
from nabench.search.synthetic import SyntheticBenchmark
from nabench.spaces import darts
from nabench.train.initialization import init_parameters

NB201 = search_space("201")
DARTS = search_space("darts")


def _alpha(seed: int, shape: tuple[int, int], none_boost: float = 0.0) -> torch.Tensor:
    a = torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64).mul(2)
    a[:, 0] += none_boost
    return a


def _darts_codes(w: torch.Tensor) -> np.ndarray:
    """The DARTS-space code of each relaxed architecture's derived genotype (DARTS's rule)."""
    return np.array([DARTS.from_genotype(derive_genotype(x.detach().numpy())) for x in w], dtype=np.int64)


# ------------------------------------------------------------------ one enumeration: the space's own neighbors


@pytest.mark.parametrize("space", [NB201, SyntheticBenchmark(3).space], ids=["code-order", "permuted-official"])
@pytest.mark.parametrize("radius, exact", [(1, False), (2, False), (2, True), (3, False)])
def test_nb201_discretized_neighbors_are_the_space_neighbors(space, radius, exact):
    """With beta = 1 every relaxed neighbor's argmax cell is ``space.neighbors(derived, r, exact)``, member for
    member in the space's order (hence also as a set), whatever the space's index order."""
    relax, moves = relaxation_for(space), moves_for(space)
    for seed in range(3):
        alpha = _alpha(seed, (6, 5))
        p = alpha.softmax(-1)
        center = relax.center(alpha)
        w = neighbor_weights(p, moves.ball(radius, exact), relax, 1.0)
        got = space.decode(w.argmax(-1).numpy())
        want = space.neighbors(center, radius, exact)
        assert np.array_equal(got, want) and len(set(got.tolist())) == len(want)
        assert torch.allclose(w.sum(-1), torch.ones(len(w), 6, dtype=torch.float64)) and (w >= 0).all()
        # only the edges of the move change, one per edit
        dist = np.array([space.distance(center, int(a)) for a in got])
        assert np.array_equal((w != p.unsqueeze(0)).any(-1).sum(-1).numpy(), dist)
    assert len(moves.ball(radius, exact)) == moves.n_sequences(radius, exact)


@pytest.mark.parametrize("seed, none_boost", [(0, 0.0), (1, 3.0), (2, -1.0)])
def test_darts_discretized_neighbors_are_the_nb301_neighbors(seed, none_boost):
    """DARTS space, radius 1: deriving the genotype (DARTS's rule) of every relaxed neighbor gives exactly the
    120 NB301 neighbors of the derived genotype: 96 op changes, then 24 input moves (swapped rows), in order."""
    relax, moves = relaxation_for(DARTS), moves_for(DARTS)
    alpha = _alpha(seed, (28, 8), none_boost)                       # none_boost 3: none dominates most edges
    center = relax.center(alpha)
    assert center == DARTS.from_genotype(derive_genotype(alpha.softmax(-1).numpy()))
    w = neighbor_weights(alpha.softmax(-1), moves.ball(1), relax, 1.0)
    got, want = _darts_codes(w), DARTS.neighbors(center)
    assert len(want) == 120 and np.array_equal(got, want)
    assert {DARTS.format(int(c)) for c in got} == {DARTS.format(int(c)) for c in want}
    assert torch.allclose(w.sum(-1), torch.ones(120, 28, dtype=torch.float64)) and (w >= 0).all()
    # an op change touches one row; an input move swaps two rows of one node
    touched = (w != alpha.softmax(-1).unsqueeze(0)).any(-1).sum(-1)
    assert (touched[:96] == 1).all() and (touched[96:] == 2).all()


def test_darts_radius_2_is_the_ball_enumerated_from_the_derived_cell():
    relax, moves = relaxation_for(DARTS), moves_for(DARTS)
    alpha = _alpha(5, (28, 8))
    center = relax.center(alpha)
    assert moves.needs_center(2) and not moves.needs_center(1)
    ball = moves.ball(2, False, center)
    shell = moves.ball(2, True, center)
    assert ball.shape[1] == 2 and (ball[:120, 1] == -1).all() and (shell >= 0).all()
    for seqs, exact in ((ball, False), (shell, True)):
        got = _darts_codes(full_moves(alpha.softmax(-1), seqs, relax))
        assert np.array_equal(got, DARTS.neighbors(center, 2, exact=exact))
    assert len(ball) == 120 + len(shell) and len(set(ball[:, 0].tolist())) == 120


def test_the_vocabulary_is_the_tabular_neighborhood_spec():
    """Same field names and meanings as NeighborhoodSpec: the members NA-DARTS relaxes are members_of's."""
    shared = {f.name for f in fields(Neighborhood)} - {"fraction"}
    assert shared <= {f.name for f in fields(NeighborhoodSpec)}
    for space, radius, exact in ((NB201, 2, False), (NB201, 2, True), (DARTS, 1, False)):
        hood = Neighborhood(radius=radius, k=None, exact=exact, agg="max")
        assert hood.spec().agg == "min"                       # the worst loss mirrors the worst accuracy
        relax, moves = relaxation_for(space), moves_for(space)
        alpha = _alpha(7, relax.shape)
        center = relax.center(alpha)
        w = neighborhood_weights(alpha.softmax(-1), sample_moves(moves, hood, np.random.default_rng(0), center),
                                 relax, hood)
        derived = (space.decode(w.argmax(-1).numpy()) if space is NB201 else _darts_codes(w))
        members, dist = members_of(space, center, hood.spec())
        assert derived[0] == center == members[0] and dist[0] == 0           # include_self: the center first
        assert sorted(derived.tolist()) == sorted(members.tolist())


# ------------------------------------------------------------------ the relaxed move


def test_mass_fraction_moves_that_share_of_the_way():
    relax = relaxation_for(NB201)
    p = _alpha(3, (6, 5)).softmax(-1)
    d = p.argmax(-1)
    w = neighbor_weights(p, np.array([[0], [7]]), relax, 0.25)   # edge 0, 1st other op; edge 1, 4th other op
    t0 = 0 + int(0 >= d[0])
    t1 = 3 + int(3 >= d[1])
    assert torch.isclose(w[0, 0, d[0]], 0.75 * p[0, d[0]])
    assert torch.isclose(w[0, 0, t0], p[0, t0] + 0.25 * p[0, d[0]])
    assert torch.equal(w[0, 1:], p[1:])
    assert torch.isclose(w[1, 1, t1], p[1, t1] + 0.25 * p[1, d[1]]) and torch.equal(w[1, 0], p[0])
    # DARTS input move: the two rows move a quarter of the way to each other
    drelax, q = relaxation_for(DARTS), _alpha(4, (28, 8)).softmax(-1)
    full = full_moves(q, np.array([[96]]), drelax)[0]
    part = neighbor_weights(q, np.array([[96]]), drelax, 0.25)[0]
    rows = (full != q).any(-1).nonzero().flatten().tolist()
    assert len(rows) == 2 and torch.equal(full[rows[0]], q[rows[1]]) and torch.equal(full[rows[1]], q[rows[0]])
    assert torch.allclose(part[rows[0]], 0.75 * q[rows[0]] + 0.25 * q[rows[1]])


def test_sampling_is_seeded_distinct_and_capped():
    moves = moves_for(NB201)
    hood = Neighborhood(radius=1, k=5)
    a = sample_moves(moves, hood, np.random.default_rng(7))
    b = sample_moves(moves, hood, np.random.default_rng(7))
    assert np.array_equal(a, b) and a.shape == (5, 1) and len(set(a[:, 0].tolist())) == 5
    assert len(sample_moves(moves, Neighborhood(k=100), np.random.default_rng(0))) == 24
    assert len(sample_moves(moves, Neighborhood(k=None), np.random.default_rng(0))) == 24
    dm = moves_for(DARTS)
    center = relaxation_for(DARTS).center(_alpha(0, (28, 8)))
    two = sample_moves(dm, Neighborhood(radius=2, k=3), np.random.default_rng(0), center)
    assert two.shape == (3, 2) and ((two >= -1) & (two < 120)).all()
    with pytest.raises(ConfigError, match="move sequences"):
        SearchConfig(space="darts", algo="na-darts", neighborhood=Neighborhood(radius=3)).resolved()
    assert dm.n_sequences(3) > MAX_MOVES >= dm.n_sequences(2)


def test_center_is_first_when_included():
    relax, moves = relaxation_for(NB201), moves_for(NB201)
    p = _alpha(4, (6, 5)).softmax(-1)
    seqs = sample_moves(moves, Neighborhood(k=3), np.random.default_rng(0))
    with_c = neighborhood_weights(p, seqs, relax, Neighborhood(k=3))
    without = neighborhood_weights(p, seqs, relax, Neighborhood(k=3, include_self=False))
    assert with_c.shape == (4, 6, 5) and without.shape == (3, 6, 5)
    assert torch.equal(with_c[0], p) and torch.equal(with_c[1:], without)


@pytest.mark.parametrize("space", [NB201, DARTS], ids=["nb201", "darts"])
def test_relaxed_neighbors_are_differentiable_in_alpha(space):
    """Directional derivatives of every relaxed neighbor (op changes and row swaps, beta 0.6) match finite
    differences, float64: the construction is linear given the derived cell."""
    relax, moves = relaxation_for(space), moves_for(space)
    alpha = _alpha(11, relax.shape).requires_grad_(True)
    seqs = moves.ball(1)
    weights = torch.randn((len(seqs),) + relax.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)

    def f(a: torch.Tensor) -> torch.Tensor:
        return (neighbor_weights(a.softmax(-1), seqs, relax, 0.6) * weights).sum()

    (g,) = torch.autograd.grad(f(alpha), alpha)
    for k in range(3):
        v = torch.randn(relax.shape, generator=torch.Generator().manual_seed(20 + k), dtype=torch.float64)
        h = 1e-6
        with torch.no_grad():
            numeric = (f(alpha + h * v) - f(alpha - h * v)) / (2 * h)
        assert torch.isclose((g * v).sum(), numeric, rtol=1e-6, atol=1e-8)


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
    relax, moves = relaxation_for(NB201), moves_for(NB201)
    hood = Neighborhood(k=4, include_self=False)
    _, (g_center,) = CenterObjective()(net, alpha, x, y, [alpha])
    value, (g_na,) = NeighborhoodObjective(hood, NB201, np.random.default_rng(0), chunk=10)(net, alpha, x, y, [alpha])
    assert g_na.abs().max() > 1e-4
    assert not torch.allclose(g_na, g_center, atol=1e-6)
    # each neighbor term alone sends a nonzero gradient to alpha
    seqs = sample_moves(moves, hood, np.random.default_rng(0))
    for k in range(len(seqs)):
        w = neighbor_weights(alpha.softmax(-1), seqs[k:k + 1], relax)
        g = torch.autograd.grad(torch.nn.functional.cross_entropy(net(x, w), y), alpha)[0]
        assert g.abs().max() > 1e-6
    # the objective's gradient equals autograd through the explicit mean over the same neighbors
    w = neighbor_weights(alpha.softmax(-1), seqs, relax)
    losses = torch.stack([torch.nn.functional.cross_entropy(net(x, w[k]), y) for k in range(len(seqs))])
    assert torch.isclose(value, losses.mean().detach())
    assert torch.allclose(torch.autograd.grad(losses.mean(), alpha)[0], g_na, atol=1e-9)


def test_darts_na_loss_gradient_is_finite_and_nonzero_on_the_moved_rows():
    """The DARTS search network, one op change and one input move (no center): the NA loss's gradient w.r.t.
    alpha is finite everywhere and non-zero on every row the moves touch."""
    net = DartsSearchNetwork(10, C=2, layers=3).double()
    g = torch.Generator().manual_seed(0)
    init_parameters(net, g, strict=False)
    with torch.no_grad():
        net.alpha.copy_(_alpha(3, (28, 8)))
    x = torch.randn(4, 3, 8, 8, generator=g, dtype=torch.float64)
    y = torch.randint(0, 10, (4,), generator=g)
    relax = relaxation_for(DARTS)
    for move in (5, 100):                                        # an op change, an input move
        obj = NeighborhoodObjective(Neighborhood(k=None, include_self=False), DARTS, np.random.default_rng(0), 1)
        seqs = torch.tensor([[move]])
        value, (grad,) = obj(net, net.alpha, x, y, [net.alpha], (seqs,))
        rows = (full_moves(net.alpha.detach().softmax(-1), seqs, relax)[0]
                != net.alpha.detach().softmax(-1)).any(-1).nonzero().flatten()
        assert torch.isfinite(value) and torch.isfinite(grad).all()
        assert len(rows) == (1 if move < 96 else 2)
        assert (grad[rows].abs().amax(-1) > 1e-8).all()


@pytest.mark.parametrize("aggregate", ["mean", "max", "median"])
def test_chunked_evaluation_gives_the_same_objective(aggregate):
    net, x, y = _net_and_batch()
    hood = Neighborhood(k=3, agg=aggregate)
    out = [NeighborhoodObjective(hood, NB201, np.random.default_rng(1), chunk=c)(net, net.alpha, x, y, [net.alpha])
           for c in (1, 2, 4)]
    for value, (g,) in out[1:]:
        assert torch.isclose(value, out[0][0], atol=1e-9)
        assert torch.allclose(g, out[0][1][0], atol=1e-8)


def test_max_aggregate_is_the_worst_neighbor():
    net, x, y = _net_and_batch()
    mean_v, _ = NeighborhoodObjective(Neighborhood(k=4), NB201, np.random.default_rng(2), 5)(
        net, net.alpha, x, y, [net.alpha])
    max_v, _ = NeighborhoodObjective(Neighborhood(k=4, agg="max"), NB201, np.random.default_rng(2), 5)(
        net, net.alpha, x, y, [net.alpha])
    assert max_v > mean_v


@pytest.mark.parametrize("space, kwargs, match", [
    ("201", {"radius": 7}, "--radius 7"), ("201", {"radius": 0}, "--radius"), ("201", {"k": -1}, "--k"),
    ("201", {"k": 0}, "None = all"), ("201", {"fraction": 1.5}, "--mass-fraction"), ("201", {"agg": "mode"}, "--agg"),
    ("201", {"agg": "min"}, "mean, max, median"), ("201", {"exact": 1}, "exact"),
    ("darts", {"radius": 3}, "more than nabench enumerates"),
])
def test_bad_neighborhood_settings_are_config_errors(space, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        SearchConfig(space=space, algo="na-darts", neighborhood=Neighborhood(**kwargs)).resolved()


def test_the_config_holds_the_space_object():
    for value, name in (("201", "nb201"), ("nb201", "nb201"), ("darts", "darts"), ("301", "darts")):
        cfg = SearchConfig(space=value).resolved()
        assert cfg.space == name and cfg.search_space.name == name and cfg.search_space is search_space(value)
    assert SearchConfig(space="darts").resolved().cells == 8 and SearchConfig().resolved().cells == 5
    with pytest.raises(ConfigError, match="supernets for"):
        SearchConfig(space="sss").resolved()
    assert darts.DartsSpace().neighbors(0).shape == (moves_for(DARTS).n_single,)


def test_random_smoothing_stays_on_the_simplex_within_eps():
    p = _alpha(5, (6, 5)).softmax(-1).float()
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
