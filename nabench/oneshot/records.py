"""The files a search writes into its output folder, written so that an interrupted run keeps its epochs.

* ``config.json``: the resolved :class:`~nabench.oneshot.config.SearchConfig`, the device, the store
  checksum and the command line, written before the first epoch.
* ``epochs.csv``: one row per epoch, appended and flushed as soon as the epoch ends (search
  losses, throughput, the derived architecture and, for NAS-Bench-201, its table accuracies).
* ``result.json``: the final architecture (string and index, or DARTS genotype), its lookups and the
  final ``alpha`` and op weights, written at the end (atomically, via a temporary file).

A folder that already holds a search's files is never overwritten unless asked (``overwrite``).
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any, Iterable

from nabench.errors import ConfigError

FILES: tuple[str, ...] = ("config.json", "epochs.csv", "result.json")


def prepare_out_dir(out: str | os.PathLike[str], overwrite: bool) -> Path:
    """Create ``out``; refuse (ConfigError) if it already holds search results and ``overwrite`` is off."""
    path = Path(out).expanduser()
    if path.exists() and not path.is_dir():
        raise ConfigError(f"--out {path} is a file; name a folder for the search results")
    existing = [f for f in FILES if (path / f).exists()]
    if existing and not overwrite:
        raise ConfigError(f"{path} already holds a search ({', '.join(existing)}); choose another --out "
                          "or pass --overwrite to replace it")
    path.mkdir(parents=True, exist_ok=True)
    for f in existing:
        (path / f).unlink()
    return path


def write_json(path: Path, obj: Any) -> None:
    """Write JSON atomically (a temporary file renamed into place)."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2, sort_keys=False) + "\n")
    os.replace(tmp, path)


class EpochCSV:
    """Appends one row per epoch to ``epochs.csv`` with a fixed header, flushing after each row."""

    def __init__(self, path: Path, fields: Iterable[str]) -> None:
        self.path = path
        self.fields = list(fields)
        with open(path, "w", newline="") as f:
            csv.DictWriter(f, fieldnames=self.fields).writeheader()

    def append(self, row: dict[str, Any]) -> None:
        unknown = set(row) - set(self.fields)
        if unknown:
            raise ValueError(f"row has fields {sorted(unknown)} not in the header")
        with open(self.path, "a", newline="") as f:
            csv.DictWriter(f, fieldnames=self.fields).writerow(row)
            f.flush()
            os.fsync(f.fileno())
