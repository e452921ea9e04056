"""The on-disk store of one benchmark: plain numpy arrays plus a JSON description, nothing pickled.

Layout of ``<data_dir>/<name>/``:

* ``arrays.bin``: the named arrays (``ops``, ``acc.<dataset>.<split>.<fidelity>.mean``, ``...seed``
  with one column per seed, ``time.<dataset>.<fidelity>``, ``params.<dataset>``, ...) back to back,
  each 64-byte aligned; ``meta.json``'s ``index`` lists each one's dtype, shape and offset. Loading is
  one read and zero-copy ``numpy.frombuffer`` views (read-only, so nobody can change the benchmark by
  accident); nothing in the file is ever executed or unpickled.
* ``curves.npz`` (official imports only): per-epoch curves, read lazily on first use.
* ``meta.json``: format version, how the store was made, sha256 of every file above and of the index,
  the sha256 of the upstream sources, and a provenance note per array.

Every byte that decides a value is verified on every load (decision, issue 12): the sha256 of
``arrays.bin`` *and* the sha256 of the index (names, dtypes, shapes, offsets) are recorded in
``meta["files"]`` and checked, so swapping two offsets in ``meta.json`` is refused like a flipped byte
in ``arrays.bin``; the store checksum (which run manifests record) is computed over ``meta["files"]``
and so changes with either. Hashing the ~9 MB ``arrays.bin`` costs about 5 ms of a ~10 ms load and
the index a fraction of a millisecond (``benchmarks/tables_load.py``), cheap enough to do every time.
``curves.npz`` (up to 1 GB for a full import) is hashed once per process on first use of the curves,
not on load. Everything else in ``meta.json`` (provenance, notes, dates) describes values but does
not decide them; its types are still checked, so that every command either works or says
"corrupt store" with the command that fixes it.

A store is written into a temporary folder and renamed into place, so an interrupted build leaves the
previous store (or none) and never a half-written one.
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
from typing import Any

import numpy as np

from nabench import __version__, validate
from nabench.errors import ConfigError, DataNotFoundError, IntegrityError
from nabench.tables.manifest import sha256_file

FORMAT = 2
ARRAYS, CURVES, META = "arrays.bin", "curves.npz", "meta.json"
#: Key in ``meta["files"]`` holding the sha256 of the index (see :func:`index_sha256`).
INDEX = "meta.json:index"
_ALIGN = 64
#: Bound on any size or offset in the index (1 TiB): larger numbers are damage, not data.
_MAX_BYTES = 2**40
#: Bound on meta.json (a few kB to a few hundred kB in practice).
_MAX_META_BYTES = 64 * 2**20
FIX = "run `nabench data fetch --force` to rebuild it (or `nabench data import PATH` again for an imported store)"
#: dtype kinds an array of the store may have: bool, signed and unsigned integers, floats.
_KINDS = "biuf"
#: Keys of ``meta.json`` and the validator of each (values are checked, not trusted).
_META_KEYS = ("format", "benchmark", "nabench_version", "created", "made_by", "sources", "files", "index",
              "notes", "provenance")


def corrupt(path: Path, detail: str) -> IntegrityError:
    """The one error every command gives for a damaged store: what is wrong, and the command that fixes it."""
    if len(detail) > 300:  # a damaged file can put megabytes into a repr; the message stays one short line
        detail = detail[:300] + "..."
    detail = " ".join(detail.split())
    return IntegrityError(f"corrupt store at {path}: {detail}; {FIX}")


@dataclass
class Store:
    """A loaded store: its arrays, its metadata, and lazy access to its curves."""

    path: Path
    arrays: dict[str, np.ndarray]
    meta: dict
    _curves: "_LazyNpz | None" = field(default=None, repr=False)

    @property
    def checksum(self) -> str:
        """Short identifier of the store's content: sha256 over the sha256 of its files and of its index."""
        blob = json.dumps(self.meta["files"], sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def curves(self) -> "_LazyNpz | dict[str, np.ndarray]":
        """Per-epoch curves (official imports), read member by member on first use; empty if none.

        The file's sha256 is checked once, on the first call (curves can be about 1 GB, so not on load).
        """
        if CURVES not in self.meta["files"]:
            return {}
        if self._curves is None:
            target = self.path / CURVES
            try:
                ok = sha256_file(target) == self.meta["files"][CURVES]
            except OSError as e:
                raise corrupt(self.path, f"{CURVES} cannot be read ({type(e).__name__})") from None
            if not ok:
                raise corrupt(self.path, f"{CURVES} failed its checksum (corrupt, truncated or modified)")
            self._curves = _LazyNpz(target)
        return self._curves


class _LazyNpz:
    """Read-only mapping over an npz file that loads (and CRC-checks) each array on first access."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._npz = np.load(path, allow_pickle=False)
        except (OSError, ValueError, zipfile.BadZipFile) as e:
            raise corrupt(path.parent, f"{path.name} cannot be read ({e})") from None
        self._cache: dict[str, np.ndarray] = {}

    def __contains__(self, name: object) -> bool:
        return name in self._npz.files

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self._cache:
            try:
                self._cache[name] = self._npz[name]
            except (OSError, ValueError, zipfile.BadZipFile) as e:
                raise corrupt(self.path.parent, f"array {name} of {self.path.name} cannot be read ({e})") from None
        return self._cache[name]

    def keys(self) -> list[str]:
        return list(self._npz.files)

    def __bool__(self) -> bool:
        return bool(self._npz.files)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def index_sha256(index: dict[str, list]) -> str:
    """sha256 of the index (name -> [dtype, shape, offset]) in a canonical JSON form."""
    return _sha256(json.dumps(index, sort_keys=True, separators=(",", ":")).encode())


def _check_meta(path: Path, meta: Any) -> dict:
    """Check the types of every key of ``meta.json`` (through :mod:`nabench.validate`)."""
    try:
        validate.table(META, meta)
        missing = [k for k in _META_KEYS if k not in meta]
        if missing:
            raise ConfigError(f"{META} lacks the key(s) {', '.join(missing)}")
        fmt = meta["format"]
        if isinstance(fmt, int) and not isinstance(fmt, bool) and fmt != FORMAT:
            raise ConfigError(f"{META} has format {fmt}, this nabench reads format {FORMAT}")
        validate.integer(f"{META} 'format'", fmt, minimum=FORMAT, maximum=FORMAT)
        for k in ("benchmark", "nabench_version", "created", "made_by"):
            validate.string(f"{META} {k!r}", meta[k])
        for k in ("sources", "provenance"):
            for name, value in validate.table(f"{META} {k!r}", meta[k]).items():
                validate.string(f"{META} {k!r} entry {name!r}", value)
        notes = meta["notes"]
        if not isinstance(notes, list):
            raise ConfigError(f"{META} 'notes' must be a list, got {type(notes).__name__}")
        for note in notes:
            validate.string(f"{META} note", note)
        files = validate.table(f"{META} 'files'", meta["files"], keys=(ARRAYS, CURVES, INDEX))
        for k in (ARRAYS, INDEX):
            if k not in files:
                raise ConfigError(f"{META} 'files' lacks {k!r}")
        for k, v in files.items():
            if not (isinstance(v, str) and len(v) == 64 and all(c in "0123456789abcdef" for c in v)):
                raise ConfigError(f"{META} 'files' entry {k!r} is not a sha256, got {v!r}")
        validate.table(f"{META} 'index'", meta["index"])
    except ConfigError as e:
        raise corrupt(path, str(e)) from None
    return meta


def _parse_index(path: Path, index: dict) -> dict[str, tuple[np.dtype, tuple[int, ...], int]]:
    """(dtype, shape, offset) per array, every field's type and range checked."""
    out = {}
    try:
        for name, entry in index.items():
            where = f"{META} index entry {name!r}"
            if not (isinstance(entry, list) and len(entry) == 3):
                raise ConfigError(f"{where} must be [dtype, shape, offset], got {entry!r}")
            dt, shape, off = entry
            validate.string(f"{where} dtype", dt)
            try:
                dtype = np.dtype(dt)
            except (TypeError, ValueError):
                raise ConfigError(f"{where} has dtype {dt!r}, which is not a numpy dtype") from None
            if dtype.kind not in _KINDS or dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None:
                raise ConfigError(f"{where} has dtype {dt!r}; a store holds plain numbers only")
            if not isinstance(shape, list):
                raise ConfigError(f"{where} shape must be a list, got {shape!r}")
            dims = tuple(validate.integer(f"{where} shape", d, minimum=0, maximum=_MAX_BYTES) for d in shape)
            offset = validate.integer(f"{where} offset", off, minimum=0, maximum=_MAX_BYTES)
            if int(np.prod(dims, dtype=object)) * dtype.itemsize > _MAX_BYTES:
                raise ConfigError(f"{where} describes an array of more than {_MAX_BYTES} bytes")
            out[name] = (dtype, dims, offset)
    except ConfigError as e:
        raise corrupt(path, str(e)) from None
    return out


def _load_meta(path: Path) -> dict:
    meta_path = path / META
    try:
        present = meta_path.exists() or meta_path.is_symlink()
        damaged = not present and path.is_dir() and any(path.iterdir())
    except OSError as e:  # exists() raises for EACCES: a folder this user may not look into
        raise DataNotFoundError(f"cannot look into the store folder {path} ({e.strerror}); choose a folder you may "
                                "read with --data-dir or $NABENCH_DATA") from None
    if not present:
        if damaged:
            raise corrupt(path, f"{META} is missing")
        raise DataNotFoundError(
            f"no nabench store at {path}. Build it with `nabench data fetch` (downloads the upstream files), "
            "`nabench data fetch --mirror DIR` (copies them from a folder, e.g. ../shared/data/upstream), or "
            "`nabench data import PATH` (an official NATS-Bench folder or NAS-Bench-201 .pth); choose the folder "
            "with --data-dir or $NABENCH_DATA"
        )
    try:
        if meta_path.is_file() and meta_path.stat().st_size > _MAX_META_BYTES:
            raise corrupt(path, f"the store description {META} is larger than {_MAX_META_BYTES >> 20} MB")
        raw = meta_path.read_bytes()
    except OSError as e:
        raise corrupt(path, f"the store description {META} cannot be read ({type(e).__name__}: {e.strerror})") from None
    try:
        meta = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise corrupt(path, f"the store description {META} is unreadable (not UTF-8 text)") from None
    except (json.JSONDecodeError, RecursionError) as e:
        raise corrupt(path, f"the store description {META} is unreadable (not JSON: {e})") from None
    return _check_meta(path, meta)


def read(path: Path) -> Store:
    """Load and verify the store in folder ``path`` (every check is described in the module docstring)."""
    path = Path(path)
    meta = _load_meta(path)
    files = meta["files"]
    if index_sha256(meta["index"]) != files[INDEX]:
        raise corrupt(path, f"the index in {META} (array names, dtypes, shapes, offsets) failed its checksum")
    bin_path = path / ARRAYS
    if not bin_path.exists():
        raise corrupt(path, f"the store file {ARRAYS} is missing")
    if not bin_path.is_file():
        raise corrupt(path, f"the store file {ARRAYS} is not a file")
    if CURVES not in files and (path / CURVES).exists():
        raise corrupt(path, f"{CURVES} is in the store folder but {META} lists no checksum for it")
    try:
        size = bin_path.stat().st_size
        layout = _parse_index(path, meta["index"])
        end = max((off + int(np.prod(shape, dtype=object)) * dt.itemsize for dt, shape, off in layout.values()),
                  default=0)
        if size != end:  # checked before reading, so a huge replacement file is never read into memory
            raise corrupt(path, f"the store file {ARRAYS} failed its checksum (it has {size} bytes, its index "
                                f"describes {end})")
        data = bin_path.read_bytes()
    except OSError as e:
        raise corrupt(path, f"the store file {ARRAYS} cannot be read ({type(e).__name__}: {e.strerror})") from None
    if _sha256(data) != files[ARRAYS]:
        raise corrupt(path, f"the store file {ARRAYS} failed its checksum (corrupt, truncated or modified)")
    arrays = {name: np.frombuffer(data, dtype=dt, count=int(np.prod(shape, dtype=np.int64)), offset=off).reshape(shape)
              for name, (dt, shape, off) in layout.items()}
    return Store(path=path, arrays=arrays, meta=meta)


def _bin_bytes(arrays: dict[str, np.ndarray]) -> tuple[bytes, dict[str, list]]:
    buf = io.BytesIO()
    index = {}
    for name, arr in arrays.items():
        a = np.ascontiguousarray(arr)
        if a.dtype.kind not in _KINDS or a.dtype.hasobject or a.dtype.fields is not None:
            raise TypeError(f"array {name} has dtype {a.dtype}; the store keeps plain numbers only")
        pad = (-buf.tell()) % _ALIGN
        buf.write(b"\0" * pad)
        index[name] = [a.dtype.str, list(a.shape), buf.tell()]
        buf.write(a.tobytes())
    return buf.getvalue(), index


def write(path: Path, arrays: dict[str, np.ndarray], *, provenance: dict[str, str], made_by: str,
          sources: dict[str, str], curves: Any = None, notes: list[str] | None = None) -> Store:
    """Write a store into folder ``path`` atomically (replacing any previous one, even a damaged one)
    and return it loaded. ``curves``: a mapping name -> array (``Store.curves()`` of another store works)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
    try:
        files = {}
        blob, index = _bin_bytes(arrays)
        (tmp / ARRAYS).write_bytes(blob)
        files[ARRAYS] = _sha256(blob)
        files[INDEX] = index_sha256(index)
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
        (tmp / META).write_text(json.dumps(meta, indent=1, sort_keys=True), encoding="utf-8")
        for f in tmp.iterdir():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
        tmp.chmod(0o755)
        old = None
        if path.exists() or path.is_symlink():
            old = path.parent / f".{path.name}.old-{os.getpid()}"
            os.replace(path, old)
        os.replace(tmp, path)
        if old is not None:
            if old.is_dir() and not old.is_symlink():
                shutil.rmtree(old, ignore_errors=True)
            else:
                old.unlink()
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return read(path)


def verify(path: Path) -> list[str]:
    """Problems found in the store at ``path`` (empty when intact); checks every file's sha256."""
    try:
        st = read(path)
        st.curves()
    except (DataNotFoundError, IntegrityError) as e:
        return [str(e)]
    if "ops" not in st.arrays and "channels" not in st.arrays:
        return [str(corrupt(path, "it has no architecture list ('ops' or 'channels')"))]
    return []
