"""The on-disk store of one benchmark: plain numpy arrays plus a JSON description, nothing pickled.

Layout of ``<data_dir>/<name>/``:

* ``arrays.bin``: the named arrays (``ops``, ``acc.<dataset>.<split>.<fidelity>.mean``, ``...seed``
  with one column per seed, ``time.<dataset>.<fidelity>``, ``params.<dataset>``, ...) back to back,
  each 64-byte aligned; ``meta.json`` lists each one's dtype, shape and offset. Loading is one read
  and zero-copy ``numpy.frombuffer`` views (read-only, so nobody can change the benchmark by
  accident); nothing in the file is ever executed or unpickled.
* ``curves.npz`` (official imports only): per-epoch curves, read lazily on first use.
* ``meta.json``: format version, how the store was made, sha256 of every file above, the sha256 of
  the upstream sources, and a provenance note per array.

A store is written into a temporary folder and renamed into place, so an interrupted build leaves the
previous store (or none) and never a half-written one. Loading verifies the sha256 of ``arrays.bin``
(a few milliseconds) and reports a corrupt, truncated or tampered store with the command that fixes it.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import io
import json
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nabench import __version__
from nabench.errors import DataNotFoundError, IntegrityError
from nabench.tables.manifest import sha256_file

FORMAT = 1
ARRAYS, CURVES, META = "arrays.bin", "curves.npz", "meta.json"
_ALIGN = 64
FIX = "rebuild it with `nabench data fetch --force` (or `nabench data import PATH` for an imported store)"


@dataclass
class Store:
    """A loaded store: its arrays, its metadata, and lazy access to its curves."""

    path: Path
    arrays: dict[str, np.ndarray]
    meta: dict
    _curves: "_LazyNpz | None" = field(default=None, repr=False)

    @property
    def checksum(self) -> str:
        """Short identifier of the store's content (sha256 over its files' sha256)."""
        blob = json.dumps(self.meta["files"], sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def curves(self) -> "_LazyNpz | dict[str, np.ndarray]":
        """Per-epoch curves (official imports), read member by member on first use; empty if none.

        Curves can be large (about 1 GB for a full import), so they are not hashed on load: each
        member's CRC is checked as it is read, and ``nabench data verify`` checks the whole file's sha256.
        """
        if CURVES not in self.meta["files"]:
            return {}
        if self._curves is None:
            self._curves = _LazyNpz(self.path / CURVES)
        return self._curves


class _LazyNpz:
    """Read-only mapping over an npz file that loads (and CRC-checks) each array on first access."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._npz = np.load(path, allow_pickle=False)
        except (OSError, ValueError, zipfile.BadZipFile) as e:
            raise IntegrityError(f"the store file {path} cannot be read ({e}); {FIX}") from None
        self._cache: dict[str, np.ndarray] = {}

    def __contains__(self, name: object) -> bool:
        return name in self._npz.files

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self._cache:
            try:
                self._cache[name] = self._npz[name]
            except (OSError, ValueError, zipfile.BadZipFile) as e:
                raise IntegrityError(f"array {name} of {self.path} is corrupt ({e}); {FIX}") from None
        return self._cache[name]

    def keys(self) -> list[str]:
        return list(self._npz.files)

    def __bool__(self) -> bool:
        return bool(self._npz.files)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read_bin(path: Path, expected_sha: str, index: dict[str, list]) -> dict[str, np.ndarray]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise IntegrityError(f"the store file {path} is missing; {FIX}") from None
    if _sha256(data) != expected_sha:
        raise IntegrityError(f"the store file {path} failed its checksum (corrupt, truncated or modified); {FIX}")
    try:
        return {name: np.frombuffer(data, dtype=np.dtype(dt), count=int(np.prod(shape, dtype=np.int64)),
                                    offset=off).reshape(shape)
                for name, (dt, shape, off) in index.items()}
    except (TypeError, ValueError) as e:
        raise IntegrityError(f"the store index in {path.parent / META} does not match {path} ({e}); {FIX}") from None


def read(path: Path) -> Store:
    """Load and verify the store in folder ``path``."""
    meta_path = path / META
    if not meta_path.is_file():
        raise DataNotFoundError(
            f"no nabench store at {path}. Build it with `nabench data fetch` (downloads the upstream files), "
            "`nabench data fetch --mirror DIR` (copies them from a folder, e.g. ../shared/data/upstream), or "
            "`nabench data import PATH` (an official NATS-Bench folder or NAS-Bench-201 .pth); choose the folder "
            "with --data-dir or $NABENCH_DATA"
        )
    try:
        meta = json.loads(meta_path.read_text())
        files = meta["files"]
        if meta.get("format") != FORMAT:
            raise IntegrityError(f"the store at {path} has format {meta.get('format')}, this nabench reads "
                                 f"format {FORMAT}; {FIX}")
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise IntegrityError(f"the store description {meta_path} is unreadable ({e}); {FIX}") from None
    arrays = _read_bin(path / ARRAYS, files[ARRAYS], meta.get("index", {}))
    return Store(path=path, arrays=arrays, meta=meta)


def _bin_bytes(arrays: dict[str, np.ndarray]) -> tuple[bytes, dict[str, list]]:
    buf = io.BytesIO()
    index = {}
    for name, arr in arrays.items():
        a = np.ascontiguousarray(arr)
        if a.dtype.hasobject:
            raise TypeError(f"array {name} holds Python objects; the store keeps plain numbers only")
        pad = (-buf.tell()) % _ALIGN
        buf.write(b"\0" * pad)
        index[name] = [a.dtype.str, list(a.shape), buf.tell()]
        buf.write(a.tobytes())
    return buf.getvalue(), index


def write(path: Path, arrays: dict[str, np.ndarray], *, provenance: dict[str, str], made_by: str,
          sources: dict[str, str], curves: dict[str, np.ndarray] | None = None, notes: list[str] | None = None) -> Store:
    """Write a store into folder ``path`` atomically (replacing any previous one) and return it loaded."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
    try:
        files = {}
        blob, index = _bin_bytes(arrays)
        (tmp / ARRAYS).write_bytes(blob)
        files[ARRAYS] = _sha256(blob)
        if curves:
            np.savez(tmp / CURVES, **{k: curves[k] for k in curves.keys()})
            files[CURVES] = sha256_file(tmp / CURVES)
        meta = {
            "format": FORMAT,
            "benchmark": path.name,
            "nabench_version": __version__,
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "made_by": made_by,
            "sources": sources,
            "files": files,
            "index": index,
            "notes": notes or [],
            "provenance": provenance,
        }
        (tmp / META).write_text(json.dumps(meta, indent=1, sort_keys=True))
        for f in tmp.iterdir():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
        tmp.chmod(0o755)
        old = None
        if path.exists():
            old = path.parent / f".{path.name}.old-{os.getpid()}"
            os.replace(path, old)
        os.replace(tmp, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return read(path)


def verify(path: Path) -> list[str]:
    """Problems found in the store at ``path`` (empty when intact); checks every file's sha256."""
    try:
        store = read(path)
    except (DataNotFoundError, IntegrityError) as e:
        return [str(e)]
    problems = []
    curves_sha = store.meta["files"].get(CURVES)
    if curves_sha is not None:
        try:
            if sha256_file(path / CURVES) != curves_sha:
                problems.append(f"the store file {path / CURVES} failed its checksum; {FIX}")
        except FileNotFoundError:
            problems.append(f"the store file {path / CURVES} is missing; {FIX}")
    if "ops" not in store.arrays:
        problems.append(f"the store at {path} has no architecture list ('ops'); {FIX}")
    return problems
