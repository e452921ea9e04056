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
import sys
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


def _stderr(line: str) -> None:
    print(line, file=sys.stderr)


def _tmp_beside(dest: Path) -> Path:
    fd, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    os.close(fd)
    return Path(name)


#: Seconds one connection attempt may wait for the server to connect or to send the next block.
TIMEOUT = 20.0


def _download(url: str, tmp: Path, label: str, retries: int, timeout: float, progress: bool, log: Log) -> None:
    """Download ``url`` into ``tmp``; every wait is bounded by ``timeout`` (connect and each read) and
    announced first, so a server that never answers costs at most ``retries x timeout`` plus short
    pauses, and the user sees what is being waited for."""
    last: Exception | None = None
    log(f"  {label}: downloading from {url} (waiting at most {timeout:g} s for each answer, "
        f"{retries} attempt{'s' if retries != 1 else ''})")
    for attempt in range(1, retries + 1):
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp, open(tmp, "wb") as out:
                total = int(resp.headers.get("Content-Length") or 0) or None
                with tqdm(total=total, unit="B", unit_scale=True, desc=label, disable=not progress, leave=False) as bar:
                    while block := resp.read(1 << 16):
                        out.write(block)
                        bar.update(len(block))
            return
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError, ValueError) as e:
            last = e
            if attempt < retries:
                pause = min(2.0 ** (attempt - 1), 8.0)
                log(f"  {label}: attempt {attempt} of {retries} failed ({_reason(e)}); retrying in {pause:g} s")
                time.sleep(pause)
    raise DataNotFoundError(
        f"could not download {label} from {url} after {retries} attempts ({_reason(last)}). Check the network, or "
        f"copy the upstream files into a folder and run `nabench data fetch --mirror DIR` "
        f"(or set $NABENCH_MIRROR)"
    )


def _reason(e: Exception | None) -> str:
    """One short line saying why a download failed."""
    if isinstance(e, urllib.error.URLError) and not isinstance(e, urllib.error.HTTPError):
        e = e.reason if isinstance(e.reason, Exception) else e
    if isinstance(e, TimeoutError) or "timed out" in str(e):
        return "no answer within the timeout"
    return " ".join(f"{type(e).__name__}: {e}".split())[:200]


def fetch_one(src: Source, downloads: Path, mirror: str | os.PathLike[str] | None = None, *, retries: int = 3,
              timeout: float = TIMEOUT, progress: bool = True, log: Log | None = None) -> Path | None:
    """Put one verified upstream file into ``downloads``; ``None`` if an optional file is absent from the mirror."""
    downloads.mkdir(parents=True, exist_ok=True)
    dest = downloads / src.name
    dest.parent.mkdir(parents=True, exist_ok=True)  # a manifest name may name a folder (yahpo_nb301/...)
    if dest.is_dir() and not dest.is_symlink():
        shutil.rmtree(dest)  # a folder under a manifest name in our downloads folder is damage, not data
    elif dest.exists() or dest.is_symlink():
        try:
            if manifest.sha256_file(dest) == src.sha256:
                return dest
        except OSError:
            pass
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
            try:
                shutil.copyfile(path, tmp)
            except OSError as e:
                raise DataNotFoundError(f"cannot copy {path} from the mirror folder ({e.strerror}); check the "
                                        "file's permissions or fetch without --mirror") from None
            where = f"mirror file {path}"
        else:
            url = f"{mirror_s.rstrip('/')}/{src.name}" if is_url_mirror else src.url
            try:
                _download(url, tmp, src.name, retries, timeout, progress, log or _stderr)
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
        path = fetch_one(src, downloads, mirror, retries=retries, progress=progress, log=log)
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
            except (IntegrityError, OSError):  # OSError: not a readable file (a folder, no permission)
                status[src.name] = "corrupt"
    return status
