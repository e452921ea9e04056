"""The NAS-Bench-201 network: exact parameter parity with the tables, cell semantics, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
torch = pytest.importorskip("torch", reason='needs PyTorch: pip install "nabench[torch]"')

from nabench.errors import ConfigError
from nabench.models.nb201_net import InferCell, NB201Net, count_parameters
from nabench.spaces import nb201

# One intra-op thread: with two test workers on two cores, more threads oversubscribe and spin.

#: Table column -> class count of the network trained on that dataset.
PARAM_COLUMNS = {"cifar10_valid_params_mb": 10, "cifar100_params_mb": 100, "imagenet16_params_mb": 120}
TOP_CIFAR10 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"


@pytest.fixture(scope="module")
def table(shared_data: Path) -> pd.DataFrame:
    cols = ["arch_index", "arch_str", "params_differ_across_seeds", "cifar10_test", *PARAM_COLUMNS]
    return pd.read_csv(shared_data / "nb201_200epoch.csv.gz", usecols=cols)


def test_param_count_equals_table_on_a_seeded_sample(table: pd.DataFrame) -> None:
    rng = np.random.default_rng(2024)
    quirky = table.index[table.params_differ_across_seeds == 1].to_numpy()
    rows = np.unique(np.concatenate([
        rng.choice(len(table), size=200, replace=False),
        rng.choice(quirky, size=20, replace=False),
        table.index[table.arch_str.isin([TOP_CIFAR10, nb201.to_str([0] * 6), nb201.to_str([3] * 6)])],
    ]))
    mismatches = []
    for row in table.iloc[rows].itertuples():
        for column, classes in PARAM_COLUMNS.items():
            got = round(count_parameters(NB201Net(row.arch_str, classes)) / 1e6, 6)
            if got != round(getattr(row, column), 6):
                mismatches.append((row.arch_index, column, got, getattr(row, column)))
    assert len(rows) > 200 and not mismatches


def test_analytic_increments() -> None:
    base = count_parameters(NB201Net([0] * 6, 10))
    assert base == 73306
    assert count_parameters(NB201Net([3, 0, 0, 0, 0, 0], 10)) - base == 243040
    assert count_parameters(NB201Net([0, 0, 2, 0, 0, 0], 10)) - base == 28000
    assert count_parameters(NB201Net([1, 4, 1, 4, 1, 4], 10)) == base  # skip and pooling have no weights
    assert count_parameters(NB201Net([0] * 6, 120)) - base == 110 * 65


def test_top_cell_is_arch_6111(table: pd.DataFrame) -> None:
    assert table.arch_str[6111] == TOP_CIFAR10
    assert table.cifar10_test.idxmax() == 6111


def test_cell_computes_node_sums() -> None:
    # skip on 1<-0, 2<-1 and 3<-2, none elsewhere: the cell is the identity.
    cell = InferCell([1, 0, 1, 0, 0, 1], 4)
    x = torch.randn(2, 4, 5, 5)
    assert torch.equal(cell(x), x)
    # skip on 1<-0, 3<-0 and 3<-1, so node 3 = 2x; node 2 (all none) is zero.
    assert torch.allclose(InferCell([1, 0, 0, 1, 1, 0], 4)(x), 2 * x)
    assert torch.equal(InferCell([0] * 6, 4)(x), torch.zeros_like(x))


def test_forward_shapes_and_gradients() -> None:
    net = NB201Net(TOP_CIFAR10, 10)
    out = net(torch.randn(3, 3, 32, 32))
    assert out.shape == (3, 10)
    out.sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    assert NB201Net(TOP_CIFAR10, 120)(torch.randn(2, 3, 16, 16)).shape == (2, 120)
    assert NB201Net(nb201.parse(TOP_CIFAR10), 10).arch == TOP_CIFAR10


def test_bad_cells_give_clear_errors() -> None:
    with pytest.raises(ConfigError, match="unknown op"):
        NB201Net("|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|", 10)
    with pytest.raises(ConfigError, match="6 edges"):
        NB201Net([1, 2, 3], 10)
