"""Get the upstream files into ``<data_dir>/downloads``: download them, or copy them from a mirror.

Every file is written to a temporary name beside its target, verified against the manifest's sha256,
and only then renamed into place (``os.replace``), so an interrupted fetch never leaves a partial
file under the final name. A file already present with the right checksum is not fetched again.

The mirror is a folder (``--mirror DIR`` / ``$NABENCH_MIRROR``) holding the files under their
manifest names, or an ``http(s)://`` base URL serving them (an institutional mirror).

Every wait is bounded (issue 12.7): each answer of the server within :data:`TIMEOUT`, and each download
attempt as a whole within a deadline (:func:`attempt_deadline`), so a server that sends one byte every 19 s,
in its headers or its body, cannot hold a fetch forever. The deadline is enforced by a watchdog thread that
shuts the attempt's sockets down (a read blocked in the kernel then returns); the sockets are those of the
connections the attempt's own opener made (:class:`_Tracking`), redirects included.
"""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import sys
import tempfile
import threading
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
#: Seconds every download attempt may take on top of its size at :data:`MIN_RATE` (also the limit for the
#: connection and the headers, before the size is known).
DEADLINE_BASE = 60.0
#: Slowest average rate (bytes/s) a download attempt may keep; slower counts as a stalled server.
MIN_RATE = 50_000
#: Longest deadline of an attempt (the upstream files are a few MB), and that of a server announcing no size.
DEADLINE_MAX = 1800.0


def attempt_deadline(size: int | None) -> float:
    """Seconds one download attempt may take in all: :data:`DEADLINE_BASE` plus ``size`` bytes at
    :data:`MIN_RATE`, at most :data:`DEADLINE_MAX` (also when the server does not say how large the file is)."""
    return DEADLINE_MAX if size is None else min(DEADLINE_BASE + max(size, 0) / MIN_RATE, DEADLINE_MAX)


class _DeadlinePassed(TimeoutError):
    """The attempt ran past its deadline (the watchdog shut its connection)."""


class _Watchdog:
    """Shuts down the sockets in ``socks`` once ``time.monotonic()`` passes ``end`` (movable by :meth:`until`)."""

    def __init__(self, seconds: float) -> None:
        self.start = time.monotonic()
        self.end = self.start + seconds
        self.socks: list[socket.socket] = []
        self.expired = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="nabench-fetch-deadline", daemon=True)
        self._thread.start()

    def until(self, seconds: float) -> None:
        """Move the deadline to ``seconds`` after the attempt started."""
        self.end = self.start + seconds

    def _watch(self) -> None:
        # once expired, keep shutting down: a connection still connecting has no socket yet
        while not self._stop.wait(0.25 if self.expired else min(max(self.end - time.monotonic(), 0.0), 0.25)):
            if time.monotonic() >= self.end:
                self.expired = True
                for sock in list(self.socks):
                    try:
                        sock.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


class _Tracking:
    """Mixin for urllib's HTTP(S) handlers: the socket of every connection made is recorded in ``socks`` (for
    the watchdog) as it connects; the connection object drops it once the headers are read, the response keeps
    reading from it."""

    def __init__(self, socks: list[socket.socket], **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[call-arg]
        self.socks = socks

    def do_open(self, http_class: type, req: urllib.request.Request, **kwargs: object) -> http.client.HTTPResponse:
        def make(*args: object, **kw: object) -> http.client.HTTPConnection:
            conn = http_class(*args, **kw)
            connect = conn.connect

            def tracked_connect() -> None:
                connect()
                self.socks.append(conn.sock)

            conn.connect = tracked_connect  # type: ignore[method-assign]
            return conn

        return super().do_open(make, req, **kwargs)  # type: ignore[misc]


class _HTTP(_Tracking, urllib.request.HTTPHandler):
    pass


class _HTTPS(_Tracking, urllib.request.HTTPSHandler):
    pass


def _attempt(url: str, tmp: Path, label: str, timeout: float, deadline: float | None, progress: bool) -> None:
    """One download attempt of ``url`` into ``tmp``, within ``timeout`` per answer and its deadline in all."""
    dog = _Watchdog(DEADLINE_BASE if deadline is None else deadline)
    opener = urllib.request.build_opener(_HTTP(dog.socks), _HTTPS(dog.socks))
    received = 0
    try:
        with opener.open(url, timeout=timeout) as resp, open(tmp, "wb") as out:
            total = int(resp.headers.get("Content-Length") or 0) or None
            if deadline is None:
                dog.until(attempt_deadline(total))
            with tqdm(total=total, unit="B", unit_scale=True, desc=label, disable=not progress, leave=False) as bar:
                while block := resp.read(1 << 16):
                    out.write(block)
                    received += len(block)
                    bar.update(len(block))
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError, ValueError, http.client.HTTPException):
        if not dog.expired:
            raise
    finally:
        dog.close()
    if dog.expired:
        raise _DeadlinePassed(f"the server was too slow: the attempt passed its deadline of {dog.end - dog.start:g} s "
                              f"with {received} bytes received")


def _download(url: str, tmp: Path, label: str, retries: int, timeout: float, progress: bool, log: Log,
              deadline: float | None = None) -> None:
    """Download ``url`` into ``tmp``; every wait is bounded by ``timeout`` (connect and each read) and each
    attempt by ``deadline`` seconds in all (``None``: :func:`attempt_deadline` of the size the server
    announces), both announced first, so a server that never answers or trickles costs a bounded time,
    and the user sees what is being waited for."""
    last: Exception | None = None
    budget = (f"{deadline:g} s per attempt" if deadline is not None else
              f"{DEADLINE_BASE:g} s + 1 s per {MIN_RATE // 1000} kB per attempt, at most {DEADLINE_MAX:g} s")
    log(f"  {label}: downloading from {url} (waiting at most {timeout:g} s for each answer and {budget}, "
        f"{retries} attempt{'s' if retries != 1 else ''})")
    for attempt in range(1, retries + 1):
        try:
            _attempt(url, tmp, label, timeout, deadline, progress)
            return
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError, ValueError,
                http.client.HTTPException) as e:
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
    if isinstance(e, _DeadlinePassed):
        return str(e)
    if isinstance(e, TimeoutError) or "timed out" in str(e):
        return "no answer within the timeout"
    return " ".join(f"{type(e).__name__}: {e}".split())[:200]


def fetch_one(src: Source, downloads: Path, mirror: str | os.PathLike[str] | None = None, *, retries: int = 3,
              timeout: float = TIMEOUT, deadline: float | None = None, progress: bool = True,
              log: Log | None = None) -> Path | None:
    """Put one verified upstream file into ``downloads``; ``None`` if an optional file is absent from the mirror.

    ``timeout`` bounds each wait for the server, ``deadline`` each download attempt in all (seconds; ``None``:
    :func:`attempt_deadline` of the announced size).
    """
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
                _download(url, tmp, src.name, retries, timeout, progress, log or _stderr, deadline)
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
              retries: int = 3, deadline: float | None = None, progress: bool = True,
              log: Log = print) -> dict[str, Path]:
    """Fetch every manifest file (optional ones too unless ``optional=False``); returns name -> path.
    ``deadline``: seconds each download attempt may take (see :func:`fetch_one`)."""
    got: dict[str, Path] = {}
    for src in manifest.sources():
        if not src.required and not optional:
            continue
        path = fetch_one(src, downloads, mirror, retries=retries, deadline=deadline, progress=progress, log=log)
        if path is None:
            log(f"  optional {src.name}: not available, skipped ({src.holds})")
            continue
        log(f"  {src.name}: ok (sha256 verified)")
        got[src.name] = path
    return got


def verify_downloads(downloads: Path) -> dict[str, str]:
    """Check the files in ``downloads``: name -> 'ok', 'missing', 'corrupt' or 'unreadable' (no permission)."""
    status = {}
    for src in manifest.sources():
        path = downloads / src.name
        try:
            present = path.exists()
        except OSError:  # EACCES: a folder this user may not look into
            status[src.name] = "unreadable"
            continue
        if not present:
            status[src.name] = "missing"
        else:
            try:
                manifest.verify(path, src.sha256, src.name, "")
                status[src.name] = "ok"
            except (IntegrityError, OSError):  # OSError: not a readable file (a folder, no permission)
                status[src.name] = "corrupt"
    return status
