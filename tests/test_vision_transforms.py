"""Torch transforms: what they keep, what they change, and that their randomness follows the generator."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch", reason='needs PyTorch: pip install "nabench[torch]"')
from PIL import Image

from nabench.vision import transforms as T

# One intra-op thread: with two test workers on two cores, more threads oversubscribe and spin.
torch.set_num_threads(1)


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_random_crop_is_a_window_of_the_padded_image() -> None:
    img = torch.arange(3 * 8 * 8, dtype=torch.int64).reshape(3, 8, 8).to(torch.uint8)
    padded = torch.nn.functional.pad(img, (2, 2, 2, 2))
    crops = [T.RandomCrop(8, 2)(img, _gen(s)) for s in range(20)]
    for c in crops:
        hits = [(i, j) for i in range(5) for j in range(5) if torch.equal(padded[:, i:i + 8, j:j + 8], c)]
        assert hits
    assert len({c.sum().item() for c in crops}) > 1


def test_flip_and_cutout() -> None:
    img = torch.rand(3, 32, 32)
    flips = [T.RandomHorizontalFlip()(img, _gen(s)) for s in range(20)]
    assert any(torch.equal(f, img.flip(-1)) for f in flips) and any(torch.equal(f, img) for f in flips)
    out = T.Cutout(16)(img + 1, _gen(0))
    zeros = (out == 0).all(0)
    assert 0 < int(zeros.sum()) <= 256
    rows, cols = zeros.any(1).nonzero().flatten(), zeros.any(0).nonzero().flatten()
    assert int(zeros.sum()) == len(rows) * len(cols)  # one rectangle
    assert torch.equal(T.Cutout(16)(img, _gen(4)), T.Cutout(16)(img, _gen(4)))


def test_hsv_round_trip_and_jitter_ranges() -> None:
    img = torch.rand(3, 10, 10, generator=_gen(1))
    assert torch.allclose(T._hsv_to_rgb(T._rgb_to_hsv(img)), img, atol=1e-5)
    out = T.ColorJitter(0.4, 0.4, 0.4, 0.2)(img, _gen(2))
    assert out.shape == img.shape and float(out.min()) >= 0 and float(out.max()) <= 1
    assert not torch.allclose(out, img)
    assert torch.equal(out, T.ColorJitter(0.4, 0.4, 0.4, 0.2)(img, _gen(2)))


def test_pil_crops_have_the_requested_size() -> None:
    image = Image.new("RGB", (90, 60), (10, 20, 30))
    rrc = T.RandomResizedCrop(32)
    for s in range(10):
        left, top, w, h = rrc.box(90, 60, _gen(s))
        assert 0 <= left and left + w <= 90 and 0 <= top and top + h <= 60
        assert rrc(image, _gen(s)).size == (32, 32)
    centre = T.ResizeCenterCrop(40, 32)(image, None)
    assert centre.size == (32, 32)
    tensor = T.PILToTensor()(centre, None)
    assert tensor.shape == (3, 32, 32) and tensor.dtype == torch.uint8 and tensor[2, 0, 0] == 30
    assert T.Compose([rrc, T.PILToTensor()]).random and not T.Compose([T.ToFloat()]).random
