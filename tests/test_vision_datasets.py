"""Datasets in their real on-disk formats (built here from random data), splits, errors and downloads."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import http.server
import pickle
import threading
from pathlib import Path

import numpy as np
import pytest
torch = pytest.importorskip("torch", reason='needs PyTorch: pip install "nabench[torch]"')

from nabench.errors import ConfigError, DataNotFoundError, IntegrityError, NabenchError
from nabench.vision import cifar, imagenet16, synthetic
from nabench.vision.archives import DownloadError, load_pickle
from nabench.vision.datasets import INFO, build_dataset, num_classes

# One intra-op thread: with two test workers on two cores, more threads oversubscribe and spin.


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(7)


def test_num_classes() -> None:
    assert [num_classes(n) for n in ("cifar10", "cifar100", "ImageNet16-120", "imagenet")] == [10, 100, 120, 1000]
    assert num_classes("imagenet16-120") == 120
    with pytest.raises(ConfigError, match="valid names are"):
        num_classes("mnist")


@pytest.mark.parametrize("name", ["cifar10", "cifar100"])
def test_cifar_folder_splits_and_values(tmp_path: Path, rng: np.random.Generator, name: str) -> None:
    synthetic.write_cifar(tmp_path, name, 60, 20, rng)
    train = build_dataset(name, tmp_path, "train")
    test = build_dataset(name, tmp_path, "test")
    assert (len(train), len(test)) == (60, 20)
    s_train = build_dataset(name, tmp_path, "search-train")
    s_valid = build_dataset(name, tmp_path, "search-valid")
    assert (len(s_train), len(s_valid)) == (30, 30)
    # The halves are the first and second half of the training set, in file order.
    assert torch.equal(torch.cat([s_train.images, s_valid.images]), train.images)
    assert torch.equal(torch.cat([s_train.labels, s_valid.labels]), train.labels)
    x, y = test[3]
    assert x.shape == (3, 32, 32) and x.dtype == torch.float32
    assert y == int(test.labels[3]) and 0 <= y < num_classes(name)
    mean = torch.tensor(INFO[name].mean).view(3, 1, 1)
    std = torch.tensor(INFO[name].std).view(3, 1, 1)
    assert torch.allclose(x, (test.images[3].float() / 255 - mean) / std)


def test_augmentation_is_a_function_of_the_seed(tmp_path: Path, rng: np.random.Generator) -> None:
    synthetic.write_cifar(tmp_path, "cifar10", 20, 5, rng)
    ds = build_dataset("cifar10", tmp_path, "train", augment=True, cutout=16)
    a, b, c = ds[(4, 123)][0], ds[(4, 123)][0], ds[(4, 124)][0]
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    with pytest.raises(ConfigError, match="make_loader"):
        ds[4]
    seeded = build_dataset("cifar10", tmp_path, "train", augment=True, generator=torch.Generator().manual_seed(1))
    assert seeded[4][0].shape == (3, 32, 32)
    plain = build_dataset("cifar10", tmp_path, "train")
    assert torch.equal(plain[4][0], plain[(4, 99)][0])


def test_cifar_archive_in_folder_is_checked_and_extracted(tmp_path: Path, rng: np.random.Generator,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    tar = synthetic.write_cifar(tmp_path, "cifar10", 10, 5, rng, archive=True)
    with pytest.raises(IntegrityError, match="MD5"):
        build_dataset("cifar10", tmp_path, "train")
    md5 = hashlib.md5(tar.read_bytes()).hexdigest()
    monkeypatch.setitem(cifar.ARCHIVES, "cifar10", dataclasses.replace(cifar.ARCHIVES["cifar10"], md5=md5))
    assert len(build_dataset("cifar10", tmp_path, "test")) == 5


def test_missing_data_says_how_to_get_it(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError, match="--download") as e:
        build_dataset("cifar10", tmp_path, "train")
    assert "cifar-10-python.tar.gz" in str(e.value)
    with pytest.raises(DataNotFoundError, match="image-net.org"):
        build_dataset("ImageNet16-120", tmp_path, "train")
    with pytest.raises(DataNotFoundError, match="class"):
        build_dataset("imagenet", tmp_path, "train")
    with pytest.raises(ConfigError, match="cannot be downloaded"):
        build_dataset("imagenet", tmp_path, "train", download=True)
    with pytest.raises(ConfigError, match="valid splits"):
        build_dataset("cifar10", tmp_path, "valid")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def served(tmp_path: Path):
    """An HTTP server on 127.0.0.1 serving ``tmp_path/www``."""
    www = tmp_path / "www"
    www.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(www)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield www, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_download_checks_md5_and_leaves_nothing_on_failure(served, tmp_path: Path, rng: np.random.Generator) -> None:
    www, base = served
    tar = synthetic.write_cifar(www, "cifar100", 10, 4, rng, archive=True)
    md5 = hashlib.md5(tar.read_bytes()).hexdigest()
    root = tmp_path / "data"
    with pytest.raises(IntegrityError, match="MD5"):
        cifar.ensure_cifar("cifar100", root, download=True, url=f"{base}/{tar.name}", md5="0" * 32)
    assert not any(root.iterdir())
    with pytest.raises(DownloadError, match="could not download"):
        cifar.ensure_cifar("cifar100", root, download=True, url=f"{base}/missing.tar.gz", md5=md5)
    assert not any(root.iterdir())
    folder = cifar.ensure_cifar("cifar100", root, download=True, url=f"{base}/{tar.name}", md5=md5)
    assert folder == root / "cifar-100-python" and (root / tar.name).is_file()
    images, labels = cifar.load_cifar("cifar100", root, train=True)
    assert images.shape == (10, 3, 32, 32) and labels.max() < 100


def test_imagenet16_keeps_first_120_classes(tmp_path: Path, rng: np.random.Generator,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    md5 = synthetic.write_imagenet16(tmp_path, 40, rng)
    with pytest.raises(IntegrityError, match="MD5"):
        build_dataset("ImageNet16-120", tmp_path, "test")
    monkeypatch.setattr(imagenet16, "MD5", md5)
    raw = load_pickle(tmp_path / "ImageNet16" / "val_data")
    kept = [y - 1 for y in raw["labels"] if 1 <= y <= 120]
    test = build_dataset("ImageNet16-120", tmp_path, "test")
    assert test.labels.tolist() == kept
    assert test[0][0].shape == (3, 16, 16)
    train = build_dataset("imagenet16-120", tmp_path / "ImageNet16", "train", augment=True)
    assert 0 <= int(train.labels.min()) and int(train.labels.max()) <= 119
    assert train[(0, 5)][0].shape == (3, 16, 16)


def test_imagenet_tree(tmp_path: Path, rng: np.random.Generator) -> None:
    synthetic.write_imagenet(tmp_path, ["n02", "n01", "n03"], 4, 2, rng)
    train = build_dataset("imagenet", tmp_path, "train", augment=True)
    assert train.labels.tolist() == [0] * 4 + [1] * 4 + [2] * 4
    assert "/n01/" in train.images[0]
    x = train[(5, 11)][0]
    assert x.shape == (3, 224, 224) and torch.equal(x, train[(5, 11)][0])
    halves = [build_dataset("imagenet", tmp_path, s) for s in ("search-train", "search-valid")]
    assert [h.labels.tolist() for h in halves] == [[0, 0, 1, 1, 2, 2]] * 2
    assert not set(halves[0].images) & set(halves[1].images)
    assert build_dataset("imagenet", tmp_path, "test")[0][0].shape == (3, 224, 224)
    (tmp_path / "val" / "n04").mkdir()
    with pytest.raises(IntegrityError, match="different class folders"):
        build_dataset("imagenet", tmp_path, "test")


def test_pickles_cannot_run_code(tmp_path: Path) -> None:
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({"data": Evil()}))
    with pytest.raises(IntegrityError, match="refusing"):
        load_pickle(path)
    assert issubclass(IntegrityError, NabenchError)
