"""A corpus of bad inputs across the CLI's subcommands and the ARCH parsers of the API.

Every case must end in exit code 2 (or a :class:`~nabench.errors.ConfigError` from the API) with exactly
one line naming the problem, no traceback, and nothing written. The integer-text cases pin the one home of
"a plain ASCII decimal integer" (:func:`nabench.validate.int_string`): ``int()`` alone reads ``"٦١١١"`` as
6111, ``"1_000"`` as 1000 and ``" 5"`` as 5, and raises a traceback for ``"²"`` (which ``isdigit`` accepts)
and for more than 4300 digits.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from nabench import cli, validate
from nabench.errors import ConfigError
from nabench.spaces import darts, nats_sss, nb201, parse_arch

CELL = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
HUGE = "9" * 5000

#: integer texts int() would read (or crash on) that a user cannot have meant as plain digits
ODD_INTEGERS: list[str] = ["٦١١١", "²", "０", "1_000", "1 000", "1e3", "0x10", "5.0", "++5", "-", HUGE]


def _main(argv: list[str]) -> int:
    """``nabench ARGV`` in-process; a usage error (argparse's exit) gives its exit code like any error."""
    try:
        return cli.main(argv)
    except SystemExit as e:
        return int(e.code)


def _one_line_error(capsys: pytest.CaptureFixture, command: str) -> str:
    captured = capsys.readouterr()
    err = captured.err
    assert "Traceback" not in err and err.count("\n") == 1, err
    assert err.startswith(f"nabench {command}") and ": error: " in err.split("\n")[0], err
    return err


# ---------------------------------------------------------------------------------- validate.int_string
@pytest.mark.parametrize("text", ODD_INTEGERS + [" 5", "5\n", "+5", "-5", "", "５"])
def test_int_string_refuses_anything_but_plain_digits(text: str) -> None:
    with pytest.raises(ConfigError) as e:
        validate.int_string("--n", text)
    assert str(e.value).startswith("--n") and "\n" not in str(e.value) and len(str(e.value)) < 300


@pytest.mark.parametrize("text, signed, value", [("0", False, 0), ("007", False, 7), ("6111", False, 6111),
                                                 ("-3", True, -3), ("+3", True, 3), ("9" * 40, False, 10**40 - 1)])
def test_int_string_reads_plain_digits(text: str, signed: bool, value: int) -> None:
    assert validate.int_string("--n", text, signed=signed) == value


def test_int_string_range_and_type() -> None:
    with pytest.raises(ConfigError, match="--n must be an integer <= 9, got 10"):
        validate.int_string("--n", "10", minimum=0, maximum=9)
    with pytest.raises(ConfigError, match="written as text"):
        validate.int_string("--n", 5)


# ---------------------------------------------------------------------------------- ARCH through the API
@pytest.mark.parametrize("text", ODD_INTEGERS + ["-1", "15625", "9" * 30,
                                                 CELL.replace("~1|n", "~١|n"), CELL.replace("~2|", "~²|"),
                                                 CELL.replace("~0|+", "~" + "0" * 50 + "|+", 1), CELL * 3])
def test_nb201_arch_parser_refuses(tiny_bench, text: str) -> None:
    with pytest.raises(ConfigError) as e:
        parse_arch(tiny_bench.space, text)
    assert "\n" not in str(e.value) and len(str(e.value)) < 400


def test_nb201_arch_parser_reads_plain_forms(tiny_bench) -> None:
    assert parse_arch(tiny_bench.space, " 6111 ") == 6111
    assert parse_arch(tiny_bench.space, CELL) == tiny_bench.index(CELL)
    assert nb201.parse_index("15624") == 15624


@pytest.mark.parametrize("text", ODD_INTEGERS + ["-1", "32768", "8:16:٢٤:32:40", "8:16:24:32:40²", "8:16: 24:32:40",
                                                 "8:16:+24:32:40", "8:16:2_4:32:40"])
def test_size_space_parser_refuses(text: str) -> None:
    with pytest.raises(ConfigError) as e:
        parse_arch(nats_sss.SizeSpace(), text)
    assert "\n" not in str(e.value) and len(str(e.value)) < 400


def test_size_space_parser_reads_plain_forms() -> None:
    space = nats_sss.SizeSpace()
    assert parse_arch(space, "1") == 1 == parse_arch(space, "8:8:8:8:16")
    with pytest.raises(ConfigError, match="channel count"):
        space.order.index(("8", "8", "8", "8", "16"))
    with pytest.raises(ConfigError, match="channel counts"):
        space.order.index((7, 8, 8, 8, 8))


@pytest.mark.parametrize("text", ["²", "1_000", "-1", "1" * 45, "9" * 30,
                                  '{"inputs_node_normal_3": "٠_١"}',
                                  darts.to_str(darts.DARTS_V2).replace("('sep_conv_3x3', 1)", "('sep_conv_3x3', '1')", 1),
                                  darts.to_str(darts.DARTS_V2).replace("('sep_conv_3x3', 1)", "('sep_conv_3x3', True)", 1),
                                  darts.to_str(darts.DARTS_V2).replace("normal_concat=[2,", "normal_concat=[2.5,", 1)
                                  .replace("normal_concat=[2, ", "normal_concat=[2.5, ", 1)])
def test_darts_arch_parser_refuses(text: str) -> None:
    with pytest.raises(ConfigError) as e:
        parse_arch(darts.DartsSpace(), text)
    assert "\n" not in str(e.value)


def test_darts_config_nested_too_deep_is_refused() -> None:
    with pytest.raises(ConfigError, match="nested far deeper"):
        darts.DartsSpace().parse('{"a": [' + "[" * 5000 + "]" * 5000 + "]}")


def test_darts_arch_parser_reads_a_code() -> None:
    space = darts.DartsSpace()
    code = space.parse("darts-v2")
    assert parse_arch(space, str(code)) == code


# ---------------------------------------------------------------------------------- ARCH through the CLI
@pytest.mark.parametrize("text", ODD_INTEGERS + ["-1", "15625", CELL.replace("~1|n", "~١|n")])
def test_query_refuses_odd_arch_text(tiny_data_dir: Path, capsys: pytest.CaptureFixture, text: str) -> None:
    argv = ["query", text, "--dataset", "cifar10", "--split", "ori-test", "--fidelity", "200",
            "--data-dir", str(tiny_data_dir)]
    assert cli.main(argv) == 2
    err = _one_line_error(capsys, "query")
    assert re.search("neither an index|out of range|not of the form", err), err


@pytest.mark.parametrize("text", ["²", "٦١١١", "1_000", "-1", HUGE, "six"])
def test_train_refuses_odd_arch_text_before_anything_loads(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                           text: str) -> None:
    out = tmp_path / "run"
    argv = ["train", "--arch", text, "--dataset", "cifar10", "--preset", "nb201-200", "--out", str(out),
            "--data-dir", str(tmp_path / "no-data")]
    assert cli.main(argv) == 2
    err = _one_line_error(capsys, "train")
    assert re.search("neither an index|out of range", err), err
    assert not out.exists()


@pytest.mark.parametrize("seeds", ["1,²", "1,٣", "1,1_0", "1, 2 3"])
def test_train_refuses_odd_seed_lists(tmp_path: Path, capsys: pytest.CaptureFixture, seeds: str) -> None:
    argv = ["train", "--arch", "5", "--seeds", seeds, "--dataset", "cifar10", "--preset", "nb201-200",
            "--out", str(tmp_path / "run"), "--data-dir", str(tmp_path / "no-data")]
    assert cli.main(argv) == 2
    assert "comma-separated integers" in _one_line_error(capsys, "train")


@pytest.mark.parametrize("text", ["²", "٦١١١", "-1", "1_000"])
def test_plot_arch_goes_through_the_one_parser(tiny_bench, text: str) -> None:
    from nabench.commands.plot import _resolve_arch

    with pytest.raises(ConfigError, match="neither an index|out of range"):
        _resolve_arch(tiny_bench, text, None)
    assert _resolve_arch(tiny_bench, "6111", None) == 6111


@pytest.mark.parametrize("text", ["٩٨", "9_8", "98.0", "+98", " 98x"])
def test_nb301_fidelity_text_is_plain_digits(data_dir: Path, capsys: pytest.CaptureFixture, text: str) -> None:
    argv = ["query", "--space", "301", "darts-v2", "--fidelity", text, "--data-dir", str(data_dir)]
    assert cli.main(argv) == 2
    assert "NB301 fidelity" in _one_line_error(capsys, "query")


@pytest.mark.parametrize("text", ["١٢", "1_2", "+12", " 12x"])
def test_fidelity_text_is_plain_digits(text: str) -> None:
    from nabench.commands.analyze import parse_fidelity
    from nabench.tables.schema import check_fidelity

    with pytest.raises(ConfigError, match="fidelity"):
        parse_fidelity(text)
    with pytest.raises(ConfigError, match="fidelity"):
        check_fidelity(text)
    assert check_fidelity("hp=12") == 12 == parse_fidelity("12")


# ---------------------------------------------------------------------------------- numeric flags and paths
TRAIN = ["train", "--arch", "6111", "--preset", "nb201-200", "--dataset", "cifar10", "--epochs", "1"]
ONESHOT = ["oneshot", "--space", "201", "--dataset", "cifar10", "--epochs", "1", "--device", "cpu"]
ANALYZE = ["analyze", "flatness", "--dataset", "cifar10", "--fidelity", "12", "--no-figures", "--quiet"]
PLOT = ["plot", "flatness", "--dataset", "cifar10", "--fidelity", "12", "--formats", "png"]

#: (argv, regex the one error line must match); "FILE" is replaced by the path of an existing plain file
FLAG_CASES: list[tuple[list[str], str]] = [
    *[(TRAIN + ["--lr", v], "--lr must be") for v in ("nan", "-0.1", "inf", "0", "1e308")],
    *[(TRAIN + [flag, v], f"{flag} must be an integer") for flag, v in (
        ("--epochs", "0"), ("--epochs", "-1"), ("--epochs", "1000000000"), ("--batch-size", "0"),
        ("--batch-size", "1000000000"), ("--workers", "-3"), ("--workers", "100000"), ("--eval-every", "-1"),
        ("--channels", "0"), ("--channels", "1000000"), ("--cells", "0"), ("--data-seed", "-1"),
        ("--seed", "-1"), ("--seed", str(2**70)), ("--pack", "1000000000"))],
    (TRAIN + ["--out", "FILE/run"], "--out .* is a file, not a folder"),
    (TRAIN + ["--out", "/proc/nabench-run"], "--out .* cannot be created"),
    *[(ONESHOT + [flag, v], f"{flag} must") for flag, v in (
        ("--lr", "nan"), ("--lr", "-0.1"), ("--lr", "inf"), ("--lr-min", "nan"), ("--lr-min", "-1"),
        ("--momentum", "nan"), ("--momentum", "-1"), ("--weight-decay", "nan"), ("--weight-decay", "-1"),
        ("--grad-clip", "inf"), ("--arch-lr", "nan"), ("--arch-lr", "-1"), ("--arch-weight-decay", "nan"),
        ("--epsilon", "nan"), ("--epsilon", "-1"), ("--epsilon", "1"), ("--mass-fraction", "nan"),
        ("--mass-fraction", "2"), ("--epochs", "0"), ("--epochs", "1000000000"), ("--seed", "-1"),
        ("--seed", str(2**70)), ("--batch-size", "0"), ("--batch-size", "1000000000"), ("--channels", "0"),
        ("--steps-per-epoch", "-1"), ("--workers", "-3"), ("--workers", "100000"), ("--na-chunk", "-1"))],
    (ONESHOT + ["--out", "FILE/run"], "--out .* is a file, not a folder"),
    (ANALYZE + ["--bootstrap", str(10**7)], "--bootstrap must be an integer <= 10000"),
    (ANALYZE + ["--bootstrap", "-1"], "--bootstrap must be 0 or more"),
    (ANALYZE + ["--seed", "-1"], "--seed must be an integer >= 0"),
    (ANALYZE + ["--seed", str(2**70)], "--seed must be an integer <="),
    (ANALYZE + ["--out", "FILE/x"], "--out .* is a file, not a folder"),
    (PLOT + ["--vmin", "nan"], "--vmin must be a finite number"),
    (PLOT + ["--vmax", "inf"], "--vmax must be a finite number"),
    (PLOT + ["--out", "FILE/x"], "--out .* is a file, not a folder"),
    (["data", "fetch", "--deadline", "nan"], "--deadline must be a finite number"),
    (["data", "fetch", "--data-dir", "FILE/x", "--mirror", "MIRROR"], "--data-dir .* is a file, not a folder"),
    (["data", "import", "MIRROR/nats_official_sample/NATS-tss-v1_0-3ffb9-simple", "--data-dir", "FILE/x"],
     "--data-dir .* is a file, not a folder"),
]


def _case_id(case: tuple[list[str], str]) -> str:
    argv = case[0]
    return " ".join(argv[:1] + argv[-2:])


@pytest.mark.parametrize("argv, message", FLAG_CASES, ids=[_case_id(c) for c in FLAG_CASES])
def test_bad_flags_are_one_line_errors_and_write_nothing(tiny_data_dir: Path, mirror: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture, argv: list[str],
                                                          message: str) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "a-file").write_text("x")
    monkeypatch.chdir(work)
    argv = [a.replace("FILE", str(work / "a-file")).replace("MIRROR", str(mirror)) for a in argv]
    if argv[0] in ("train", "oneshot", "analyze", "plot") and "--out" not in argv:
        argv += ["--out", str(work / "out")]
    if "--data-dir" not in argv:
        argv += ["--data-dir", str(tiny_data_dir)]
    before = sorted(p.relative_to(work) for p in work.rglob("*"))
    assert cli.main(argv) == 2
    err = _one_line_error(capsys, argv[0])
    assert re.search(message, err), err
    assert sorted(p.relative_to(work) for p in work.rglob("*")) == before, "nothing may be written"


#: (subcommand argv, an integer flag, a float flag) of every subcommand that has both kinds
NUMERIC_FLAGS: list[tuple[list[str], str, str | None]] = [
    (["run", "--searcher", "rs"], "--runs", "--budget"),
    (TRAIN, "--seed", "--lr"),
    (ONESHOT, "--seed", "--lr"),
    (ANALYZE, "--bootstrap", None),
    (["plot", "curves", "results"], "--points", None),
    (PLOT, "--fidelity", "--vmin"),
]


@pytest.mark.parametrize("text", ["٣", "²", "1_0", " 3", "3 ", "0x10", "1e3", HUGE])
@pytest.mark.parametrize("argv, int_flag, float_flag", NUMERIC_FLAGS, ids=lambda v: v[0] if isinstance(v, list) else v)
def test_numeric_flags_take_plain_ascii_text_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture, argv: list[str], int_flag: str,
                                                   float_flag: str | None, text: str) -> None:
    """argparse's ``type=int`` / ``type=float`` would read ``"٣"`` as 3 and ``"1_0"`` as 10: every flag of every
    subcommand goes through :func:`nabench.validate.int_string` / :func:`~nabench.validate.float_string`."""
    monkeypatch.chdir(tmp_path)
    for flag in filter(None, (int_flag, float_flag)):
        if flag == "--fidelity" or (flag == float_flag and text in ("1e3",)):
            continue  # --fidelity is text checked by parse_fidelity (tested above); 1e3 is a plain float
        assert _main([*argv, flag, text, "--data-dir", str(tmp_path / "none")]) == 2
        err = _one_line_error(capsys, argv[0])
        assert re.search(rf"argument {flag}: invalid (int|float) value", err), err
    assert not any(tmp_path.iterdir())


def test_plain_numbers_still_parse() -> None:
    from nabench.cli import build_parser

    args = build_parser("run").parse_args(["run", "--runs", "007", "--seed", "-1", "--budget", "1.5e4"])
    assert (args.runs, args.seed, args.budget) == (7, -1, 15000.0)
    assert validate.float_string("x", "nan") != validate.float_string("x", "nan")  # read, for number() to refuse
    with pytest.raises(ConfigError):
        validate.float_string("x", "١.٥")


@pytest.mark.parametrize("text", ["searchers = " + "[" * 3000 + "]" * 3000, "a = " + "{b = " * 3000 + "1" + "}" * 3000])
def test_grid_file_nested_too_deep_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture, text: str) -> None:
    """tomllib recurses per nesting level: a deep file would end in a RecursionError traceback."""
    grid = tmp_path / "deep.toml"
    grid.write_text(text)
    assert cli.main(["run", "--config", str(grid), "--out", str(tmp_path / "out")]) == 2
    assert "nests tables or arrays far deeper" in _one_line_error(capsys, "run")
    assert not (tmp_path / "out").exists()


DEEP_JSON = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize("where", ["manifest.json", "runs.jsonl"])
def test_results_folder_json_nested_too_deep_is_one_line(data_dir: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture, where: str) -> None:
    """json recurses per nesting level: a damaged results file nested 10^5 deep must not end in a traceback."""
    out = tmp_path / "out"
    argv = ["run", "--searcher", "rs", "--runs", "1", "--out", str(out), "--data-dir", str(data_dir)]
    assert cli.main(argv) == 0
    capsys.readouterr()
    target = out / where
    target.write_text(DEEP_JSON if where == "manifest.json" else target.read_text() + DEEP_JSON + "\n")
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    assert cli.main(argv[:4] + ["2"] + argv[5:]) == 2
    err = _one_line_error(capsys, "run")
    assert where in err and "recursion" in err, err
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before, "nothing may change"


def test_param_nested_too_deep_is_one_line(tiny_data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    argv = ["run", "--searcher", "rea", "--runs", "1", "--param", "rea.population=" + "[" * 5000 + "]" * 5000,
            "--out", str(tmp_path / "out"), "--data-dir", str(tiny_data_dir)]
    assert cli.main(argv) == 2
    assert "population" in _one_line_error(capsys, "run")
    assert not (tmp_path / "out").exists()


@pytest.fixture()
def locked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder this user may not look into: stat() of it and below it raises EACCES (as /proc/1/root does in a
    container, or another user's folder for a non-root user; root passes permission bits, so it is simulated)."""
    import os
    import pathlib

    root = tmp_path / "locked"
    root.mkdir()
    real_stat = pathlib.Path.stat

    def stat(self, *args, **kwargs):
        if str(self) == str(root) or str(self).startswith(str(root) + os.sep):
            raise PermissionError(13, "Permission denied", str(self))
        return real_stat(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "stat", stat)
    return root


@pytest.mark.parametrize("argv, message", [
    (["query", "5", "--dataset", "cifar10", "--split", "ori-test", "--fidelity", "200"], "cannot look into the store"),
    (["data", "fetch", "--mirror", "MIRROR"], "--data-dir .* cannot be checked"),
    (["data", "verify"], "problem"),
    (["train", "--arch", "5", "--dataset", "cifar10", "--preset", "nb201-200", "--out", "LOCKED/run"],
     "--out .* cannot be checked"),
])
def test_a_folder_that_cannot_be_looked_into_is_one_line(locked: Path, mirror: Path, capsys: pytest.CaptureFixture,
                                                         argv: list[str], message: str) -> None:
    argv = [a.replace("MIRROR", str(mirror)).replace("LOCKED", str(locked)) for a in argv]
    assert cli.main([*argv, "--data-dir", str(locked)]) == 2
    assert re.search(message, _one_line_error(capsys, argv[0])), message
    assert not any(locked.iterdir())


def test_training_farm_on_a_manifest_nested_too_deep_is_one_line(data_dir: Path, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "out"
    assert cli.main(["run", "--searcher", "rs", "--runs", "1", "--out", str(out), "--data-dir", str(data_dir)]) == 0
    (out / "manifest.json").write_text(DEEP_JSON)
    capsys.readouterr()
    argv = ["train", "--from-run", str(out), "--dataset", "cifar10", "--preset", "nb201-200", "--data-dir", str(data_dir)]
    assert cli.main(argv) == 2
    assert "cannot read" in _one_line_error(capsys, "train")
    assert not (out / "trained").exists()


@pytest.mark.parametrize("content", [b"", b"not json", b"[1, 2]", b"\xff\xfe", DEEP_JSON.encode()])
def test_a_foreign_final_json_is_one_line(tmp_path: Path, content: bytes) -> None:
    """final.json marks a network as trained (train, packed runs and the farm skip it): a foreign or damaged one
    is named with the fix, not trusted or left to a JSON traceback."""
    from nabench.errors import IntegrityError
    from nabench.train import final

    path = tmp_path / final.FILE
    path.write_bytes(content)
    with pytest.raises(IntegrityError, match=r"final.json .*delete it to train that network again") as e:
        final.read(path)
    assert "\n" not in str(e.value)
    path.write_text('{"test_acc": 93.5}')
    assert final.read(path) == {"test_acc": 93.5}


def test_launch_record_nested_too_deep_is_one_line(tmp_path: Path) -> None:
    from nabench.errors import IntegrityError
    from nabench.experiments import launch

    (tmp_path / launch.LAUNCHES).write_text(DEEP_JSON)
    with pytest.raises(IntegrityError, match="is not a launch record"):
        launch._read_launches(tmp_path)


def test_data_import_of_an_empty_path_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["data", "import", "", "--data-dir", str(tmp_path / "data")]) == 2
    assert "PATH" in _one_line_error(capsys, "data")
    assert not (tmp_path / "data").exists()
