"""No code runs from a data file: malicious NATS-Bench records, .pth and .pt files are refused, nothing runs.

Each payload would create a marker file (through ``os.system``, ``subprocess``, ``exec``, ``eval`` or
``pathlib``) when unpickled by plain ``pickle.load`` or ``torch.load(weights_only=False)``. The import
must leave the marker absent, print one line (exit 2, no traceback, never torch's advice to re-run
with ``weights_only=False``) and write no store.
"""

from __future__ import annotations

import bz2
import collections
import os
import pickle
import shutil
import subprocess
from pathlib import Path

import pytest

from nabench.cli import main
from nabench.errors import IntegrityError
from nabench.tables import official, unpickle

torch = pytest.importorskip("torch")


class _Payload:
    """Pickles as a call of ``fn(*args)``: what an attacker puts into a file."""

    def __init__(self, fn, *args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


def _payloads(marker: Path) -> dict[str, _Payload]:
    m = str(marker)
    return {
        "os.system": _Payload(os.system, f"touch {m}"),
        "subprocess.call": _Payload(subprocess.call, ["touch", m]),
        "builtins.exec": _Payload(exec, f"open({m!r}, 'w').close()"),
        "builtins.eval": _Payload(eval, f"open({m!r}, 'w')"),
        "pathlib.touch": _Payload(Path.touch, Path(m)),
        "shutil.copyfile": _Payload(shutil.copyfile, __file__, m),
    }


PAYLOADS = list(_payloads(Path("x")))


def _cli(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def _assert_refused(code, out, err, marker: Path, data: Path) -> None:
    assert not marker.exists(), "the payload ran"
    assert code == 2, (code, out, err)
    assert err.count("\n") == 1 and err.startswith("nabench data: error:"), err
    assert "Traceback" not in err and "weights_only=False" not in err and "weights_only` set to `False" not in err
    assert not (data / "nb201").exists(), "nothing may be written from a refused file"


@pytest.fixture()
def tss_copy(tmp_path, mirror):
    folder = tmp_path / "NATS-tss-v1_0-3ffb9-simple"
    shutil.copytree(mirror / "nats_official_sample" / "NATS-tss-v1_0-3ffb9-simple", folder)
    for f in folder.iterdir():
        f.chmod(0o644)
    return folder


def _write_pbz2(path: Path, obj) -> None:
    path.write_bytes(bz2.compress(pickle.dumps(obj, protocol=4)))


@pytest.mark.parametrize("kind", PAYLOADS)
@pytest.mark.parametrize("where", ["record", "nested", "meta"])
def test_malicious_nats_record_runs_nothing(tmp_path, tss_copy, capsys, kind, where):
    marker = tmp_path / "marker"
    payload = _payloads(marker)[kind]
    if where == "record":  # the whole architecture file is the payload
        _write_pbz2(tss_copy / "000011.pickle.pbz2", payload)
    elif where == "nested":  # deep inside an otherwise official-looking record
        record = pickle.loads(bz2.decompress((tss_copy / "000011.pickle.pbz2").read_bytes()))
        record["12"]["all_results"] = collections.OrderedDict(x=payload)
        _write_pbz2(tss_copy / "000011.pickle.pbz2", record)
    else:
        meta = pickle.loads(bz2.decompress((tss_copy / "meta.pickle.pbz2").read_bytes()))
        meta["evaluated_indexes"] = payload
        _write_pbz2(tss_copy / "meta.pickle.pbz2", meta)
    data = tmp_path / "data"
    code, out, err = _cli(capsys, "data", "import", str(tss_copy), "--data-dir", str(data))
    _assert_refused(code, out, err, marker, data)
    assert "refused" in err and "nothing from it was run" in err


def _raw_pickles(marker: Path) -> dict[str, bytes]:
    """Hand-written pickles using each opcode that can call something (GLOBAL, INST, OBJ, STACK_GLOBAL, EXT)."""
    cmd = f"touch {marker}".encode()
    return {
        "GLOBAL+REDUCE": b"cos\nsystem\n(V" + cmd + b"\ntR.",
        "INST": b"(V" + cmd + b"\nios\nsystem\n.",
        "OBJ": b"(cos\nsystem\nV" + cmd + b"\no.",
        "STACK_GLOBAL": b"\x80\x04\x8c\x02os\x8c\x06system\x93\x8c" + bytes([len(cmd)]) + cmd + b"\x85R.",
        "getattr-chain": (b"cbuiltins\ngetattr\n(cbuiltins\n__import__\n(Vos\ntRVsystem\ntR(V" + cmd + b"\ntR."),
        "EXT1": b"\x80\x02\x82\x01(V" + cmd + b"\ntR.",
    }


@pytest.mark.parametrize("kind", list(_raw_pickles(Path("x"))))
def test_hand_written_opcodes_run_nothing(tmp_path, tss_copy, capsys, kind):
    import copyreg

    marker = tmp_path / "marker"
    copyreg.add_extension("os", "system", 1)  # EXT1 code 1 -> os.system, as an attacker's target would have
    try:
        (tss_copy / "000011.pickle.pbz2").write_bytes(bz2.compress(_raw_pickles(marker)[kind]))
        data = tmp_path / "data"
        code, out, err = _cli(capsys, "data", "import", str(tss_copy), "--data-dir", str(data))
    finally:
        copyreg.remove_extension("os", "system", 1)
    _assert_refused(code, out, err, marker, data)
    assert "os.system" in err or "builtins" in err


@pytest.mark.parametrize("kind", PAYLOADS + list(_raw_pickles(Path("x"))))
def test_the_payloads_are_real(tmp_path, kind):
    """Control: plain pickle / torch.load(weights_only=False), what the official packages call, runs each one."""
    import copyreg

    marker = tmp_path / "marker"
    if kind in PAYLOADS:
        f = tmp_path / "p.pt"
        torch.save(_payloads(marker)[kind], f)
        torch.load(f, weights_only=False)
    else:
        copyreg.add_extension("os", "system", 1)
        try:
            pickle.loads(_raw_pickles(marker)[kind])
        finally:
            copyreg.remove_extension("os", "system", 1)
    assert marker.exists()


def _fake_pth(tss_folder: Path) -> dict:
    import nats_bench

    api = nats_bench.create(str(tss_folder), "tss", fast_mode=True, verbose=False)
    infos = {i: {"less": api.query_meta_info_by_index(i, "12").state_dict(),
                 "full": api.query_meta_info_by_index(i, "200").state_dict()} for i in (0, 11)}
    return {"meta_archs": list(api.meta_archs), "arch2infos": infos, "evaluated_indexes": set(infos)}


@pytest.mark.parametrize("kind", PAYLOADS)
@pytest.mark.parametrize("layout", ["whole", "nested", "legacy-format"])
def test_malicious_pth_runs_nothing(tmp_path, mirror, capsys, kind, layout):
    marker = tmp_path / "marker"
    payload = _payloads(marker)[kind]
    pth = tmp_path / "NAS-Bench-201-v1_1-096897.pth"
    if layout == "whole":
        torch.save(payload, pth)
    else:
        obj = _fake_pth(mirror / "nats_official_sample" / "NATS-tss-v1_0-3ffb9-simple")
        obj["arch2infos"][0]["less"]["all_results"] = payload
        torch.save(obj, pth, _use_new_zipfile_serialization=(layout == "nested"))
    data = tmp_path / "data"
    code, out, err = _cli(capsys, "data", "import", str(pth), "--data-dir", str(data))
    _assert_refused(code, out, err, marker, data)
    assert "refused" in err


@pytest.mark.parametrize("kind", PAYLOADS)
def test_malicious_latency_pt_runs_nothing(tmp_path, data_dir, capsys, kind):
    marker = tmp_path / "marker"
    root = tmp_path / "data"
    shutil.copytree(data_dir / "nb201", root / "nb201")
    before = (root / "nb201" / "meta.json").read_bytes()
    folder = tmp_path / "help"
    folder.mkdir()
    torch.save(_payloads(marker)[kind], folder / "pixel3.pt")
    code, out, err = _cli(capsys, "data", "import", str(folder), "--data-dir", str(root))
    assert not marker.exists() and code == 2 and err.count("\n") == 1 and "weights_only=False" not in err
    assert (root / "nb201" / "meta.json").read_bytes() == before, "the installed store must stay as it was"


def test_official_sample_still_imports_through_the_allow_list(tmp_path, mirror):
    """The restricted readers accept the real files (tss and sss) and a real-layout .pth."""
    folder = mirror / "nats_official_sample" / "NATS-tss-v1_0-3ffb9-simple"
    assert "imported 3 architectures" in official.import_path(folder, tmp_path / "a")
    assert "imported 3 architectures" in official.import_path(mirror / "nats_official_sample" /
                                                              "NATS-sss-v1_0-50262-simple", tmp_path / "b")
    pth = tmp_path / "NAS-Bench-201-v1_0-e61699.pth"
    torch.save(_fake_pth(folder), pth, _use_new_zipfile_serialization=False)  # the 2020 files' legacy format
    assert "imported 2 architectures" in official.import_path(pth, tmp_path / "c")


def test_allow_list_is_exactly_what_official_records_need(mirror):
    """Every global the official sample names is allowed; nothing that can run code is."""
    import pickletools

    named = set()
    for f in (mirror / "nats_official_sample").glob("*/*.pickle.pbz2"):
        ops = list(pickletools.genops(bz2.decompress(f.read_bytes())))
        strings = [arg for op, arg, _ in ops if op.name in ("SHORT_BINUNICODE", "BINUNICODE")]
        for i, (op, arg, _) in enumerate(ops):
            if op.name == "STACK_GLOBAL":
                prior = [a for o, a, _ in ops[:i] if o.name in ("SHORT_BINUNICODE", "BINUNICODE")]
                named.add(".".join(prior[-2:]))
        assert strings
    assert named and named <= set(unpickle.RECORD_GLOBALS)
    for dangerous in ("builtins.eval", "builtins.exec", "os.system", "posix.system", "subprocess.Popen",
                      "builtins.getattr", "builtins.__import__", "pathlib.Path", "numpy.load", "torch.load"):
        assert dangerous not in unpickle.RECORD_GLOBALS


def test_decompression_bomb_is_refused(tmp_path, tss_copy, monkeypatch):
    monkeypatch.setattr(official, "MAX_RECORD_BYTES", 1000)
    with pytest.raises(IntegrityError, match="decompresses to more than"):
        official.import_path(tss_copy, tmp_path / "data")
    assert not (tmp_path / "data" / "nb201").exists()


@pytest.mark.parametrize("content", [b"", b"BZh9garbage", bz2.compress(b"\x80\x04K"), bz2.compress(b"not a pickle"),
                                     bz2.compress(pickle.dumps([1, 2, 3])), bz2.compress(pickle.dumps({"12": 5}))])
def test_damaged_records_are_one_line_errors(tmp_path, tss_copy, capsys, content):
    (tss_copy / "000011.pickle.pbz2").write_bytes(content)
    code, _, err = _cli(capsys, "data", "import", str(tss_copy), "--data-dir", str(tmp_path / "data"))
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err and "000011" in err
    assert not (tmp_path / "data" / "nb201").exists()


@pytest.mark.parametrize("content", [b"", b"not a torch file", b"PK\x03\x04broken zip"])
def test_damaged_pth_is_a_one_line_error(tmp_path, capsys, content):
    pth = tmp_path / "NAS-Bench-201-v1_0-e61699.pth"
    pth.write_bytes(content)
    code, _, err = _cli(capsys, "data", "import", str(pth), "--data-dir", str(tmp_path / "data"))
    assert code == 2 and err.count("\n") == 1 and "weights_only" not in err and "Traceback" not in err


# ------------------------------------------------------------------ checkpoints in train / oneshot --out folders
TOP = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"


@pytest.fixture(scope="module")
def cifar_root(tmp_path_factory):
    import numpy as np

    from nabench.vision.synthetic import write_cifar

    root = tmp_path_factory.mktemp("images")
    write_cifar(root, "cifar10", n_train=32, n_test=16, rng=np.random.default_rng(0))
    return root


def _train_argv(cifar_root: Path, out: Path) -> list[str]:
    return ["train", "--arch", TOP, "--preset", "nb201-200", "--dataset", "cifar10", "--data-root", str(cifar_root),
            "--out", str(out), "--epochs", "1", "--batch-size", "16", "--workers", "0", "--no-progress",
            "--channels", "4", "--cells", "1"]


def _oneshot_argv(cifar_root: Path, data_dir: Path, out: Path) -> list[str]:
    return ["oneshot", "--space", "201", "--dataset", "cifar10", "--epochs", "1", "--data-root", str(cifar_root),
            "--data-dir", str(data_dir), "--out", str(out), "--channels", "4", "--cells", "1", "--batch-size", "16",
            "--workers", "0", "--steps-per-epoch", "1", "--device", "cpu"]


def _foreign_checkpoints(marker: Path) -> dict[str, object]:
    """What a foreign checkpoint.pt can hold: code payloads, plain data of the wrong shape, or no torch file."""
    return {**{f"payload {k}": v for k, v in _payloads(marker).items()},
            "nested payload": {"format": 1, "model": _payloads(marker)["builtins.exec"]},
            "a tensor": torch.zeros(3), "a list": [1, 2, 3], "another dict": {"config": 5},
            "not a torch file": b"not a torch file", "empty": b""}


FOREIGN = list(_foreign_checkpoints(Path("x")))


def _write_foreign(path: Path, what: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(what, bytes):
        path.write_bytes(what)
    else:
        torch.save(what, path)


@pytest.mark.parametrize("kind", FOREIGN)
def test_foreign_training_checkpoint_runs_nothing(tmp_path, cifar_root, capsys, kind):
    marker, out = tmp_path / "marker", tmp_path / "run"
    _write_foreign(out / "checkpoint.pt", _foreign_checkpoints(marker)[kind])
    before = (out / "checkpoint.pt").read_bytes()
    code, _, err = _cli(capsys, *_train_argv(cifar_root, out))
    assert not marker.exists(), "the payload ran"
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err and "weights_only" not in err, err
    assert "checkpoint.pt" in err and "delete it or use another --out" in err, err
    assert (out / "checkpoint.pt").read_bytes() == before, "the foreign file must be left as it was"


@pytest.mark.parametrize("kind", FOREIGN)
def test_foreign_search_checkpoint_runs_nothing(tmp_path, cifar_root, data_dir, capsys, kind):
    marker, out = tmp_path / "marker", tmp_path / "run"
    _write_foreign(out / "checkpoint.pt", _foreign_checkpoints(marker)[kind])
    before = (out / "checkpoint.pt").read_bytes()
    code, _, err = _cli(capsys, *_oneshot_argv(cifar_root, data_dir, out))
    assert not marker.exists(), "the payload ran"
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err and "weights_only" not in err, err
    assert "checkpoint.pt" in err and "another --out" in err, err
    assert (out / "checkpoint.pt").read_bytes() == before


def test_torchfile_refusal_names_the_global(tmp_path):
    from nabench import torchfile

    marker = tmp_path / "marker"
    torch.save(_payloads(marker)["os.system"], tmp_path / "x.pt")
    with pytest.raises(torchfile.Refused) as e:
        torchfile.load(tmp_path / "x.pt", what="a test file", fix="delete it")
    assert e.value.name in ("posix.system", "os.system") and str(e.value).endswith("; delete it")
    assert not marker.exists()
    torch.save({"w": torch.ones(2)}, tmp_path / "ok.pt")
    assert torchfile.load(tmp_path / "ok.pt", what="a test file", fix="delete it")["w"].sum() == 2
