"""The files a search writes into its output folder, written so that an interrupted run keeps its epochs.

* ``config.json``: the resolved :class:`~nabench.oneshot.config.SearchConfig`, the device, the store
  checksum and the command line, written before the first epoch.
* ``epochs.csv``: one row per epoch, appended and flushed as soon as the epoch ends (search
  losses, throughput, the derived architecture and, for NAS-Bench-201, its table accuracies).
* ``checkpoint.pt``: the state after the last finished epoch, with its rows (see
  :mod:`nabench.oneshot.checkpoint`); rerunning the same command resumes from it.
* ``result.json``: the final architecture (string and index, or DARTS genotype), its lookups and the
  final ``alpha`` and op weights, written at the end (atomically, via a temporary file).

A folder holding a finished search is never overwritten unless asked (``overwrite``); one holding
an unfinished search is resumed.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any, Iterable

from nabench.atomic import atomic_write, write_text
from nabench.errors import ConfigError

FILES: tuple[str, ...] = ("config.json", "epochs.csv", "checkpoint.pt", "result.json")


def prepare_out_dir(out: str | os.PathLike[str], overwrite: bool) -> Path:
    """Create ``out`` (emptied of search files with ``overwrite``); refuse a finished search without it."""
    path = Path(out).expanduser()
    if path.exists() and not path.is_dir():
        raise ConfigError(f"--out {path} is a file; name a folder for the search results")
    if overwrite:
        for f in FILES:
            (path / f).unlink(missing_ok=True)
    elif (path / "result.json").exists():
        raise ConfigError(f"{path} already holds a finished search (result.json); choose another --out "
                          "or pass --overwrite to replace it")
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_json(path: Path, obj: Any) -> None:
    """Write JSON atomically (a temporary file renamed into place)."""
    write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


class EpochCSV:
    """``epochs.csv`` with a fixed header: starts with ``rows`` (those of a resumed search) and then
    appends one row per epoch, flushing each."""

    def __init__(self, path: Path, fields: Iterable[str], rows: Iterable[dict[str, Any]] = ()) -> None:
        self.path = path
        self.fields = list(fields)
        with atomic_write(path, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=self.fields)
            writer.writeheader()
            writer.writerows(rows)

    def append(self, row: dict[str, Any]) -> None:
        unknown = set(row) - set(self.fields)
        if unknown:
            raise ValueError(f"row has fields {sorted(unknown)} not in the header")
        with open(self.path, "a", newline="") as f:
            csv.DictWriter(f, fieldnames=self.fields).writerow(row)
            f.flush()
            os.fsync(f.fileno())
