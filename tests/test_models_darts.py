"""The DARTS evaluation networks: published parameter counts, auxiliary head, drop-path, errors."""

from __future__ import annotations

import pytest
torch = pytest.importorskip("torch", reason='needs PyTorch: pip install "nabench[torch]"')

from nabench.models.darts_net import network_cifar, network_imagenet
from nabench.spaces.darts import DARTS_V2, Genotype, GenotypeError, parse

# One intra-op thread: with two test workers on two cores, more threads oversubscribe and spin.


def test_darts_v2_cifar10_has_the_published_3_3m_parameters() -> None:
    net = network_cifar(DARTS_V2, num_classes=10)
    # DARTS convention: without the auxiliary head (its count_parameters_in_MB skips "auxiliary").
    assert net.param_count() == 3_349_342
    assert round(net.param_count() / 1e6, 1) == 3.3
    assert net.param_count(with_auxiliary=True) == 3_825_768
    assert len(net.cells) == 20 and [c.reduction for c in net.cells].count(True) == 2


def test_darts_v2_imagenet_mobile_has_4_7m_parameters() -> None:
    net = network_imagenet(DARTS_V2)
    assert net.param_count() == 4_718_752 and round(net.param_count() / 1e6, 1) == 4.7
    assert len(net.cells) == 14


def test_auxiliary_output_only_in_training() -> None:
    net = network_cifar(DARTS_V2, num_classes=10, layers=5, C=8)
    net.train()
    logits, aux = net(torch.randn(2, 3, 32, 32))
    assert logits.shape == aux.shape == (2, 10)
    net.eval()
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    no_aux = network_cifar(DARTS_V2, num_classes=10, layers=5, C=8, auxiliary=False).train()
    assert no_aux(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_drop_path_masks() -> None:
    net = network_cifar(DARTS_V2, num_classes=10, layers=5, C=8)
    gen = torch.Generator().manual_seed(0)
    assert net.drop_path_masks(4, 0.0, gen) is None
    masks = net.drop_path_masks(4000, 0.2, gen)
    assert masks.shape == (5, 8, 4000)
    assert set(masks.unique().tolist()) == {0.0, 1.25}
    assert abs(float((masks == 0).float().mean()) - 0.2) < 0.01
    again = net.drop_path_masks(4000, 0.2, torch.Generator().manual_seed(0))
    assert torch.equal(again, net.drop_path_masks(4000, 0.2, torch.Generator().manual_seed(0)))
    x = torch.randn(2, 3, 32, 32)
    net.train()
    all_dropped = torch.zeros(5, 8, 2)
    out_dropped = net(x, all_dropped)[0]
    out_kept = net(x, torch.ones(5, 8, 2))[0]
    assert not torch.allclose(out_dropped, out_kept)
    assert torch.allclose(out_kept, net(x)[0])  # masks of 1 change nothing


def test_imagenet_forward_shape() -> None:
    net = network_imagenet(DARTS_V2, num_classes=7, layers=5, C=8).train()
    logits, aux = net(torch.randn(2, 3, 224, 224))
    assert logits.shape == aux.shape == (2, 7)


def test_bad_genotypes_give_clear_errors() -> None:
    bad = Genotype(normal=[("conv_7x7", 0)] * 8, normal_concat=[2, 3, 4, 5],
                   reduce=DARTS_V2.reduce, reduce_concat=[2, 3, 4, 5])
    with pytest.raises(GenotypeError, match="unknown op"):
        network_cifar(bad)
    with pytest.raises(GenotypeError, match="named genotype"):
        parse("darts-v9")
