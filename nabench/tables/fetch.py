"""Get the upstream files into ``<data_dir>/downloads``: download them, or copy them from a mirror.

Every file is written to a temporary name beside its target, verified against the manifest's sha256,
and only then renamed into place (``os.replace``), so an interrupted fetch never leaves a partial
file under the final name. A file already present with the right checksum is not fetched again.

The mirror is a folder (``--mirror DIR`` / ``$NABENCH_MIRROR``) holding the files under their
manifest names, or an ``http(s)://`` base URL serving them (an institutional mirror).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable

from tqdm.auto import tqdm

from nabench.errors import DataNotFoundError, IntegrityError
from nabench.tables import manifest
from nabench.tables.manifest import Source

Log = Callable[[str], None]


def _tmp_beside(dest: Path) -> Path:
    fd, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    os.close(fd)
    return Path(name)


def _download(url: str, tmp: Path, label: str, retries: int, timeout: float, progress: bool) -> None:
    last: Exception | None = None
    for attempt in range(1, retries + 1):
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp, open(tmp, "wb") as out:
                total = int(resp.headers.get("Content-Length") or 0) or None
                with tqdm(total=total, unit="B", unit_scale=True, desc=label, disable=not progress, leave=False) as bar:
                    while block := resp.read(1 << 16):
                        out.write(block)
                        bar.update(len(block))
            return
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as e:
            last = e
            if attempt < retries:
                time.sleep(min(2.0 ** (attempt - 1), 8.0))
    raise DataNotFoundError(
        f"could not download {label} from {url} after {retries} attempts ({last}). Check the network, or "
        f"copy the upstream files into a folder and run `nabench data fetch --mirror DIR` "
        f"(or set $NABENCH_MIRROR)"
    )


def fetch_one(src: Source, downloads: Path, mirror: str | os.PathLike[str] | None = None, *, retries: int = 3,
              timeout: float = 60.0, progress: bool = True) -> Path | None:
    """Put one verified upstream file into ``downloads``; ``None`` if an optional file is absent from the mirror."""
    downloads.mkdir(parents=True, exist_ok=True)
    dest = downloads / src.name
    if dest.exists():
        if manifest.sha256_file(dest) == src.sha256:
            return dest
        dest.unlink()
    mirror_s = str(mirror) if mirror is not None else None
    is_url_mirror = bool(mirror_s and mirror_s.startswith(("http://", "https://")))
    tmp = _tmp_beside(dest)
    try:
        if mirror_s and not is_url_mirror:
            path = Path(mirror_s).expanduser() / src.name
            if not path.is_file():
                if not src.required:
                    return None
                raise DataNotFoundError(
                    f"the mirror folder {mirror_s} has no {src.name}. Put the file there (from {src.url}) or "
                    "fetch without --mirror on a machine with internet"
                )
            shutil.copyfile(path, tmp)
            where = f"mirror file {path}"
        else:
            url = f"{mirror_s.rstrip('/')}/{src.name}" if is_url_mirror else src.url
            try:
                _download(url, tmp, src.name, retries, timeout, progress)
            except DataNotFoundError:
                if not src.required:
                    return None
                raise
            where = f"download of {src.name} from {url}"
        manifest.verify(tmp, src.sha256, where,
                        "Replace it with the pinned file (delete it and run `nabench data fetch` again).")
        os.replace(tmp, dest)
        return dest
    finally:
        if tmp.exists():
            tmp.unlink()


def fetch_all(downloads: Path, mirror: str | os.PathLike[str] | None = None, *, optional: bool = True,
              retries: int = 3, progress: bool = True, log: Log = print) -> dict[str, Path]:
    """Fetch every manifest file (optional ones too unless ``optional=False``); returns name -> path."""
    got: dict[str, Path] = {}
    for src in manifest.sources():
        if not src.required and not optional:
            continue
        path = fetch_one(src, downloads, mirror, retries=retries, progress=progress)
        if path is None:
            log(f"  optional {src.name}: not available, skipped ({src.holds})")
            continue
        log(f"  {src.name}: ok (sha256 verified)")
        got[src.name] = path
    return got


def verify_downloads(downloads: Path) -> dict[str, str]:
    """Check the files in ``downloads``: name -> 'ok', 'missing' or 'corrupt'."""
    status = {}
    for src in manifest.sources():
        path = downloads / src.name
        if not path.exists():
            status[src.name] = "missing"
        else:
            try:
                manifest.verify(path, src.sha256, src.name, "")
                status[src.name] = "ok"
            except IntegrityError:
                status[src.name] = "corrupt"
    return status
