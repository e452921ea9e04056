"""The results folder of a grid: a manifest, an append-only log of finished runs, and tidy tables.

Layout of ``OUT/``:

* ``manifest.json``: the grid (every cell's resolved settings), the nabench version and the
  benchmark checksum; written atomically before the first run and updated at the end.
* ``runs.jsonl``: one line per finished run (its whole trajectory), appended by the single parent
  process in one write and flushed. This is the durable store: a run is finished when its line is
  complete. A run killed half-way leaves at most a torn last line, which is cut off on resume.
* ``evaluations.csv.gz``: one row per evaluation (run, seed, searcher, step, simulated time,
  architecture, signal, incumbent and its reported test accuracy), made from the log at the end.
* ``runs.csv``: one row per run and report target (final architecture and test accuracy).
* ``summary.csv`` / ``paired.csv``: see :mod:`nabench.experiments.summary`.

Resuming: a grid run again into the same folder skips every (cell, run) already in the log, so an
interrupted grid redoes nothing finished and duplicates nothing. Cells must keep their settings
(a changed cell is refused, as is a store with another benchmark checksum); new cells may be added.
A lock file keeps two processes from writing one folder at once.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterator

from nabench.atomic import write_bytes
from nabench.errors import ConfigError, IntegrityError

MANIFEST = "manifest.json"
LOG = "runs.jsonl"
LOCK = ".lock"


def write_atomic(path: Path, data: bytes) -> None:
    """Write a file so that readers see the old or the new content, never a mix."""
    write_bytes(path, data)


class ResultsStore:
    """A results folder opened for writing (holds its lock until :meth:`close`)."""

    def __init__(self, out: str | Path) -> None:
        self.path = Path(out)
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ConfigError(f"cannot create the results folder {self.path}: {e.strerror}; pick another --out") from e
        if not os.access(self.path, os.W_OK):
            raise ConfigError(f"the results folder {self.path} is not writable; pick another --out")
        self._lock = open(self.path / LOCK, "w")
        try:
            import fcntl

            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except ImportError:  # pragma: no cover - no advisory locks on this platform
            pass
        except OSError:
            self._lock.close()
            raise ConfigError(f"another nabench run is writing to {self.path}; wait for it or pick another --out") from None
        self._log = None

    def close(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None
        self._lock.close()

    def __enter__(self) -> "ResultsStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ manifest
    def read_manifest(self) -> dict[str, Any] | None:
        p = self.path / MANIFEST
        if not p.exists():
            return None
        try:
            return json.loads(p.read_text())
        except json.JSONDecodeError as e:
            raise IntegrityError(f"{p} is not valid JSON ({e}); restore it or start a new --out folder") from None

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        write_atomic(self.path / MANIFEST, (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode())

    def merge_manifest(self, cells: dict[str, dict], checksum: str, extra: dict[str, Any]) -> dict[str, Any]:
        """Check a grid against the folder's manifest and write the merged manifest."""
        old = self.read_manifest()
        if old is None:
            manifest = dict(extra, bench_checksum=checksum, cells=cells, complete=False)
        else:
            if old.get("bench_checksum") != checksum:
                raise ConfigError(
                    f"{self.path} holds results made with benchmark store {old.get('bench_checksum')}, but the installed "
                    f"store is {checksum}; use a new --out folder (or reinstall the store the results came from)"
                )
            for key, cell in cells.items():
                if key in old.get("cells", {}) and old["cells"][key] != cell:
                    raise ConfigError(
                        f"{self.path} already holds cell {key} with different settings; finished runs would mix two "
                        "configurations. Use a new --out folder, or give the changed setting a new name"
                    )
            merged = dict(old.get("cells", {}))
            merged.update(cells)
            manifest = dict(old, **extra, cells=merged, complete=False)
        self.write_manifest(manifest)
        return manifest

    # ------------------------------------------------------------------ run log
    def records(self) -> Iterator[dict[str, Any]]:
        """The finished runs in the log (a torn last line is skipped)."""
        p = self.path / LOG
        if not p.exists():
            return
        with open(p, "rb") as f:
            for line in f:
                if not line.endswith(b"\n"):
                    return
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as e:
                    raise IntegrityError(f"{p} has a corrupt line ({e}); remove that line to redo its run") from None

    def repair(self) -> int:
        """Cut a torn last line (left by a killed run) off the log; returns the bytes removed."""
        p = self.path / LOG
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
        """(cell, run) pairs already finished."""
        return {(r["cell"], int(r["run"])) for r in self.records()}

    def append(self, record: dict[str, Any]) -> None:
        """Add one finished run to the log in a single write."""
        if self._log is None:
            self._log = open(self.path / LOG, "ab")
        self._log.write((json.dumps(record, separators=(",", ":")) + "\n").encode())
        self._log.flush()
