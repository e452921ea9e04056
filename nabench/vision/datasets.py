"""Image datasets by name and split, with the standard NAS-Bench-201 / DARTS augmentations.

``build_dataset(name, root, split, augment=False, download=False)`` returns a map-style
:class:`ImageDataset` of ``(float32 (3, H, W) normalized image, int label)``.

Names: ``cifar10``, ``cifar100``, ``ImageNet16-120``, ``imagenet`` (case-insensitive). Splits:

* ``train`` / ``test``: the official training set and test set (ImageNet: ``train/`` and ``val/``).
* ``search-train`` / ``search-valid``: the two halves of the training set used by architecture search.
  The split is fixed and data-free: for the array datasets (CIFAR, ImageNet16-120) the first and second
  half of the training images in file order, which is DARTS's convention (``train_portion=0.5``, no
  shuffling; the files are already in random order); for ImageNet, the first and second half of each
  class's sorted file list, so both halves hold every class.

Augmentation (``augment=True``) is NAS-Bench-201's: 4-pixel zero padding + random 32x32 crop + horizontal
flip for CIFAR, 2-pixel padding + 16x16 crop + flip for ImageNet16-120; ``cutout=L`` adds DARTS's cutout
after normalization. ImageNet uses DARTS's random-resized 224 crop, flip and colour jitter (0.4, 0.4, 0.4,
hue 0.2); without augmentation, resize to 256 and centre-crop 224. Normalization constants are
NAS-Bench-201's (per dataset), ImageNet's the usual ones.

Randomness: an augmented dataset is indexed with ``(index, seed)`` pairs, as
:func:`nabench.vision.loaders.make_loader` does, and each sample's augmentation draws from a
``torch.Generator`` seeded with its seed; results therefore do not depend on worker count or process
count. Plain integer indexing of an augmented dataset draws the seed from the ``generator`` given to
:func:`build_dataset` (an error if none was given).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
import torch
from torch.utils.data import Dataset

from nabench.errors import ConfigError
from nabench.vision import transforms as T

SPLITS: tuple[str, ...] = ("train", "test", "search-train", "search-valid")


@dataclass(frozen=True)
class DatasetInfo:
    """Static facts about one dataset."""

    name: str
    num_classes: int
    image_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    crop_padding: int


def _scaled(values: tuple[float, float, float]) -> tuple[float, float, float]:
    return tuple(v / 255.0 for v in values)  # type: ignore[return-value]


INFO: dict[str, DatasetInfo] = {
    "cifar10": DatasetInfo("cifar10", 10, 32, _scaled((125.3, 123.0, 113.9)), _scaled((63.0, 62.1, 66.7)), 4),
    "cifar100": DatasetInfo("cifar100", 100, 32, _scaled((129.3, 124.1, 112.4)), _scaled((68.2, 65.4, 70.4)), 4),
    "ImageNet16-120": DatasetInfo("ImageNet16-120", 120, 16, _scaled((122.68, 116.66, 104.01)),
                                  _scaled((63.22, 61.26, 65.09)), 2),
    "imagenet": DatasetInfo("imagenet", 1000, 224, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225), 0),
}
_BY_LOWER = {k.lower(): k for k in INFO}


def canonical_name(name: str) -> str:
    """The registered spelling of a dataset name, or a :class:`ConfigError` listing the valid ones."""
    key = _BY_LOWER.get(str(name).lower())
    if key is None:
        raise ConfigError(f"unknown image dataset {name!r}; valid names are {', '.join(INFO)}")
    return key


def num_classes(name: str) -> int:
    """Number of classes of a dataset (cifar10 10, cifar100 100, ImageNet16-120 120, imagenet 1000)."""
    return INFO[canonical_name(name)].num_classes


def image_size(name: str) -> int:
    """Side length of the network input for a dataset."""
    return INFO[canonical_name(name)].image_size


def make_transform(name: str, augment: bool, cutout: int = 0) -> T.Compose:
    """The per-sample transform of a dataset (see the module docstring for what each one does)."""
    info = INFO[canonical_name(name)]
    norm = T.Normalize(info.mean, info.std)
    if info.name == "imagenet":
        if augment:
            steps = [T.RandomResizedCrop(224), T.RandomHorizontalFlip(), T.PILToTensor(), T.ToFloat(),
                     T.ColorJitter(0.4, 0.4, 0.4, 0.2), norm]
        else:
            steps = [T.ResizeCenterCrop(256, 224), T.PILToTensor(), T.ToFloat(), norm]
    elif augment:
        steps = [T.RandomCrop(info.image_size, info.crop_padding), T.RandomHorizontalFlip(), T.ToFloat(), norm]
    else:
        steps = [T.ToFloat(), norm]
    if cutout:
        if not augment:
            raise ConfigError("cutout is a training augmentation; use it with augment=True")
        steps.append(T.Cutout(int(cutout)))
    return T.Compose(steps)


class ImageDataset(Dataset):
    """Images (an in-memory ``uint8`` tensor or a list of files) with labels and a per-sample transform."""

    def __init__(self, name: str, split: str, images: torch.Tensor | list[str], labels: torch.Tensor,
                 transform: T.Compose, generator: torch.Generator | None = None) -> None:
        if len(images) != len(labels):
            raise ValueError(f"{len(images)} images but {len(labels)} labels")
        self.name, self.split = name, split
        self.images, self.labels = images, labels
        self.transform = transform
        self.generator = generator
        self.num_classes = INFO[name].num_classes

    @property
    def random(self) -> bool:
        """Whether items depend on a seed (an augmented dataset)."""
        return self.transform.random

    def __len__(self) -> int:
        return len(self.labels)

    def _load(self, index: int) -> object:
        if isinstance(self.images, torch.Tensor):
            return self.images[index]
        from PIL import Image

        with Image.open(self.images[index]) as im:
            return im.convert("RGB")

    def __getitem__(self, item: int | tuple[int, int]) -> tuple[torch.Tensor, int]:
        if isinstance(item, tuple):
            index, seed = item
        else:
            index, seed = item, None
        generator = None
        if self.transform.random:
            if seed is None:
                if self.generator is None:
                    raise ConfigError(
                        f"{self.name} {self.split} is augmented, so its random crops need a seed: load it with "
                        "nabench.vision.loaders.make_loader, index it with (index, seed), or pass generator= "
                        "to build_dataset"
                    )
                seed = int(torch.randint(0, 2**62, (1,), generator=self.generator))
            generator = torch.Generator().manual_seed(int(seed))
        return self.transform(self._load(int(index)), generator), int(self.labels[index])

    def __repr__(self) -> str:
        return f"ImageDataset({self.name!r}, split={self.split!r}, n={len(self)}, transform={self.transform})"


def _halves(n: int) -> tuple[slice, slice]:
    half = n // 2
    return slice(0, half), slice(half, n)


def _per_class_halves(labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    first, second = [], []
    for c in torch.unique(labels).tolist():
        idx = torch.nonzero(labels == c).flatten()
        first.append(idx[: len(idx) // 2])
        second.append(idx[len(idx) // 2:])
    return torch.cat(first), torch.cat(second)


def _load_raw(name: str, root: Path, train: bool, download: bool) -> tuple[torch.Tensor | list[str], torch.Tensor]:
    if name in ("cifar10", "cifar100"):
        from nabench.vision.cifar import load_cifar

        return load_cifar(name, root, train, download)
    if download:
        raise ConfigError(f"{name} cannot be downloaded automatically (it needs a licence/account); "
                          "put it under --data-root by hand and leave out --download")
    if name == "ImageNet16-120":
        from nabench.vision.imagenet16 import load_imagenet16

        return load_imagenet16(root, train)
    from nabench.vision.imagenet import load_imagenet

    paths, labels, _ = load_imagenet(root, train)
    return paths, labels


def build_dataset(name: str, root: str | Path, split: str, augment: bool = False, download: bool = False,
                  cutout: int = 0, generator: torch.Generator | None = None) -> ImageDataset:
    """A dataset by name and split (see the module docstring); missing data raises a clear NabenchError."""
    key = canonical_name(name)
    if split not in SPLITS:
        raise ConfigError(f"unknown split {split!r}; valid splits are {', '.join(SPLITS)}")
    images, labels = _load_raw(key, Path(root).expanduser(), split != "test", download)
    if split.startswith("search-"):
        if isinstance(images, torch.Tensor):
            part = _halves(len(labels))[0 if split == "search-train" else 1]
            images, labels = images[part], labels[part]
        else:
            idx = _per_class_halves(labels)[0 if split == "search-train" else 1]
            images, labels = [images[i] for i in idx.tolist()], labels[idx]
    return ImageDataset(key, split, images, labels, make_transform(key, augment, cutout), generator)

