"""ImageNet (ILSVRC-2012) as a class-per-folder tree, decoded with Pillow.

Layout: ``root/train/<class>/<image>`` and ``root/val/<class>/<image>``; classes are the sorted folder
names of ``train`` (the WordNet ids, giving the usual 0..999 labels), and ``val`` must use the same names.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from nabench.errors import DataNotFoundError, IntegrityError

EXTENSIONS = (".jpeg", ".jpg", ".png", ".bmp", ".webp")
SPLIT_FOLDERS = {True: "train", False: "val"}
SOURCE = ("ILSVRC-2012 from https://image-net.org/download-images, with the validation images sorted into "
          "one folder per class (e.g. with the widely used valprep.sh)")


def scan(folder: Path) -> tuple[list[str], list[str], list[int]]:
    """Sorted class names, image paths and labels of a class-per-folder tree."""
    if not folder.is_dir():
        raise DataNotFoundError(f"ImageNet folder {folder} not found: expected {folder}/<class>/<image>.JPEG; "
                                f"get {SOURCE}, then point --data-root at the folder holding train/ and val/")
    classes = sorted(e.name for e in os.scandir(folder) if e.is_dir())
    if not classes:
        raise DataNotFoundError(f"{folder} holds no class folders; it must be a class-per-folder tree ({SOURCE})")
    paths, labels = [], []
    for label, name in enumerate(classes):
        files = sorted(e.name for e in os.scandir(folder / name)
                       if e.is_file() and e.name.lower().endswith(EXTENSIONS))
        paths.extend(str(folder / name / f) for f in files)
        labels.extend([label] * len(files))
    if not paths:
        raise DataNotFoundError(f"{folder} holds no images with extensions {EXTENSIONS}")
    return classes, paths, labels


def load_imagenet(root: Path, train: bool) -> tuple[list[str], torch.Tensor, list[str]]:
    """Image paths, labels ``int64`` and class names of the train or val tree (labels from the train classes)."""
    root = Path(root)
    train_classes = _classes(root / "train")
    classes, paths, labels = scan(root / SPLIT_FOLDERS[train])
    if classes != train_classes:
        extra = sorted(set(classes) - set(train_classes))[:3]
        missing = sorted(set(train_classes) - set(classes))[:3]
        raise IntegrityError(f"{root}/val and {root}/train hold different class folders (only in val: {extra}, "
                             f"only in train: {missing}); both must hold one folder per class with the same names")
    return paths, torch.tensor(labels, dtype=torch.int64), classes


def _classes(folder: Path) -> list[str]:
    if not folder.is_dir():
        raise DataNotFoundError(f"ImageNet not found: {folder} does not exist; expected {folder.parent}/train/<class>/ "
                                f"and {folder.parent}/val/<class>/ ({SOURCE})")
    return sorted(e.name for e in os.scandir(folder) if e.is_dir())
