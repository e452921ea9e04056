"""CIFAR-10 / CIFAR-100 from the standard "python version" archives of the Toronto site.

``root`` may hold the extracted folder (``cifar-10-batches-py`` / ``cifar-100-python``), or the
``.tar.gz`` archive (checked against its published MD5, then extracted), or nothing, in which case
``download=True`` fetches the archive from its canonical URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from nabench.errors import DataNotFoundError, IntegrityError
from nabench.vision.archives import download as download_file
from nabench.vision.archives import extract_tar, load_pickle, verify_md5


@dataclass(frozen=True)
class CifarArchive:
    """Where one CIFAR variant comes from and how its batches are laid out."""

    title: str
    url: str
    md5: str
    folder: str
    train_files: tuple[str, ...]
    test_files: tuple[str, ...]
    label_key: str

    @property
    def filename(self) -> str:
        return self.url.rsplit("/", 1)[-1]


ARCHIVES: dict[str, CifarArchive] = {
    "cifar10": CifarArchive(
        "CIFAR-10", "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a",
        "cifar-10-batches-py", tuple(f"data_batch_{i}" for i in range(1, 6)), ("test_batch",), "labels",
    ),
    "cifar100": CifarArchive(
        "CIFAR-100", "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz", "eb9058c3a382ffc7106e4002c42a8d85",
        "cifar-100-python", ("train",), ("test",), "fine_labels",
    ),
}


def ensure_cifar(name: str, root: Path, download: bool, url: str | None = None, md5: str | None = None) -> Path:
    """The extracted CIFAR folder under ``root``, extracting or downloading the archive when needed.

    ``url`` and ``md5`` override the canonical source (a mirror, or a local server in tests).
    """
    spec = ARCHIVES[name]
    folder = root / spec.folder
    if folder.is_dir():
        return folder
    archive = root / spec.filename
    md5 = md5 or spec.md5
    if archive.is_file():
        verify_md5(archive, md5, f"delete {archive} and download it again (--download)")
    elif download:
        download_file(url or spec.url, archive, md5)
    else:
        raise DataNotFoundError(
            f"{spec.title} not found in {root}: expected the folder {folder} (the extracted {spec.url}) or the "
            f"archive {archive}; pass --download (download=True) to fetch it, or point --data-root at the "
            "folder that holds it"
        )
    extract_tar(archive, root)
    if not folder.is_dir():
        raise IntegrityError(f"{archive} did not contain {spec.folder}/; it is not the {spec.title} python archive")
    return folder


def load_cifar(name: str, root: Path, train: bool, download: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Images ``uint8 (N, 3, 32, 32)`` and labels ``int64 (N,)`` of the CIFAR train or test set, in file order."""
    spec = ARCHIVES[name]
    folder = ensure_cifar(name, Path(root), download)
    images, labels = [], []
    for fname in spec.train_files if train else spec.test_files:
        path = folder / fname
        if not path.is_file():
            raise DataNotFoundError(f"{path} is missing: the {spec.title} folder {folder} is incomplete; delete it "
                                    "and extract the archive again (or use --download)")
        entry = load_pickle(path)
        if not isinstance(entry, dict) or "data" not in entry or spec.label_key not in entry:
            raise IntegrityError(f"{path} is not a {spec.title} batch (no 'data'/'{spec.label_key}'); "
                                 "delete the folder and extract the archive again")
        data = np.asarray(entry["data"], dtype=np.uint8)
        if data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
            raise IntegrityError(f"{path} holds data of shape {data.shape}, expected (N, 3072)")
        images.append(data.reshape(-1, 3, 32, 32))
        labels.append(np.asarray(entry[spec.label_key], dtype=np.int64))
    return torch.from_numpy(np.concatenate(images)), torch.from_numpy(np.concatenate(labels))
