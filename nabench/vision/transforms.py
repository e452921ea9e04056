"""Image transforms written in torch (and Pillow for decoding-size work), with explicit randomness.

torchvision cannot be installed beside this torch build, so the few transforms the NAS-Bench-201 and
DARTS recipes need are written here. Every transform is a callable ``(image, generator) -> image``;
random ones draw only from the ``torch.Generator`` they are given (one per sample, seeded by the
sampler, see :mod:`nabench.vision.loaders`), so augmentation is reproducible for any worker count.

Array images are ``uint8`` tensors ``(3, H, W)``; folder images are ``PIL.Image`` until
:class:`PILToTensor`. The semantics follow torchvision's transforms of the same names, which the
original NAS-Bench-201 and DARTS code used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import torch
import torch.nn.functional as F


def _randint(low: int, high: int, generator: torch.Generator | None) -> int:
    """A uniform integer in ``[low, high)`` from ``generator``."""
    if generator is None:
        raise ValueError("a random transform needs a torch.Generator")
    return int(torch.randint(low, high, (1,), generator=generator))


def _uniform(low: float, high: float, generator: torch.Generator | None) -> float:
    if generator is None:
        raise ValueError("a random transform needs a torch.Generator")
    return low + (high - low) * float(torch.rand((), generator=generator, dtype=torch.float64))


class Compose:
    """Apply transforms in order; ``random`` tells whether any of them draws random numbers."""

    def __init__(self, transforms: Sequence[Any]) -> None:
        self.transforms = list(transforms)
        self.random = any(getattr(t, "random", False) for t in self.transforms)

    def __call__(self, image: Any, generator: torch.Generator | None = None) -> Any:
        for t in self.transforms:
            image = t(image, generator)
        return image

    def __repr__(self) -> str:
        return f"Compose({self.transforms})"


@dataclass(frozen=True)
class RandomCrop:
    """Zero-pad by ``padding`` on every side, then crop ``size`` x ``size`` at a random offset."""

    size: int
    padding: int
    random = True

    def __call__(self, image: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        p = self.padding
        padded = F.pad(image, (p, p, p, p)) if p else image
        h, w = padded.shape[-2:]
        top = _randint(0, h - self.size + 1, generator)
        left = _randint(0, w - self.size + 1, generator)
        return padded[..., top:top + self.size, left:left + self.size]


@dataclass(frozen=True)
class RandomHorizontalFlip:
    """Mirror left-right with probability ``p``; works on tensors and PIL images."""

    p: float = 0.5
    random = True

    def __call__(self, image: Any, generator: torch.Generator | None) -> Any:
        if _uniform(0.0, 1.0, generator) >= self.p:
            return image
        if isinstance(image, torch.Tensor):
            return image.flip(-1)
        from PIL import Image

        return image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)


@dataclass(frozen=True)
class ToFloat:
    """``uint8`` in 0..255 to ``float32`` in [0, 1]."""

    random = False

    def __call__(self, image: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        return image.to(torch.float32).div_(255.0)


class Normalize:
    """Subtract the per-channel mean and divide by the standard deviation (both on the [0, 1] scale)."""

    random = False

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        self.mean = torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32).view(-1, 1, 1)

    def __call__(self, image: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        return (image - self.mean) / self.std

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean.flatten().tolist()}, std={self.std.flatten().tolist()})"


@dataclass(frozen=True)
class Cutout:
    """Zero a ``length`` x ``length`` square centred at a uniform random pixel, clipped at the border.

    DeVries & Taylor (2017), as in the DARTS evaluation code: applied after normalization, one hole.
    """

    length: int
    random = True

    def __call__(self, image: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        h, w = image.shape[-2:]
        y, x = _randint(0, h, generator), _randint(0, w, generator)
        half = self.length // 2
        y1, y2 = max(0, y - half), min(h, y + half)
        x1, x2 = max(0, x - half), min(w, x + half)
        image = image.clone()
        image[..., y1:y2, x1:x2] = 0.0
        return image


@dataclass(frozen=True)
class RandomResizedCrop:
    """Crop a random area fraction (``scale``) and aspect ratio (``ratio``), resized to ``size`` (PIL).

    torchvision's algorithm: up to 10 tries to fit the sampled box, else a central crop clipped to the
    ratio range; bilinear resampling.
    """

    size: int
    scale: tuple[float, float] = (0.08, 1.0)
    ratio: tuple[float, float] = (3.0 / 4.0, 4.0 / 3.0)
    random = True

    def box(self, width: int, height: int, generator: torch.Generator | None) -> tuple[int, int, int, int]:
        """The crop ``(left, top, w, h)`` for an image of the given size."""
        area = width * height
        log_lo, log_hi = math.log(self.ratio[0]), math.log(self.ratio[1])
        for _ in range(10):
            target = area * _uniform(self.scale[0], self.scale[1], generator)
            aspect = math.exp(_uniform(log_lo, log_hi, generator))
            w = int(round(math.sqrt(target * aspect)))
            h = int(round(math.sqrt(target / aspect)))
            if 0 < w <= width and 0 < h <= height:
                return _randint(0, width - w + 1, generator), _randint(0, height - h + 1, generator), w, h
        in_ratio = width / height
        if in_ratio < min(self.ratio):
            w, h = width, int(round(width / min(self.ratio)))
        elif in_ratio > max(self.ratio):
            w, h = int(round(height * max(self.ratio))), height
        else:
            w, h = width, height
        return (width - w) // 2, (height - h) // 2, w, h

    def __call__(self, image: Any, generator: torch.Generator | None) -> Any:
        from PIL import Image

        left, top, w, h = self.box(image.width, image.height, generator)
        return image.resize((self.size, self.size), Image.Resampling.BILINEAR, box=(left, top, left + w, top + h))


@dataclass(frozen=True)
class ResizeCenterCrop:
    """Resize the shorter side to ``resize`` (bilinear), then take the central ``size`` x ``size`` (PIL)."""

    resize: int
    size: int
    random = False

    def __call__(self, image: Any, generator: torch.Generator | None) -> Any:
        from PIL import Image

        w, h = image.size
        if w <= h:
            ow, oh = self.resize, int(self.resize * h / w)
        else:
            ow, oh = int(self.resize * w / h), self.resize
        image = image.resize((ow, oh), Image.Resampling.BILINEAR)
        top = int(round((oh - self.size) / 2.0))
        left = int(round((ow - self.size) / 2.0))
        return image.crop((left, top, left + self.size, top + self.size))


@dataclass(frozen=True)
class PILToTensor:
    """An RGB PIL image to a ``uint8`` tensor ``(3, H, W)``."""

    random = False

    def __call__(self, image: Any, generator: torch.Generator | None) -> torch.Tensor:
        import numpy as np

        array = np.asarray(image.convert("RGB"), dtype=np.uint8)
        return torch.from_numpy(array.copy()).permute(2, 0, 1).contiguous()


def _grayscale(image: torch.Tensor) -> torch.Tensor:
    r, g, b = image.unbind(0)
    return (0.299 * r + 0.587 * g + 0.114 * b).unsqueeze(0)


def _rgb_to_hsv(image: torch.Tensor) -> torch.Tensor:
    r, g, b = image.unbind(0)
    maxc, _ = image.max(0)
    minc, _ = image.min(0)
    delta = maxc - minc
    safe = torch.where(delta > 0, delta, torch.ones_like(delta))
    s = torch.where(maxc > 0, delta / torch.where(maxc > 0, maxc, torch.ones_like(maxc)), torch.zeros_like(maxc))
    rc, gc, bc = (maxc - r) / safe, (maxc - g) / safe, (maxc - b) / safe
    h = torch.where(maxc == r, bc - gc, torch.where(maxc == g, 2.0 + rc - bc, 4.0 + gc - rc))
    h = torch.where(delta > 0, (h / 6.0) % 1.0, torch.zeros_like(h))
    return torch.stack([h, s, maxc])


def _hsv_to_rgb(hsv: torch.Tensor) -> torch.Tensor:
    h, s, v = hsv.unbind(0)
    i = torch.floor(h * 6.0)
    f = h * 6.0 - i
    i = i.to(torch.int64) % 6
    p, q, t = v * (1.0 - s), v * (1.0 - s * f), v * (1.0 - s * (1.0 - f))
    choices = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)]
    out = torch.zeros_like(hsv)
    for k, (rr, gg, bb) in enumerate(choices):
        mask = i == k
        out[0] = torch.where(mask, rr, out[0])
        out[1] = torch.where(mask, gg, out[1])
        out[2] = torch.where(mask, bb, out[2])
    return out


@dataclass(frozen=True)
class ColorJitter:
    """Random brightness, contrast, saturation and hue on a float image in [0, 1], in random order.

    Factors are drawn from ``[1 - x, 1 + x]`` (hue: a shift in ``[-hue, hue]`` turns), as torchvision's
    ``ColorJitter`` that the DARTS ImageNet recipe uses.
    """

    brightness: float = 0.0
    contrast: float = 0.0
    saturation: float = 0.0
    hue: float = 0.0
    random = True

    def __call__(self, image: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        order = torch.randperm(4, generator=generator).tolist()
        for k in order:
            if k == 0 and self.brightness > 0:
                image = (image * _uniform(1 - self.brightness, 1 + self.brightness, generator)).clamp_(0, 1)
            elif k == 1 and self.contrast > 0:
                factor = _uniform(1 - self.contrast, 1 + self.contrast, generator)
                mean = _grayscale(image).mean()
                image = (factor * image + (1 - factor) * mean).clamp_(0, 1)
            elif k == 2 and self.saturation > 0:
                factor = _uniform(1 - self.saturation, 1 + self.saturation, generator)
                image = (factor * image + (1 - factor) * _grayscale(image)).clamp_(0, 1)
            elif k == 3 and self.hue > 0:
                shift = _uniform(-self.hue, self.hue, generator)
                hsv = _rgb_to_hsv(image)
                hsv[0] = (hsv[0] + shift) % 1.0
                image = _hsv_to_rgb(hsv)
        return image
