"""The data and query subcommands, run in-process as a user would type them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from nabench.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


_ERROR_LINE = "nabench data verify: error:"


def test_verify_exits_2_like_every_error(tmp_path, capsys):
    """Nothing installed is a failing store too: exit 2 (the exit status of every nabench error), as --help says."""
    code, out, err = run(capsys, "data", "verify", "--data-dir", str(tmp_path / "empty"))
    assert code == 2 and out.startswith("PROBLEM:") and err.startswith(_ERROR_LINE) and err.count("\n") == 1
    with pytest.raises(SystemExit):
        main(["data", "verify", "--help"])
    assert "Exit status: 0 when everything is intact; 2 when" in " ".join(capsys.readouterr().out.split())


@pytest.fixture()
def fresh(tmp_path, mirror, capsys):
    code, out, _ = run(capsys, "data", "fetch", "--mirror", str(mirror), "--data-dir", str(tmp_path), "--quiet")
    assert code == 0 and "store written" in out
    return tmp_path


def test_fetch_info_verify_query(fresh, capsys):
    code, out, _ = run(capsys, "data", "fetch", "--mirror", "unused", "--data-dir", str(fresh))
    assert code == 0 and "intact" in out
    code, out, _ = run(capsys, "data", "info", "--data-dir", str(fresh))
    assert code == 0 and "15625 of 15625" in out and "acc cifar10-valid" in out
    code, out, _ = run(capsys, "data", "verify", "--data-dir", str(fresh))
    assert code == 0 and out.startswith("ok")
    code, out, _ = run(capsys, "query", "6111", "--dataset", "cifar10", "--split", "ori-test", "--fidelity", "200",
                       "--data-dir", str(fresh), "--json")
    answer = json.loads(out)
    assert code == 0 and round(answer["accuracy"], 4) == 94.3733 and answer["n_seeds"] == 3
    code, out, _ = run(capsys, "query", answer["arch"], "--dataset", "cifar100", "--split", "x-test",
                       "--fidelity", "200", "--data-dir", str(fresh))
    assert code == 0 and "seed 777" in out and "#6111" in out


def test_verify_reports_damage(fresh, capsys):
    target = fresh / "nb201" / "arrays.bin"
    target.write_bytes(target.read_bytes()[:-100])
    code, out, err = run(capsys, "data", "verify", "--data-dir", str(fresh))
    assert code == 2 and "PROBLEM" in out and "checksum" in out
    assert _ERROR_LINE in err and err.count("\n") == 1 and "data fetch --force" in err
    code, _, err = run(capsys, "query", "1", "--dataset", "cifar10", "--split", "ori-test", "--fidelity", "12",
                       "--data-dir", str(fresh))
    assert code == 2 and "failed its checksum" in err and "Traceback" not in err


@pytest.mark.parametrize("argv,fragment", [
    (["--dataset", "cifar10", "--split", "x-valid", "--fidelity", "200"], "no validation split"),
    (["--dataset", "cifar11", "--split", "x-valid", "--fidelity", "200"], "unknown dataset"),
    (["--dataset", "cifar100", "--split", "x-test", "--fidelity", "50"], "unknown fidelity"),
])
def test_user_mistakes_are_one_line_errors(fresh, capsys, argv, fragment):
    code, _, err = run(capsys, "query", "5", *argv, "--data-dir", str(fresh))
    assert code == 2 and fragment in err and err.count("\n") == 1


@pytest.mark.parametrize("arch,fragment", [("99999", "out of range"), ("|bad~0|", "node groups"), ("abc", "neither")])
def test_bad_architectures_in_cli(fresh, capsys, arch, fragment):
    code, _, err = run(capsys, "query", arch, "--dataset", "cifar100", "--split", "x-test", "--fidelity", "200",
                       "--data-dir", str(fresh))
    assert code == 2 and fragment in err


def test_missing_store_in_cli(tmp_path, capsys):
    code, _, err = run(capsys, "query", "1", "--dataset", "cifar10", "--split", "ori-test", "--fidelity", "200",
                       "--data-dir", str(tmp_path))
    assert code == 2 and "nabench data fetch" in err
    code, out, _ = run(capsys, "data", "info", "--data-dir", str(tmp_path))
    assert code == 1 and "not installed" in out


def test_import_via_cli(tmp_path, mirror, capsys):
    folder = mirror / "nats_official_sample" / "NATS-tss-v1_0-3ffb9-simple"
    code, out, _ = run(capsys, "data", "import", str(folder), "--data-dir", str(tmp_path))
    assert code == 0 and "imported 3 architectures" in out
    code, out, _ = run(capsys, "query", "11", "--dataset", "cifar10", "--split", "ori-test", "--fidelity", "12",
                       "--data-dir", str(tmp_path), "--json")
    assert code == 0 and "loss" in json.loads(out)


def test_console_script_and_env_var(fresh, tmp_path):
    exe = shutil.which("nabench", path=str(__import__("pathlib").Path(sys.executable).parent))
    assert exe, "the console script `nabench` must be installed"
    env = {"NABENCH_DATA": str(fresh), "PATH": "/usr/bin:/bin"}
    res = subprocess.run([exe, "query", "857", "--dataset", "ImageNet16-120", "--split", "x-test", "--fidelity", "200"],
                         capture_output=True, text=True, env=env, timeout=60)
    assert res.returncode == 0 and "47.3111" in res.stdout


def test_import_force_flag_replaces_a_larger_store(fresh, mirror, capsys):
    folder = mirror / "nats_official_sample" / "NATS-tss-v1_0-3ffb9-simple"
    code, _, err = run(capsys, "data", "import", str(folder), "--data-dir", str(fresh))
    assert code == 2 and "--force" in err
    code, out, _ = run(capsys, "data", "import", str(folder), "--data-dir", str(fresh), "--force")
    assert code == 0 and "imported 3 architectures" in out
    code, out, _ = run(capsys, "data", "info", "--data-dir", str(fresh))
    assert "3 of 15625" in out


def test_info_json_is_alone_on_stdout(fresh, capsys):
    code, out, err = run(capsys, "data", "info", "--json", "--data-dir", str(fresh))
    doc = json.loads(out)  # the whole of stdout is one JSON document
    assert code == 0 and "data folder" in err and "data folder" not in out
    nb = doc["stores"]["nb201"]
    assert nb["n_present"] == 15625 and nb["made_by"] == "fetch" and len(nb["checksum"]) == 16
    assert "acc.cifar10.ori-test.200.mean" in nb["provenance"] and "index" not in nb
    assert set(doc["downloads"].values()) <= {"ok", "missing"}
    code, out, err = run(capsys, "data", "info", "--json", "--data-dir", str(fresh / "nothing"))
    assert code == 1 and json.loads(out)["stores"] == {} and "not installed" in err


def test_mirror_that_never_answers_is_announced_and_bounded(tmp_path, capsys, monkeypatch):
    """A URL mirror that accepts the connection and never replies: one line names the URL and the
    timeout before any waiting, each failed attempt says so, and the whole wait is bounded."""
    import socket
    import time

    from nabench.errors import DataNotFoundError
    from nabench.tables import fetch, manifest

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)  # the kernel accepts connections; nobody ever answers
    monkeypatch.setattr(fetch.time, "sleep", lambda s: None)
    url = f"http://127.0.0.1:{server.getsockname()[1]}"
    lines: list[str] = []
    t0 = time.monotonic()
    try:
        with pytest.raises(DataNotFoundError, match=r"after 2 attempts \(no answer within the timeout\)"):
            fetch.fetch_one(manifest.source("nats_bench.csv"), tmp_path / "dl", url, retries=2, timeout=0.5,
                            progress=False, log=lines.append)
    finally:
        server.close()
    assert time.monotonic() - t0 < 10
    assert lines[0] == (f"  nats_bench.csv: downloading from {url}/nats_bench.csv (waiting at most 0.5 s for each "
                        "answer and 60 s + 1 s per 50 kB per attempt, at most 1800 s, 2 attempts)")
    assert "attempt 1 of 2 failed (no answer within the timeout)" in lines[1]
    assert not any((tmp_path / "dl").iterdir()), "no partial file may remain"
    assert fetch.TIMEOUT <= 30, "the default wait per answer stays bounded"


def test_info_on_an_empty_store_folder_says_not_installed(tmp_path, capsys):
    (tmp_path / "nb201").mkdir()
    code, out, _ = run(capsys, "data", "info", "--data-dir", str(tmp_path))
    assert code == 1 and "not installed" in out
