"""Corruption of every file of a store: each damage is refused with one "corrupt store" line by every command.

Table-driven: each case damages one file of a private copy of a store (``arrays.bin``, ``meta.json``, the
index inside it, ``curves.npz`` of an imported store, or the store folder itself). For each, loading raises
:class:`IntegrityError` naming ``nabench data fetch --force``; ``query``, ``data info`` and ``run`` exit 2
with one line; ``data verify`` reports it (exit 2, as every error); and ``data fetch`` (no ``--force``) repairs it.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

import nabench
from nabench.cli import main
from nabench.errors import IntegrityError
from nabench.tables import official, store

TEST_KEY = "acc.cifar10.ori-test.200.mean"
OTHER_KEY = "acc.cifar100.x-test.200.mean"  # same dtype and shape: swapping their offsets is the audit's attack


def _cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


# ---------------------------------------------------------------------------------------------- damages
def _meta(path: Path) -> dict:
    return json.loads((path / store.META).read_text())


def _put_meta(path: Path, meta: object) -> None:
    (path / store.META).write_text(json.dumps(meta))


def _edit_meta(fn: Callable[[dict], None]) -> Callable[[Path], None]:
    def damage(path: Path) -> None:
        meta = _meta(path)
        fn(meta)
        _put_meta(path, meta)
    return damage


def _edit_bytes(name: str, fn: Callable[[bytes], bytes]) -> Callable[[Path], None]:
    def damage(path: Path) -> None:
        (path / name).write_bytes(fn((path / name).read_bytes()))
    return damage


def _flip(at: float) -> Callable[[bytes], bytes]:
    def fn(data: bytes) -> bytes:
        b = bytearray(data)
        b[min(int(len(b) * at), len(b) - 1)] ^= 0x01
        return bytes(b)
    return fn


def _replace_with_dir(name: str) -> Callable[[Path], None]:
    def damage(path: Path) -> None:
        (path / name).unlink()
        (path / name).mkdir()
        (path / name / "x").write_text("x")
    return damage


def _delete(name: str) -> Callable[[Path], None]:
    return lambda path: (path / name).unlink()


def _swap_offsets(meta: dict) -> None:
    idx = meta["index"]
    idx[TEST_KEY][2], idx[OTHER_KEY][2] = idx[OTHER_KEY][2], idx[TEST_KEY][2]


def _swap_names(meta: dict) -> None:
    idx = meta["index"]
    idx[TEST_KEY], idx[OTHER_KEY] = idx[OTHER_KEY], idx[TEST_KEY]


def _set_entry(field: int, value: object) -> Callable[[dict], None]:
    def fn(meta: dict) -> None:
        meta["index"][TEST_KEY][field] = value
    return fn


def _set(key: str, value: object) -> Callable[[dict], None]:
    def fn(meta: dict) -> None:
        meta[key] = value
    return fn


def _drop(key: str) -> Callable[[dict], None]:
    return lambda meta: meta.pop(key)


def _set_file_hash(name: str, value: object) -> Callable[[dict], None]:
    def fn(meta: dict) -> None:
        meta["files"][name] = value
    return fn


STORE_DAMAGES: dict[str, Callable[[Path], None]] = {
    # arrays.bin
    "arrays: truncated to half": _edit_bytes(store.ARRAYS, lambda d: d[: len(d) // 2]),
    "arrays: last byte cut": _edit_bytes(store.ARRAYS, lambda d: d[:-1]),
    "arrays: empty": _edit_bytes(store.ARRAYS, lambda d: b""),
    "arrays: first byte flipped": _edit_bytes(store.ARRAYS, _flip(0.0)),
    "arrays: middle byte flipped": _edit_bytes(store.ARRAYS, _flip(0.5)),
    "arrays: last byte flipped": _edit_bytes(store.ARRAYS, _flip(1.0)),
    "arrays: byte appended": _edit_bytes(store.ARRAYS, lambda d: d + b"\0"),
    "arrays: deleted": _delete(store.ARRAYS),
    "arrays: a directory": _replace_with_dir(store.ARRAYS),
    "arrays: huge sparse file": lambda p: os.truncate(p / store.ARRAYS, 2**30),  # refused by size, never read
    "arrays: symlink to meta": lambda p: ((p / store.ARRAYS).unlink(), (p / store.ARRAYS).symlink_to(p / store.META)),
    # the index inside meta.json
    "index: two offsets swapped": _edit_meta(_swap_offsets),
    "index: two names swapped": _edit_meta(_swap_names),
    "index: offset shifted by 8": _edit_meta(lambda m: m["index"][TEST_KEY].__setitem__(2, m["index"][TEST_KEY][2] + 8)),
    "index: dtype changed": _edit_meta(_set_entry(0, "<i8")),
    "index: dtype object": _edit_meta(_set_entry(0, "|O")),
    "index: dtype nonsense": _edit_meta(_set_entry(0, "zz")),
    "index: dtype a number": _edit_meta(_set_entry(0, 8)),
    "index: shape changed": _edit_meta(_set_entry(1, [15624])),
    "index: shape huge": _edit_meta(_set_entry(1, [10**12])),
    "index: shape negative": _edit_meta(_set_entry(1, [-15625])),
    "index: shape not a list": _edit_meta(_set_entry(1, 15625)),
    "index: offset a string": _edit_meta(_set_entry(2, "0")),
    "index: offset a float": _edit_meta(_set_entry(2, 0.0)),
    "index: offset a bool": _edit_meta(_set_entry(2, True)),
    "index: offset negative": _edit_meta(_set_entry(2, -64)),
    "index: offset past the end": _edit_meta(_set_entry(2, 10**9)),
    "index: entry not a list": _edit_meta(lambda m: m["index"].__setitem__(TEST_KEY, {"dtype": "<f8"})),
    "index: entry too short": _edit_meta(lambda m: m["index"].__setitem__(TEST_KEY, ["<f8", [15625]])),
    "index: entry dropped": _edit_meta(lambda m: m["index"].pop(TEST_KEY)),
    "index: entry added": _edit_meta(lambda m: m["index"].__setitem__("acc.cifar10.x-valid.200.mean",
                                                                       m["index"][TEST_KEY])),
    "index: not a table": _edit_meta(_set("index", [])),
    "index: rewritten with its hash": _edit_meta(lambda m: (_swap_offsets(m), m["files"].__setitem__(
        store.INDEX, "0" * 64))),
    # checksums inside meta.json
    "files: arrays hash changed": _edit_meta(_set_file_hash(store.ARRAYS, "f" * 64)),
    "files: arrays hash not hex": _edit_meta(_set_file_hash(store.ARRAYS, "xyz")),
    "files: arrays hash a number": _edit_meta(_set_file_hash(store.ARRAYS, 5)),
    "files: index hash dropped": _edit_meta(lambda m: m["files"].pop(store.INDEX)),
    "files: arrays hash dropped": _edit_meta(lambda m: m["files"].pop(store.ARRAYS)),
    "files: unknown file": _edit_meta(_set_file_hash("evil.bin", "0" * 64)),
    "files: not a table": _edit_meta(_set("files", "abc")),
    # every key of meta.json, missing or of the wrong type
    **{f"meta: {key} missing": _edit_meta(_drop(key)) for key in store._META_KEYS},
    "meta: format 1 (old)": _edit_meta(_set("format", 1)),
    "meta: format a string": _edit_meta(_set("format", "2")),
    "meta: format a bool": _edit_meta(_set("format", True)),
    "meta: format a float": _edit_meta(_set("format", 2.0)),
    "meta: made_by a number": _edit_meta(_set("made_by", 5)),
    "meta: created null": _edit_meta(_set("created", None)),
    "meta: nabench_version a list": _edit_meta(_set("nabench_version", ["0.1"])),
    "meta: benchmark empty": _edit_meta(_set("benchmark", "")),
    "meta: sources a list": _edit_meta(_set("sources", ["x"])),
    "meta: provenance value a number": _edit_meta(lambda m: m["provenance"].__setitem__(TEST_KEY, 3)),
    "meta: notes a string": _edit_meta(_set("notes", "note")),
    "meta: note a number": _edit_meta(_set("notes", [1])),
    # meta.json as a file
    "meta: not UTF-8": lambda p: (p / store.META).write_bytes(b"\xff\xfe" + (p / store.META).read_bytes()),
    "meta: UTF-16": lambda p: (p / store.META).write_bytes((p / store.META).read_text().encode("utf-16")),
    "meta: latin-1 byte inside": _edit_bytes(store.META, lambda d: d.replace(b'"made_by": "', b'"made_by": "\xe9', 1)),
    "meta: not JSON": lambda p: (p / store.META).write_text("{not json"),
    "meta: truncated": _edit_bytes(store.META, lambda d: d[: len(d) // 2]),
    "meta: empty": lambda p: (p / store.META).write_bytes(b""),
    "meta: a JSON list": lambda p: _put_meta(p, [1, 2]),
    "meta: JSON null": lambda p: _put_meta(p, None),
    "meta: a JSON number": lambda p: _put_meta(p, 7),
    "meta: deeply nested": lambda p: (p / store.META).write_text("[" * 200_000 + "]" * 200_000),
    "meta: NaN inside": _edit_bytes(store.META, lambda d: d.replace(b'"format": 2', b'"format": NaN', 1)),
    "meta: huge sparse file": lambda p: os.truncate(p / store.META, 2**30),
    "meta: deleted": _delete(store.META),
    "meta: a directory": _replace_with_dir(store.META),
}

CURVE_DAMAGES: dict[str, Callable[[Path], None]] = {
    "curves: truncated": _edit_bytes(store.CURVES, lambda d: d[: len(d) // 2]),
    "curves: middle byte flipped": _edit_bytes(store.CURVES, _flip(0.5)),
    "curves: empty": _edit_bytes(store.CURVES, lambda d: b""),
    "curves: deleted": _delete(store.CURVES),
    "curves: a directory": _replace_with_dir(store.CURVES),
    "curves: hash dropped from meta": _edit_meta(lambda m: m["files"].pop(store.CURVES)),
}


@pytest.fixture()
def built(tmp_path, data_dir):
    dest = tmp_path / "data"
    shutil.copytree(data_dir / "nb201", dest / "nb201")
    return dest


@pytest.fixture(scope="module")
def imported_source(tmp_path_factory, mirror):
    root = tmp_path_factory.mktemp("imported")
    official.import_path(mirror / "nats_official_sample" / "NATS-tss-v1_0-3ffb9-simple", root)
    return root


def _assert_one_corrupt_line(text: str) -> None:
    assert text.count("\n") == 1, text
    assert "corrupt store" in text and "nabench data fetch --force" in text and "Traceback" not in text


@pytest.mark.parametrize("case", list(STORE_DAMAGES))
def test_every_damage_is_refused_by_every_command(built, capsys, case):
    target = built / "nb201"
    STORE_DAMAGES[case](target)
    with pytest.raises(IntegrityError, match=r"corrupt store .*nabench data fetch --force"):
        nabench.load("nb201", data_dir=built)
    code, _, err = _cli(capsys, "query", 6111, "--dataset", "cifar10", "--split", "ori-test", "--fidelity", 200,
                        "--data-dir", built)
    assert code == 2
    _assert_one_corrupt_line(err)
    code, out, err = _cli(capsys, "data", "info", "--data-dir", built)
    assert code == 2
    _assert_one_corrupt_line(err)
    code, out, err = _cli(capsys, "data", "info", "--json", "--data-dir", built)
    assert code == 2 and out == ""
    code, out, _ = _cli(capsys, "data", "verify", "--data-dir", built)
    assert code == 2 and out.startswith("PROBLEM: corrupt store")
    _assert_one_corrupt_line(out)
    assert store.verify(target), "data fetch rebuilds exactly when verify reports a problem"


@pytest.mark.parametrize("case", ["arrays: a directory", "index: two offsets swapped", "meta: not UTF-8",
                                  "meta: format missing", "meta: deleted", "meta: a directory"])
def test_fetch_repairs_a_corrupt_store(built, mirror, capsys, case):
    STORE_DAMAGES[case](built / "nb201")
    code, out, err = _cli(capsys, "data", "fetch", "--mirror", mirror, "--data-dir", built, "--quiet")
    assert code == 0 and "store written" in out and "intact" not in out
    assert err.startswith("repairing: corrupt store")
    bench = nabench.load("nb201", data_dir=built)
    assert round(float(bench.accuracy(6111, dataset="cifar10", split="ori-test", fidelity=200)), 2) == 94.37
    assert store.verify(built / "nb201") == []


def test_run_refuses_a_corrupt_store(built, tmp_path, capsys):
    STORE_DAMAGES["index: two offsets swapped"](built / "nb201")
    out_dir = tmp_path / "runs"
    code, _, err = _cli(capsys, "run", "--searcher", "rs", "--runs", 1, "--data-dir", built, "--out", out_dir)
    assert code == 2
    _assert_one_corrupt_line(err)


def test_swapped_offsets_would_have_answered_wrong(built):
    """The audit's attack, checked against the numbers: without the index checksum CIFAR-10 test read 73.22."""
    target = built / "nb201"
    good = float(nabench.load("nb201", data_dir=built).accuracy(6111, dataset="cifar10", split="ori-test",
                                                                 fidelity=200))
    STORE_DAMAGES["index: two offsets swapped"](target)
    meta = _meta(target)
    data = (target / store.ARRAYS).read_bytes()
    dt, shape, off = meta["index"][TEST_KEY]
    naive = np.frombuffer(data, dtype=dt, count=shape[0], offset=off)[6111]  # what an unchecked reader returns
    assert round(good, 2) == 94.37 and round(float(naive), 2) == 73.22
    assert store.verify(target) and "index" in store.verify(target)[0]


def test_checksum_covers_the_index(tmp_path):
    """Same arrays.bin bytes, different index: the store checksum (recorded in run manifests) differs."""
    a, b = np.arange(4.0), np.arange(4.0) + 10
    s1 = store.write(tmp_path / "one", {"x": a, "y": b}, provenance={}, made_by="test", sources={})
    s2 = store.write(tmp_path / "two", {"y": a, "x": b}, provenance={}, made_by="test", sources={})
    assert (tmp_path / "one" / store.ARRAYS).read_bytes() == (tmp_path / "two" / store.ARRAYS).read_bytes()
    assert s1.checksum != s2.checksum
    # a consistent rewrite of the index (hash updated too) loads, but under another checksum
    meta = _meta(tmp_path / "one")
    meta["index"]["x"], meta["index"]["y"] = meta["index"]["y"], meta["index"]["x"]
    meta["files"][store.INDEX] = store.index_sha256(meta["index"])
    _put_meta(tmp_path / "one", meta)
    assert store.read(tmp_path / "one").checksum not in (s1.checksum,)


@pytest.mark.parametrize("case", list(CURVE_DAMAGES))
def test_curve_damage_is_refused_on_use_and_by_verify(tmp_path, imported_source, capsys, case):
    root = tmp_path / "data"
    shutil.copytree(imported_source / "nb201", root / "nb201")
    CURVE_DAMAGES[case](root / "nb201")
    if case == "curves: hash dropped from meta":  # changes meta["files"]: the store checksum no longer matches
        with pytest.raises(IntegrityError, match="corrupt store .*curves.npz .*lists no checksum"):
            nabench.load("nb201", data_dir=root)
    else:
        bench = nabench.load("nb201", data_dir=root)  # arrays.bin is intact: final values stay available
        assert bench.accuracy(11, dataset="cifar10", split="ori-test", fidelity=200) > 0
        with pytest.raises(IntegrityError, match=r"corrupt store .*curves.npz.*nabench data fetch --force"):
            bench.curve(11, dataset="cifar10", split="ori-test", fidelity=200)
    code, out, _ = _cli(capsys, "data", "verify", "--data-dir", root)
    assert code == 2 and out.startswith("PROBLEM: corrupt store")


def test_store_folder_replaced_by_a_file(tmp_path, mirror, capsys):
    root = tmp_path / "data"
    root.mkdir()
    (root / "nb201").write_text("not a folder")
    code, _, err = _cli(capsys, "query", 1, "--dataset", "cifar10", "--split", "ori-test", "--fidelity", 200,
                        "--data-dir", root)
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    code, out, _ = _cli(capsys, "data", "fetch", "--mirror", mirror, "--data-dir", root, "--quiet")
    assert code == 0 and nabench.load("nb201", data_dir=root).n_present == 15625
    assert sorted(p.name for p in root.iterdir()) == ["downloads", "nb201"], "no leftover of the replaced file"


def test_a_huge_arrays_file_is_refused_without_reading_it(built, monkeypatch):
    os.truncate(built / "nb201" / store.ARRAYS, 2**30)
    read_bytes = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes",
                        lambda self: pytest.fail(f"{self} was read") if self.name == store.ARRAYS else read_bytes(self))
    with pytest.raises(IntegrityError, match=r"corrupt store .*has 1073741824 bytes, its index describes"):
        store.read(built / "nb201")
