"""Tiny random datasets written in the real on-disk formats, for smoke tests and examples.

Each writer produces exactly the layout :func:`nabench.vision.datasets.build_dataset` reads (CIFAR
python batches and ``.tar.gz``, ImageNet16 pickles, an ImageNet class-per-folder tree of PNGs), so tests
exercise the real readers without a download. Pixels and labels come from the ``numpy.random.Generator``
given. Images carry a faint class-dependent pattern so that a network can learn them a little.
"""

from __future__ import annotations

import hashlib
import pickle
import tarfile
from pathlib import Path

import numpy as np

from nabench.vision.cifar import ARCHIVES


def _images(rng: np.random.Generator, labels: np.ndarray, size: int, n_classes: int) -> np.ndarray:
    """``uint8 (N, 3, size, size)``: noise plus a brightness ramp whose direction depends on the label."""
    n = len(labels)
    noise = rng.integers(0, 96, size=(n, 3, size, size))
    ramp = np.linspace(0, 150, size)
    pattern = np.where((labels % 2 == 0)[:, None, None], ramp[None, :, None], ramp[None, None, :])
    shade = (labels % max(1, n_classes))[:, None, None, None] * (60 // max(1, min(n_classes, 6)))
    return np.clip(noise + pattern[:, None] + shade, 0, 255).astype(np.uint8)


def _dump(obj: dict, path: Path) -> None:
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=2)


def write_cifar(root: Path, name: str, n_train: int, n_test: int, rng: np.random.Generator,
                archive: bool = False) -> Path:
    """A CIFAR-10/100 folder (or, with ``archive=True``, only its ``.tar.gz``) under ``root``; returns it."""
    spec = ARCHIVES[name]
    n_classes = 10 if name == "cifar10" else 100
    root = Path(root)
    folder = root / spec.folder
    folder.mkdir(parents=True, exist_ok=True)
    per_file = np.array_split(np.arange(n_train), len(spec.train_files))
    for fname, idx in zip(spec.train_files, per_file):
        y = rng.integers(0, n_classes, size=len(idx))
        _dump({"data": _images(rng, y, 32, n_classes).reshape(len(y), -1), spec.label_key: y.tolist()}, folder / fname)
    for fname in spec.test_files:
        y = rng.integers(0, n_classes, size=n_test)
        _dump({"data": _images(rng, y, 32, n_classes).reshape(n_test, -1), spec.label_key: y.tolist()}, folder / fname)
    if not archive:
        return folder
    tar_path = root / spec.filename
    with tarfile.open(tar_path, "w:gz") as tar:
        tar.add(folder, arcname=spec.folder)
    for f in folder.iterdir():
        f.unlink()
    folder.rmdir()
    return tar_path


def write_imagenet16(root: Path, n_per_file: int, rng: np.random.Generator) -> dict[str, str]:
    """``root/ImageNet16`` with 10 train files and ``val_data`` (labels 1..1000, about 1 in 4 within 1..120).

    Returns the MD5 of each file, to stand in for :data:`nabench.vision.imagenet16.MD5` in tests.
    """
    from nabench.vision.imagenet16 import TEST_FILES, TRAIN_FILES

    folder = Path(root) / "ImageNet16"
    folder.mkdir(parents=True, exist_ok=True)
    md5 = {}
    for fname in TRAIN_FILES + TEST_FILES:
        y = np.where(rng.random(n_per_file) < 0.25, rng.integers(1, 121, n_per_file), rng.integers(121, 1001, n_per_file))
        _dump({"data": _images(rng, y, 16, 120).reshape(n_per_file, -1), "labels": y.tolist()}, folder / fname)
        md5[fname] = hashlib.md5((folder / fname).read_bytes(), usedforsecurity=False).hexdigest()
    return md5


def write_imagenet(root: Path, classes: list[str], n_train: int, n_val: int, rng: np.random.Generator) -> Path:
    """A class-per-folder tree ``root/{train,val}/<class>/*.png`` of small images of varied sizes."""
    from PIL import Image

    root = Path(root)
    for split, n in (("train", n_train), ("val", n_val)):
        for label, cls in enumerate(classes):
            d = root / split / cls
            d.mkdir(parents=True, exist_ok=True)
            for k in range(n):
                h, w = int(rng.integers(24, 64)), int(rng.integers(24, 64))
                pixels = _images(rng, np.array([label]), max(h, w), len(classes))[0, :, :h, :w]
                Image.fromarray(pixels.transpose(1, 2, 0)).save(d / f"{cls}_{k:04d}.png")
    return root
