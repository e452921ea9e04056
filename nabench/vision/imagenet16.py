"""ImageNet16-120 in NAS-Bench-201's format: the 16x16 "Downsampled ImageNet" pickles, first 120 classes.

The files are ``train_data_batch_1`` .. ``train_data_batch_10`` and ``val_data`` (Chrabaszcz et al.,
2017, "A Downsampled Variant of ImageNet as an Alternative to the CIFAR datasets"), each a pickled dict
with ``data`` (N x 768 ``uint8``, channel-major) and ``labels`` (1..1000). As NAS-Bench-201 does, only
labels 1..120 are kept and 1 is subtracted. The files are checked against the MD5s NAS-Bench-201 lists.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from nabench.errors import DataNotFoundError, IntegrityError
from nabench.vision.archives import load_pickle, verify_md5

N_CLASSES = 120
SOURCE = ("the 16x16 'Downsampled ImageNet' (Imagenet16_train.zip and Imagenet16_val.zip) from "
          "https://image-net.org/download-images (free account)")

#: File -> MD5, as listed by NAS-Bench-201's ``ImageNet16`` dataset class.
MD5: dict[str, str] = {
    "train_data_batch_1": "27846dcaa50de8e21a7d1a35f30f0e91",
    "train_data_batch_2": "c7254a054e0e795c69120a5727050e3f",
    "train_data_batch_3": "4333d3df2e5ffb114b05d2ffc19b1e87",
    "train_data_batch_4": "1620cdf193304f4a92677b695d70d10f",
    "train_data_batch_5": "348b3c2fdbb3940c4e9e834affd3b18d",
    "train_data_batch_6": "6e765307c242a1b3d7d5ef9139b48945",
    "train_data_batch_7": "564926d8cbf8fc4818ba23d2faac7564",
    "train_data_batch_8": "f4755871f718ccb653440b9dd0ebac66",
    "train_data_batch_9": "bb6dd660c38c58552125b1a92f86b5d4",
    "train_data_batch_10": "8f03f34ac4b42271a294f91bf480f29b",
    "val_data": "3410e3017fdaefba8d5073aaa65e4bd6",
}
TRAIN_FILES = tuple(f"train_data_batch_{i}" for i in range(1, 11))
TEST_FILES = ("val_data",)


def find_folder(root: Path) -> Path:
    """``root/ImageNet16`` (NAS-Bench-201's layout) or ``root`` itself, whichever holds the files."""
    for folder in (root / "ImageNet16", root):
        if (folder / "val_data").is_file() or (folder / "train_data_batch_1").is_file():
            return folder
    raise DataNotFoundError(
        f"ImageNet16-120 not found in {root}: expected {root}/ImageNet16/train_data_batch_1..10 and val_data. "
        f"Download {SOURCE}, unzip both into {root}/ImageNet16/, or point --data-root at the folder that holds them"
    )


def load_imagenet16(root: Path, train: bool, verify: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Images ``uint8 (N, 3, 16, 16)`` and labels ``int64`` in 0..119 of the train or validation files."""
    folder = find_folder(Path(root))
    images, labels = [], []
    for fname in TRAIN_FILES if train else TEST_FILES:
        path = folder / fname
        if not path.is_file():
            raise DataNotFoundError(f"{path} is missing: {folder} must hold train_data_batch_1..10 and val_data "
                                    f"({SOURCE})")
        if verify:
            verify_md5(path, MD5[fname], f"replace it with a fresh copy of {SOURCE}")
        entry = load_pickle(path)
        if not isinstance(entry, dict) or "data" not in entry or "labels" not in entry:
            raise IntegrityError(f"{path} is not a Downsampled-ImageNet batch (no 'data'/'labels')")
        data = np.asarray(entry["data"], dtype=np.uint8)
        if data.ndim != 2 or data.shape[1] != 3 * 16 * 16:
            raise IntegrityError(f"{path} holds data of shape {data.shape}, expected (N, 768) for 16x16 images")
        y = np.asarray(entry["labels"], dtype=np.int64)
        keep = (y >= 1) & (y <= N_CLASSES)
        images.append(data[keep].reshape(-1, 3, 16, 16))
        labels.append(y[keep] - 1)
    return torch.from_numpy(np.concatenate(images)), torch.from_numpy(np.concatenate(labels))
