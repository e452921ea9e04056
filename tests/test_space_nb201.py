"""The NAS-Bench-201 space: encodings, validation, isomorphism and neighborhoods."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nabench.errors import NabenchError
from nabench.spaces import nb201

BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"


@pytest.fixture(scope="module")
def official(shared_data):
    frame = pd.read_csv(shared_data / "upstream" / "nats_bench.csv")
    ops = np.array([nb201.parse(s) for s in frame["ArchitectureString"]])
    return frame, nb201.OfficialOrder(ops)


def test_string_round_trip_all_cells():
    strs = [nb201.to_str(o) for o in nb201.all_ops()]
    assert len(set(strs)) == nb201.N_ARCHS
    assert all(nb201.parse(s) == tuple(o) for s, o in zip(strs, nb201.all_ops()))


def test_code_round_trip_all_cells():
    ops = nb201.all_ops()
    codes = nb201.codes_of(ops)
    assert np.array_equal(codes, np.arange(nb201.N_ARCHS))
    assert np.array_equal(nb201.ops_of(codes), ops)
    assert all(nb201.to_code(nb201.from_code(c)) == c for c in range(0, nb201.N_ARCHS, 97))


@pytest.mark.parametrize("to,back", [(nb201.to_naslib, nb201.from_naslib),
                                     (nb201.to_genotype, nb201.from_genotype)])
def test_other_encodings_round_trip_all_cells(to, back):
    seen = set()
    for o in nb201.all_ops():
        enc = to(o)
        seen.add(enc)
        assert back(enc) == tuple(o)
    assert len(seen) == nb201.N_ARCHS


def test_onehot_round_trip_vectorized():
    ops = nb201.all_ops()
    onehot = nb201.to_onehot(ops)
    assert onehot.shape == (nb201.N_ARCHS, 30) and onehot.sum(1).max() == 6
    assert np.array_equal(nb201.from_onehot(onehot), ops)


def test_naslib_encoding_matches_naslib_conventions():
    # NASLib orders edges (0,1),(0,2),(0,3),(1,2),(1,3),(2,3) and ops skip, none, conv3, conv1, pool
    ops = nb201.parse(BEST)
    assert nb201.to_naslib(ops) == (2, 2, 0, 2, 2, 3)


def test_genotype_matches_nats_structure():
    geno = nb201.to_genotype(nb201.parse(BEST))
    assert geno[0] == (("nor_conv_3x3", 0),)
    assert geno[2] == (("skip_connect", 0), ("nor_conv_3x3", 1), ("nor_conv_1x1", 2))


def test_official_index_round_trip(official):
    frame, order = official
    for i in range(0, nb201.N_ARCHS, 7):
        s = frame["ArchitectureString"][i]
        assert order.index(s) == i and order.str(i) == s
    idx = order.resolve(list(frame["ArchitectureString"][:50]))
    assert np.array_equal(idx, np.arange(50))
    assert order.index(BEST) == 6111


@pytest.mark.parametrize("bad,fragment", [
    ("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|", "node groups"),
    ("|conv_9x9~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|", "unknown op"),
    ("|nor_conv_3x3~1|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|", "source node"),
    ("|nor_conv_3x3~0|+|nor_conv_3x3~0|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|", "incoming edges"),
    ("nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|", "start and end"),
    ("|nor_conv_3x3|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|", "op~source"),
])
def test_malformed_strings_name_the_problem(bad, fragment):
    with pytest.raises(nb201.ArchError, match=fragment):
        nb201.parse(bad)


def test_bad_ops_and_indices():
    with pytest.raises(nb201.ArchError, match="6 edges"):
        nb201.to_str((1, 2, 3))
    with pytest.raises(nb201.ArchError, match="out of range"):
        nb201.to_str((0, 1, 2, 3, 4, 5))
    with pytest.raises(nb201.ArchError, match="0..15624"):
        nb201.check_index(15625)
    with pytest.raises(nb201.ArchError, match="0..15624"):
        nb201.check_index(np.array([3, -1]))
    with pytest.raises(nb201.ArchError, match="integers"):
        nb201.check_index(np.array([1.5]))
    assert issubclass(nb201.ArchError, NabenchError)


def test_canonical_form_matches_upstream_unique_string(official):
    frame, order = official
    ours = order.canonical_ids()
    _, theirs = np.unique(frame["UniqueString"].to_numpy(), return_inverse=True)
    assert len(np.unique(ours)) == 6466
    # the same partition: the map class(ours) -> class(theirs) is a bijection
    pairs = np.unique(np.stack([ours, theirs]), axis=1)
    assert pairs.shape[1] == 6466
    assert nb201.canonical(nb201.parse(frame["ArchitectureString"][3])) == frame["UniqueString"][3]


@pytest.mark.parametrize("radius,size", [(1, 24), (2, 240)])
def test_neighbor_tables(radius, size):
    table = nb201.neighbor_codes(radius)
    assert table.shape == (nb201.N_ARCHS, size) == (nb201.N_ARCHS, nb201.n_neighbors(radius))
    ops = nb201.all_ops()
    dist = nb201.hamming(ops[:, None, :], ops[table])
    assert (dist == radius).all()
    assert all(len(set(row)) == size for row in table[::101])
    # symmetry: b in N(a) <=> a in N(b)
    a = np.repeat(np.arange(nb201.N_ARCHS), size)
    b = table.ravel()
    fwd = set(zip(a.tolist(), b.tolist()))
    assert all((y, x) in fwd for x, y in list(fwd)[::997])
    assert len(fwd) == nb201.N_ARCHS * size


def test_neighbors_in_official_index_space(official):
    _, order = official
    nb = order.neighbors(1)
    assert nb.shape == (nb201.N_ARCHS, 24)
    i = 6111
    expected = {order.index(tuple(o)) for o in nb201.ops_of(nb201.neighbor_codes(1)[nb201.to_code(order.ops(i))])}
    assert set(nb[i].tolist()) == expected
    assert i not in set(nb[i].tolist())
