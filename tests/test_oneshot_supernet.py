"""The NAS-Bench-201 supernet (fused vs per-edge reference, batched groups) and the DARTS search network."""

from __future__ import annotations

import numpy as np
import pytest
torch = pytest.importorskip("torch", reason='needs PyTorch: pip install "nabench[torch]"')
import torch.nn.functional as F

from nabench.models.ops import ResNetBasicBlock
from nabench.oneshot.darts_network import DartsSearchNetwork, derive_genotype
from nabench.oneshot.layers import ReductionBlock, grouped_batch_norm
from nabench.train.initialization import init_parameters
from nabench.oneshot.nb201_supernet import NB201Supernet
from nabench.oneshot.reference import ReferenceNB201Supernet, copy_into_fused
from nabench.spaces import darts, nb201



def _pair(seed: int = 0, C: int = 4, N: int = 1):
    g = torch.Generator().manual_seed(seed)
    ref = ReferenceNB201Supernet(10, C=C, N=N).double()
    init_parameters(ref, g, strict=False)
    with torch.no_grad():
        ref.alpha.normal_(generator=g)
    fused = NB201Supernet(10, C=C, N=N).double()
    copy_into_fused(ref, fused)
    x = torch.randn(6, 3, 8, 8, generator=g, dtype=torch.float64)
    y = torch.randint(0, 10, (6,), generator=g)
    return ref, fused, x, y


def test_fused_supernet_computes_the_per_edge_supernet():
    ref, fused, x, y = _pair(N=2)
    assert sum(p.numel() for p in ref.parameters()) == sum(p.numel() for p in fused.parameters())
    la = F.cross_entropy(ref(x, ref.alpha.softmax(-1)), y)
    lb = F.cross_entropy(fused(x, fused.alpha.softmax(-1)), y)
    assert torch.allclose(la, lb, atol=1e-10)
    la.backward()
    lb.backward()
    assert ref.alpha.grad.abs().max() > 1e-4
    assert torch.allclose(ref.alpha.grad, fused.alpha.grad, atol=1e-9)
    # a conv weight of one edge gets the same gradient in both layouts
    conv = ref.layers[0].edges[nb201.EDGES.index((3, 1))].ops[nb201.OPS.index("nor_conv_3x3")][1]
    fused_grad = fused.layers[0].edge_conv_weight(3, 1, "nor_conv_3x3")
    assert torch.allclose(conv.weight.grad, fused.layers[0].conv3[1].grad[(3 - 1 - 1) * 4:(3 - 1) * 4], atol=1e-9)
    assert fused_grad.shape == conv.weight.shape


def test_one_hot_weights_select_one_cell():
    """With one-hot weights on `none` everywhere except a chain of skips, the cell is the identity."""
    _, fused, x, _ = _pair()
    w = torch.zeros(6, 5, dtype=torch.float64)
    w[:, nb201.OPS.index("none")] = 1.0
    for e in (0, 4):  # 1<-0 skip, 3<-1 skip: node 3 = x
        w[e] = 0.0
        w[e, nb201.OPS.index("skip_connect")] = 1.0
    h = fused.stem_bn(fused.stem(x))
    assert torch.equal(fused.layers[0](h, w.unsqueeze(0), 1), h)


def test_batched_groups_equal_separate_passes():
    _, fused, x, y = _pair(seed=1, N=2)
    g = torch.Generator().manual_seed(3)
    w = torch.randn(3, 6, 5, generator=g, dtype=torch.float64).softmax(-1).requires_grad_(True)
    batched = fused(x, w).view(3, len(x), 10)
    for k in range(3):
        assert torch.allclose(batched[k], fused(x, w[k]), atol=1e-10)
    # gradients too: sum of per-group losses
    gb = torch.autograd.grad(sum(F.cross_entropy(batched[k], y) for k in range(3)), w)[0]
    gs = torch.stack([torch.autograd.grad(F.cross_entropy(fused(x, w[k]), y), w)[0][k] for k in range(3)])
    assert torch.allclose(gb, gs, atol=1e-9)


@pytest.mark.parametrize("fmt", [torch.contiguous_format, torch.channels_last])
def test_grouped_batch_norm_normalizes_each_group_apart(fmt):
    g = torch.Generator().manual_seed(0)
    x = (torch.randn(12, 5, 4, 4, generator=g) * torch.arange(1, 13).view(12, 1, 1, 1)).contiguous(memory_format=fmt)
    wt, b = torch.randn(5, generator=g), torch.randn(5, generator=g)
    out = grouped_batch_norm(x, 3, wt, b)
    expect = torch.cat([F.batch_norm(c, None, None, wt, b, training=True) for c in x.chunk(3)])
    assert torch.allclose(out, expect, atol=1e-5)
    assert out.is_contiguous(memory_format=fmt)
    with pytest.raises(ValueError, match="equal groups"):
        grouped_batch_norm(x, 5)


def test_reduction_block_matches_resnet_basic_block():
    g = torch.Generator().manual_seed(0)
    ref = ResNetBasicBlock(4, 8, 2, True, False)
    init_parameters(ref, g, strict=False)
    block = ReductionBlock(4, 8)
    with torch.no_grad():
        for half in ("conv_a", "conv_b"):
            getattr(block, half).conv.weight.copy_(getattr(ref, half)[1].weight)
        block.shortcut.weight.copy_(ref.downsample[1].weight)
    x = torch.randn(5, 4, 8, 8, generator=g)
    assert torch.allclose(block(x), ref(x), atol=1e-5)


def test_derive_takes_argmax_including_none():
    net = NB201Supernet(10, C=4, N=1)
    with torch.no_grad():
        net.alpha.zero_()
        net.alpha[:, nb201.OPS.index("nor_conv_3x3")] = 1.0
        net.alpha[2, nb201.OPS.index("none")] = 2.0
    assert net.derive() == (3, 3, 0, 3, 3, 3)
    assert net.derive_str() == "|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
    with pytest.raises(ValueError, match="shape"):
        net(torch.zeros(2, 3, 8, 8), torch.zeros(6, 4))


def test_darts_network_forward_and_genotype():
    net = DartsSearchNetwork(10, C=4, layers=3)
    init_parameters(net, torch.Generator().manual_seed(0), strict=False)
    assert net.alpha.shape == (28, 8)
    x = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    logits = net(x, net.alpha.softmax(-1))
    assert logits.shape == (2, 10)
    logits.sum().backward()
    assert net.alpha.grad is not None and net.alpha.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="one architecture"):
        net(x, torch.rand(2, 28, 8))
    g = net.derive()
    assert darts.validate(g) == g


def test_genotype_rule_is_darts_top2_without_none():
    w = np.full((28, 8), 0.01)
    none, sep3, maxp, skip = (darts.PRIMITIVES.index(n) for n in ("none", "sep_conv_3x3", "max_pool_3x3", "skip_connect"))
    w[:, none] = 0.9                      # none dominates everywhere: never chosen
    w[0, sep3], w[1, skip] = 0.3, 0.2     # node 0: inputs 0 (sep3) and 1 (skip)
    w[2, sep3], w[3, sep3], w[4, maxp] = 0.05, 0.2, 0.4   # node 1: strongest inputs 2 (max_pool) and 1 (sep3)
    w[14 + 13, maxp] = 0.5                # reduce node 3: input 4 first
    g = derive_genotype(w)
    assert g.normal[:4] == [("sep_conv_3x3", 0), ("skip_connect", 1), ("max_pool_3x3", 2), ("sep_conv_3x3", 1)]
    assert g.reduce[6] == ("max_pool_3x3", 4)
    assert all(op != "none" for op, _ in g.normal + g.reduce)
    assert g.normal_concat == g.reduce_concat == [2, 3, 4, 5]
    assert darts.parse(darts.to_str(g)) == g
