"""Fetching, verifying and reading dataset archives: download with checksum, safe extraction, safe unpickling.

The CIFAR and ImageNet16 batches are Python pickles. They are read with :class:`NumpyUnpickler`, which
only rebuilds dicts, lists, strings, numbers and numpy arrays, so a tampered file cannot run code.
Downloads go to a ``.part`` file that is renamed into place only after its checksum matches, so an
interrupted or corrupt download never leaves a file that looks complete.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tarfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from nabench.errors import IntegrityError, NabenchError


class DownloadError(NabenchError):
    """A download failed (network error or HTTP status); the message names the URL and the fix."""


def md5sum(path: Path, chunk: int = 1 << 20) -> str:
    """The hex MD5 digest of a file (the checksum the CIFAR and ImageNet16 sources publish)."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def verify_md5(path: Path, md5: str, how_to_fix: str) -> None:
    """Raise :class:`IntegrityError` unless ``path`` has checksum ``md5``."""
    actual = md5sum(path)
    if actual != md5:
        raise IntegrityError(f"{path} has MD5 {actual}, expected {md5}: the file is corrupt or not the "
                             f"expected one; {how_to_fix}")


def download(url: str, dest: Path, md5: str, timeout: float = 60.0) -> Path:
    """Download ``url`` to ``dest`` and check its MD5; on any failure nothing is left at ``dest``."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(part, "wb") as out:
            while block := response.read(1 << 20):
                out.write(block)
    except (urllib.error.URLError, OSError) as e:
        part.unlink(missing_ok=True)
        raise DownloadError(f"could not download {url}: {e}; check the network, or download it by hand "
                            f"and put it at {dest}") from None
    try:
        verify_md5(part, md5, f"the download from {url} was damaged; run again to retry")
    except IntegrityError:
        part.unlink(missing_ok=True)
        raise
    os.replace(part, dest)
    return dest


def extract_tar(archive: Path, into: Path) -> None:
    """Extract a (gzipped) tar archive, refusing members that would land outside ``into``."""
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(into, filter="data")
    except (tarfile.TarError, OSError) as e:
        raise IntegrityError(f"cannot extract {archive}: {e}; delete it and download it again") from None


_NUMPY_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),
}


class NumpyUnpickler(pickle.Unpickler):
    """An unpickler that resolves only the globals needed to rebuild numpy arrays."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _NUMPY_GLOBALS:
            raise pickle.UnpicklingError(f"refusing to load global {module}.{name}")
        return super().find_class(module, name)


def load_pickle(path: Path) -> Any:
    """Read a data-only pickle (Python 2 pickles too, as the CIFAR batches are) without running code."""
    try:
        with open(path, "rb") as f:
            return NumpyUnpickler(f, encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as e:
        raise IntegrityError(f"cannot read {path}: {e}; the file is corrupt or not a dataset batch, "
                             "replace it with a fresh copy") from None
