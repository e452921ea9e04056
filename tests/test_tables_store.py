"""Fetching, verifying and storing: checksums, interruptions, missing data, and the HTTP path."""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

import nabench
from nabench.errors import DataNotFoundError, IntegrityError
from nabench.tables import build_from_upstream, fetch, manifest, paths, store

QUIET = dict(progress=False, log=lambda _: None)


@pytest.fixture()
def built(tmp_path, data_dir):
    """A private copy of the session store, safe to damage."""
    dest = tmp_path / "data"
    shutil.copytree(data_dir / "nb201", dest / "nb201")
    return dest


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture()
def http_mirror(mirror):
    """An HTTP server on 127.0.0.1 serving the mirror folder; yields its base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=str(mirror)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_download_path_over_http(tmp_path, http_mirror):
    bench = build_from_upstream(tmp_path, http_mirror, **QUIET)
    assert round(float(bench.accuracy(6111, dataset="cifar10", split="ori-test", fidelity=200)), 4) == 94.3733
    got = sorted(p.relative_to(tmp_path / "downloads").as_posix() for p in (tmp_path / "downloads").rglob("*")
                 if p.is_file())
    assert got == sorted(s.name for s in manifest.sources())


def test_http_download_retries_then_explains(tmp_path, monkeypatch):
    monkeypatch.setattr(fetch.time, "sleep", lambda s: None)
    src = manifest.source("nats_bench.csv")
    with pytest.raises(DataNotFoundError, match="after 2 attempts.*--mirror"):
        fetch.fetch_one(src, tmp_path, "http://127.0.0.1:9", retries=2, timeout=2, progress=False)
    assert not any(tmp_path.iterdir()), "no partial file may remain"


class _Trickle:
    """A server on 127.0.0.1 that sends one byte every ``gap`` seconds: of an endless header line
    (``part="headers"``) or, after complete headers announcing ``length`` bytes, of its body; never slow enough
    to trip a per-read timeout."""

    def __init__(self, part: str, gap: float = 0.05, length: int | None = 10**6) -> None:
        import socket

        self.part, self.gap, self.length = part, gap, length
        self.stop = threading.Event()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            threading.Thread(target=self._send, args=(conn,), daemon=True).start()

    def _send(self, conn) -> None:
        head = b"HTTP/1.1 200 OK\r\n" + (f"Content-Length: {self.length}\r\n".encode() if self.length else b"")
        head += b"\r\n"
        with conn:
            try:
                conn.recv(4096)
                if self.part == "body":
                    conn.sendall(head)
                for byte in (b"HTTP/1.1 200 OK\r\nX-Slow: " + b"x" * 10**6 if self.part == "headers" else b"x" * 10**6):
                    if self.stop.wait(self.gap):  # not time.sleep: tests may stub it out
                        return
                    conn.sendall(bytes([byte]))
            except OSError:
                return

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


@pytest.mark.parametrize("part, length", [("body", 10**6), ("body", None), ("headers", None)])
def test_trickling_server_is_given_up_at_the_deadline(tmp_path, monkeypatch, part, length):
    """One byte every 50 ms never trips the per-read timeout; the per-attempt deadline ends each attempt."""
    import time

    server = _Trickle(part, length=length)
    lines: list[str] = []
    src = manifest.source("nats_bench.csv")
    try:
        start = time.monotonic()
        with pytest.raises(DataNotFoundError, match=r"after 2 attempts \(the server was too slow: the attempt passed "
                                                    r"its deadline of 1 s with \d+ bytes received\).*--mirror DIR"):
            fetch.fetch_one(src, tmp_path, server.url, retries=2, timeout=5, deadline=1.0, progress=False,
                            log=lines.append)
        elapsed = time.monotonic() - start
    finally:
        server.close()
    assert elapsed < 5, f"two attempts of 1 s (and a 1 s pause) took {elapsed:.1f} s"
    assert server.connections == 2
    assert "at most 5 s for each answer and 1 s per attempt, 2 attempts" in lines[0], lines
    assert not any(tmp_path.iterdir()), "no partial file may remain"


def test_default_deadline_follows_the_announced_size():
    assert fetch.attempt_deadline(3_000_000) == fetch.DEADLINE_BASE + 3_000_000 / fetch.MIN_RATE
    assert fetch.attempt_deadline(None) == fetch.DEADLINE_MAX == fetch.attempt_deadline(10**30)
    assert fetch.attempt_deadline(-5) == fetch.DEADLINE_BASE


def test_fetch_cli_deadline(tmp_path, monkeypatch, capsys):
    from nabench.cli import main

    monkeypatch.setattr(fetch.time, "sleep", lambda s: None)
    server = _Trickle("body")
    try:
        code = main(["data", "fetch", "--mirror", server.url, "--deadline", "0.5", "--quiet",
                     "--data-dir", str(tmp_path / "data")])
    finally:
        server.close()
    out, err = capsys.readouterr()
    assert code == 2 and "Traceback" not in err and "deadline of 0.5 s" in err.splitlines()[-1]
    assert "and 0.5 s per attempt" in out + err
    for bad in ("0", "-1", "nan", "inf"):
        assert main(["data", "fetch", "--deadline", bad, "--data-dir", str(tmp_path / "data")]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "--deadline" in err
    assert not (tmp_path / "data" / "nb201").exists()


def test_tampered_mirror_file_is_rejected_and_not_kept(tmp_path, mirror):
    bad = tmp_path / "mirror"
    shutil.copytree(mirror, bad, ignore=shutil.ignore_patterns("nats_official_sample"))
    (bad / "nats_bench.csv").chmod(0o644)
    with open(bad / "nats_bench.csv", "r+b") as f:
        f.seek(1000)
        f.write(b"9")
    with pytest.raises(IntegrityError, match="nats_bench.csv.*failed its checksum"):
        build_from_upstream(tmp_path / "data", bad, **QUIET)
    assert not (tmp_path / "data" / "downloads" / "nats_bench.csv").exists()
    assert not (tmp_path / "data" / "nb201").exists()


def test_truncated_mirror_file_is_rejected(tmp_path, mirror):
    bad = tmp_path / "mirror"
    bad.mkdir()
    for s in manifest.sources():
        (bad / s.name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(mirror / s.name, bad / s.name)
    data = (bad / "mini-bench-arch-cell-accs.pd").read_bytes()
    (bad / "mini-bench-arch-cell-accs.pd").write_bytes(data[: len(data) // 2])
    with pytest.raises(IntegrityError, match="mini-bench-arch-cell-accs.pd"):
        build_from_upstream(tmp_path / "data", bad, **QUIET)


def test_missing_required_file_in_mirror(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataNotFoundError, match="has no nats_bench.csv"):
        build_from_upstream(tmp_path / "data", tmp_path / "empty", **QUIET)


def test_optional_file_absent_builds_without_ori_test(tmp_path, mirror):
    partial = tmp_path / "mirror"
    partial.mkdir()
    for s in manifest.sources():
        if s.required:
            shutil.copyfile(mirror / s.name, partial / s.name)
    bench = build_from_upstream(tmp_path / "data", partial, **QUIET)
    assert not bench.has("acc", "cifar100", "ori-test", 200)
    from nabench.errors import NotAvailableError

    with pytest.raises(NotAvailableError):
        bench.accuracy(0, dataset="cifar100", split="ori-test", fidelity=200)
    assert bench.accuracy(0, dataset="cifar100", split="x-test", fidelity=200) > 0


def test_missing_store_says_how_to_get_it(tmp_path):
    with pytest.raises(DataNotFoundError, match=r"nabench data fetch.*--mirror DIR.*nabench data import PATH"):
        nabench.load("nb201", data_dir=tmp_path)


@pytest.mark.parametrize("damage", ["flip", "truncate", "delete"])
def test_corrupt_store_is_caught_by_checksum(built, damage):
    target = built / "nb201" / store.ARRAYS
    if damage == "flip":
        data = bytearray(target.read_bytes())
        data[len(data) // 2] ^= 0xFF
        target.write_bytes(bytes(data))
    elif damage == "truncate":
        target.write_bytes(target.read_bytes()[:1000])
    else:
        target.unlink()
    with pytest.raises(IntegrityError, match="nabench data fetch --force"):
        nabench.load("nb201", data_dir=built)
    assert store.verify(built / "nb201")


def test_corrupt_description_is_reported(built):
    (built / "nb201" / store.META).write_text("{not json")
    with pytest.raises(IntegrityError, match="unreadable"):
        nabench.load("nb201", data_dir=built)


def test_interrupted_rebuild_keeps_previous_store(built, monkeypatch):
    before = nabench.load("nb201", data_dir=built).checksum

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(store.os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        store.write(built / "nb201", {"ops": np.zeros((2, 6))}, provenance={}, made_by="test", sources={})
    monkeypatch.undo()
    assert nabench.load("nb201", data_dir=built).checksum == before
    assert [p.name for p in built.iterdir()] == ["nb201"], "no temporary folder may remain"


def test_fetch_reuses_verified_downloads(tmp_path, mirror, monkeypatch):
    build_from_upstream(tmp_path, mirror, **QUIET)
    calls = []
    monkeypatch.setattr(fetch.shutil, "copyfile", lambda *a: calls.append(a))
    fetch.fetch_all(paths.downloads_dir(tmp_path), mirror, progress=False, log=lambda _: None)
    assert calls == []
    assert set(fetch.verify_downloads(paths.downloads_dir(tmp_path)).values()) == {"ok"}


def test_data_dir_resolution(monkeypatch, tmp_path):
    monkeypatch.setenv(paths.ENV_DATA, str(tmp_path / "env"))
    assert paths.data_dir() == tmp_path / "env"
    assert paths.data_dir(tmp_path / "flag") == tmp_path / "flag"
    monkeypatch.delenv(paths.ENV_DATA)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert paths.data_dir() == Path(tmp_path / "cache" / "nabench")


@pytest.mark.parametrize("hash_seed", ["1", "2"])
def test_rebuild_is_byte_identical(tmp_path, mirror, data_dir, hash_seed):
    """The store's checksum identifies its content: a rebuild in another process gives the same bytes."""
    import os
    import subprocess
    import sys

    code = ("import sys; from nabench.tables import build_from_upstream; "
            "print(build_from_upstream(sys.argv[1], sys.argv[2], progress=False, log=lambda _: None).checksum)")
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path), str(mirror)], env=env, capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == nabench.load("nb201", data_dir=data_dir).checksum
    assert (tmp_path / "nb201" / store.ARRAYS).read_bytes() == (data_dir / "nb201" / store.ARRAYS).read_bytes()


def test_loaded_arrays_are_read_only(bench):
    with pytest.raises(ValueError):
        bench._a["ops"][0, 0] = 1
