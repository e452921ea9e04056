"""The results folder of a grid: a manifest, append-only logs of finished runs, and tidy tables.

Layout of ``OUT/``:

* ``manifest.json``: the grid (every cell's resolved settings), the nabench version and the
  benchmark checksum; written atomically before the first run and updated at the end.
* ``runs.jsonl``: one line per finished run (its whole trajectory), appended by the one local parent
  process in one write and flushed. A run is finished when its line is complete; a run killed
  half-way leaves at most a torn last line, which readers skip and the next local run cuts off.
* ``runs-<job>-<task>.jsonl``: the same, one file per writer (a Slurm array element, a submitit job).
  Writers on a shared file system never share a file, so no lock is needed (``fcntl`` locks are not
  reliable on NFS); readers merge every log and keep the first record of each run key.
* ``evaluations.csv.gz``, ``runs.csv``, ``summary.csv``, ``paired.csv``: the result tables, made from
  the logs at the end, for the requested runs only (see :mod:`nabench.experiments.summary`);
  ``timings.csv``: wall-clock seconds per run, kept apart so that the result tables are a pure
  function of the grid, the seed and the store (byte-identical however the grid was executed).

Run keys. Every record carries ``key``: a hash of everything that determines the run (the cell's
resolved settings, the seed, the benchmark store's checksum), and ``bench``, the store checksum. A
run counts as done only when a record with its key exists, so a changed seed, setting or store can
never be answered with old numbers, with or without the manifest. A requested ``(cell, run)`` whose
folder record has another key is refused with the reason (seed, store or settings) and the fix.

Every record read is checked against :data:`RECORD_FIELDS` before it is used; a line that is not a
run record is one error naming the file and line, never a traceback.
"""

from __future__ import annotations

import errno
import hashlib
import json
import numbers
import os
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

import numpy as np

from nabench.atomic import write_bytes
from nabench.errors import ConfigError, IntegrityError

MANIFEST = "manifest.json"
LOG = "runs.jsonl"
SHARD_PREFIX = "runs-"
LOCK = ".lock"
#: The result tables the runner writes (see :mod:`nabench.experiments.summary`).
TABLES: tuple[str, ...] = ("evaluations.csv.gz", "runs.csv", "summary.csv", "paired.csv", "timings.csv")

#: Fields of a run record and their kinds (``list`` fields hold one number per step, all equally long).
RECORD_FIELDS: dict[str, str] = {
    "cell": "str", "run": "int", "seed": "int", "key": "str", "bench": "str", "stop": "str", "wall_s": "number",
    "arch": "list", "score": "list", "raw": "list", "charged": "list", "time": "list", "queries": "list",
    "incumbent": "list", "incumbent_score": "list", "candidates": "list", "cells_read": "list",
}


def run_key(cell: Mapping[str, Any], seed: int, checksum: str) -> str:
    """The key of one run: a hash of the cell's resolved settings, the seed and the store checksum."""
    doc = json.dumps({"cell": cell, "seed": int(seed), "bench": checksum}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(doc.encode()).hexdigest()[:32]


def check_record(rec: Any, where: str) -> dict[str, Any]:
    """``rec`` if it is a run record (see :data:`RECORD_FIELDS`); else :class:`IntegrityError`."""
    def bad(what: str) -> IntegrityError:
        return IntegrityError(f"{where} is not a nabench run record ({what}); remove that line (its run is redone "
                              "on the next run) or use a new --out folder")

    if not isinstance(rec, dict):
        raise bad(f"a JSON {type(rec).__name__}, not an object")
    missing = [k for k in RECORD_FIELDS if k not in rec]
    if missing:
        raise bad(f"missing {', '.join(missing)}")
    n = None
    for k, kind in RECORD_FIELDS.items():
        v = rec[k]
        if kind == "str":
            ok = isinstance(v, str) and bool(v)
        elif kind == "int":
            ok = isinstance(v, int) and not isinstance(v, bool) and v >= 0
        elif kind == "number":
            ok = isinstance(v, numbers.Real) and not isinstance(v, bool)
        else:
            ok = isinstance(v, list) and (not v or _numeric(v))
            if ok:
                n = len(v) if n is None else n
                ok = len(v) == n
        if not ok:
            raise bad(f"field {k!r} is not a {'list of numbers of one length per step' if kind == 'list' else kind}")
    if n == 0:
        raise bad("a run without steps")
    return rec


def _numeric(values: list) -> bool:
    """Whether ``values`` is a flat list of numbers (checked at C speed: logs hold millions of them)."""
    try:
        a = np.array(values)
    except (ValueError, TypeError):
        return False
    return a.ndim == 1 and a.dtype.kind in "iuf"


class ResultsStore:
    """A results folder opened for writing into one log file (``log``, default ``runs.jsonl``).

    With ``lock=True`` (the local runner) an advisory lock keeps two processes from writing one
    folder at once; writers of their own shard (``lock=False``) need none. Before appending, set
    :meth:`expect` so that every appended record gets its run key.
    """

    def __init__(self, out: str | Path, *, log: str = LOG, lock: bool = True) -> None:
        self.path = Path(out)
        self.log_name = log
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ConfigError(f"cannot create the results folder {self.path}: {e.strerror}; pick another --out") from e
        if not os.access(self.path, os.W_OK):
            raise ConfigError(f"the results folder {self.path} is not writable; pick another --out")
        for name in (MANIFEST, LOG, LOCK, log) + TABLES:
            p = self.path / name
            if (p.exists() or p.is_symlink()) and not p.is_file():
                raise ConfigError(f"{p} is not a regular file (a folder, or a dangling link?) where the results folder "
                                  "keeps one; move it away or use a new --out folder")
        self._lock = None
        if lock:
            self._lock = open(self.path / LOCK, "w")
            try:
                import fcntl

                fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except ImportError:  # pragma: no cover - no advisory locks on this platform
                pass
            except OSError as e:
                if e.errno not in (errno.ENOLCK, errno.EOPNOTSUPP):  # a file system without locks: go on
                    self._lock.close()
                    raise ConfigError(f"another nabench run is writing to {self.path}; wait for it or pick "
                                      "another --out") from None
        self._log = None
        self._keys: dict[tuple[str, int], str] = {}
        self._bench: str | None = None

    def close(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def __enter__(self) -> "ResultsStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ manifest
    def read_manifest(self) -> dict[str, Any] | None:
        """The folder's manifest, checked to be one (``None`` when there is none)."""
        p = self.path / MANIFEST
        if not p.exists():
            return None
        fix = "restore it, delete it (run keys in the logs still protect the finished runs) or use a new --out folder"
        try:
            doc = json.loads(p.read_bytes().decode("utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
            raise IntegrityError(f"{p} is not a readable JSON manifest ({e}); {fix}") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("cells", {}), dict) or not isinstance(
                doc.get("bench_checksum", ""), str):
            raise IntegrityError(f"{p} is not a nabench results manifest (a JSON object with 'cells' and "
                                 f"'bench_checksum' expected); {fix}")
        return doc

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        write_bytes(self.path / MANIFEST, (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode())

    def check_manifest(self, cells: Mapping[str, Mapping[str, Any]], checksum: str) -> dict[str, Any] | None:
        """Refuse a grid whose store or cell settings differ from the folder's; writes nothing."""
        old = self.read_manifest()
        if old is None:
            return None
        if old.get("bench_checksum") != checksum:
            raise ConfigError(
                f"{self.path} holds results made with benchmark store {old.get('bench_checksum')}, but the installed "
                f"store is {checksum}; use a new --out folder (or reinstall the store the results came from)"
            )
        for key, cell in cells.items():
            if key in old["cells"] and old["cells"][key] != cell:
                raise ConfigError(
                    f"{self.path} already holds cell {key} with different settings; finished runs would mix two "
                    "configurations. Use a new --out folder, or give the changed setting a new name"
                )
        return old

    def merged_manifest(self, old: dict[str, Any] | None, cells: Mapping[str, Mapping[str, Any]], checksum: str,
                        extra: Mapping[str, Any]) -> dict[str, Any]:
        """The manifest after adding ``cells`` (not yet written)."""
        if old is None:
            return dict(extra, bench_checksum=checksum, cells=dict(cells), complete=False)
        merged = dict(old["cells"])
        merged.update(cells)
        return dict(old, **extra, cells=merged, complete=False)

    def merge_manifest(self, cells: dict[str, dict], checksum: str, extra: dict[str, Any]) -> dict[str, Any]:
        """Check a grid against the folder's manifest and write the merged manifest."""
        manifest = self.merged_manifest(self.check_manifest(cells, checksum), cells, checksum, extra)
        self.write_manifest(manifest)
        return manifest

    # ------------------------------------------------------------------ run logs
    def logs(self) -> list[Path]:
        """Every run log of the folder: ``runs.jsonl``, then the shards by name."""
        main = [self.path / LOG] if (self.path / LOG).is_file() else []
        shards = sorted(p for p in self.path.glob(f"{SHARD_PREFIX}*.jsonl") if p.is_file())
        return main + shards

    def records(self) -> Iterator[dict[str, Any]]:
        """The checked records of every log, first of each run key only (a torn last line is skipped)."""
        seen: set[str] = set()
        for p in self.logs():
            with open(p, "rb") as f:
                for n, line in enumerate(f, start=1):
                    if not line.endswith(b"\n"):
                        break
                    try:
                        rec = json.loads(line)
                    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as e:
                        raise IntegrityError(f"{p} line {n} is corrupt ({e}); remove that line (its run is redone) "
                                             "or use a new --out folder") from None
                    rec = check_record(rec, f"{p} line {n}")
                    if rec["key"] not in seen:
                        seen.add(rec["key"])
                        yield rec

    def repair(self) -> int:
        """Cut a torn last line (left by a killed writer) off this store's own log; returns the bytes removed."""
        p = self.path / self.log_name
        if not p.exists():
            return 0
        size = p.stat().st_size
        keep, pos = 0, size
        with open(p, "rb+") as f:
            while pos > 0:
                step = min(1 << 16, pos)
                f.seek(pos - step)
                cut = f.read(step).rfind(b"\n")
                if cut >= 0:
                    keep = pos - step + cut + 1
                    break
                pos -= step
            if keep < size:
                f.truncate(keep)
        return size - keep

    def done(self) -> set[tuple[str, int]]:
        """(cell, run) pairs with a record in the folder (whatever their key)."""
        return {(r["cell"], int(r["run"])) for r in self.records()}

    def resume(self, wanted: Iterable[tuple[str, int, int, str]], checksum: str) -> dict[str, dict[str, Any]]:
        """The finished records among ``wanted`` = ``(cell, run, seed, key)``, by key; raises
        :class:`ConfigError` when the folder holds one of those ``(cell, run)`` under another key."""
        want = {(c, r): (s, k) for c, r, s, k in wanted}
        keys = {k for _, k in want.values()}
        found: dict[str, dict[str, Any]] = {}
        for rec in self.records():
            if rec["key"] in keys:
                found[rec["key"]] = rec
                continue
            hit = want.get((rec["cell"], int(rec["run"])))
            if hit is None:
                continue
            seed, _ = hit
            where = f"{self.path} already holds run {rec['run']} of cell {rec['cell']}"
            if int(rec["seed"]) != seed:
                raise ConfigError(f"{where} made with seed {rec['seed']}, but this grid gives it seed {seed}; use the "
                                  f"same --seed as before ({int(rec['seed']) - int(rec['run'])}) or a new --out folder")
            if rec["bench"] != checksum:
                raise ConfigError(f"{where} made with benchmark store {rec['bench']}, but the installed store is "
                                  f"{checksum}; use a new --out folder (or reinstall the store the results came from)")
            raise ConfigError(f"{where} made with different settings; finished runs would mix two configurations. "
                              "Use a new --out folder, or give the changed setting a new name")
        return found

    def expect(self, keys: Mapping[tuple[str, int], str], checksum: str) -> None:
        """The run keys (by ``(cell, run)``) and store checksum that appended records are stamped with."""
        self._keys = dict(keys)
        self._bench = checksum

    def append(self, record: dict[str, Any]) -> None:
        """Add one finished run, stamped with its run key, to this store's log in a single write."""
        rec = dict(record)
        try:
            rec["key"] = self._keys[(rec["cell"], int(rec["run"]))]
        except KeyError:
            raise IntegrityError(f"a worker returned run {rec.get('run')!r} of cell {rec.get('cell')!r}, which this "
                                 "grid did not ask for") from None
        rec["bench"] = self._bench
        if self._log is None:
            self._log = open(self.path / self.log_name, "ab", buffering=0)
        self._log.write((json.dumps(rec, separators=(",", ":")) + "\n").encode())
