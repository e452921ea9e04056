"""The CLI dispatcher: lazy subcommand imports, the one-line error without torch, the ``search`` alias."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from nabench import cli
from nabench.commands.common import default_image_root


def _python(code: str, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    import os

    env = dict(os.environ, **(env_extra or {}))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)


def test_query_imports_only_what_it_needs(tiny_data_dir):
    """`nabench query` runs without importing scipy, pandas, matplotlib, torch or other subcommands."""
    code = (
        "import sys, json\n"
        "from nabench.cli import main\n"
        f"rc = main(['query', '6111', '--dataset', 'cifar10-valid', '--split', 'x-valid', '--fidelity', '200',"
        f" '--data-dir', {str(tiny_data_dir)!r}, '--json'])\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('scipy', 'pandas', 'matplotlib', 'torch')"
        " or m.startswith(('nabench.commands.', 'nabench.search', 'nabench.experiments', 'nabench.analysis')))\n"
        "print(json.dumps({'rc': rc, 'heavy': heavy}), file=sys.stderr)\n"
    )
    res = _python(code)
    report = json.loads(res.stderr.strip().splitlines()[-1])
    assert report["rc"] == 0, res.stderr
    assert report["heavy"] == ["nabench.commands.common", "nabench.commands.query"]
    assert json.loads(res.stdout)["index"] == 6111


@pytest.mark.parametrize("argv", [
    ["oneshot", "--space", "201", "--dataset", "cifar10", "--epochs", "1", "--no-lookup"],
    ["search", "--space", "201", "--dataset", "cifar10", "--epochs", "1", "--no-lookup"],
    ["train", "--arch", "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|"
     "skip_connect~2|", "--dataset", "cifar10", "--preset", "nb201-200"],
])
def test_torch_commands_without_torch_fail_in_one_line(argv, tmp_path):
    """Without torch (simulated: sys.modules['torch'] = None) the torch commands end in one line, exit 2."""
    code = ("import sys\nsys.modules['torch'] = None\nfrom nabench.cli import main\n"
            f"sys.exit(main({argv!r} + ['--out', {str(tmp_path / 'out')!r}]))")
    res = _python(code)
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert 'pip install "nabench[torch]"' in lines[0] and "PyTorch" in lines[0]
    assert "Traceback" not in res.stderr
    assert not (tmp_path / "out").exists()


def test_other_missing_modules_are_not_hidden(monkeypatch):
    """Only a missing torch becomes the one-line hint; any other ModuleNotFoundError stays a real error."""
    def boom(_args):
        raise ModuleNotFoundError("No module named 'not_a_module'", name="not_a_module")

    monkeypatch.setattr(cli, "build_parser", lambda only=None: _parser_with(boom))
    with pytest.raises(ModuleNotFoundError):
        cli.main(["query", "x"])


def _parser_with(func):
    import argparse

    p = argparse.ArgumentParser(prog="nabench")
    sub = p.add_subparsers(dest="command")
    q = sub.add_parser("query")
    q.add_argument("arch")
    q.set_defaults(func=func)
    return p


def test_help_lists_every_subcommand_and_the_alias(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for name in cli.COMMANDS:
        assert name in out
    assert "oneshot (search)" in out


def test_search_is_an_alias_of_oneshot(capsys):
    with pytest.raises(SystemExit):
        cli.main(["search", "--help"])
    out = capsys.readouterr().out
    assert out.startswith("usage: nabench oneshot")
    assert "former name" in out
    args = cli.build_parser("oneshot").parse_args(["search", "--data-root", "/imgs"])
    assert str(args.image_root) == "/imgs" and args.data_dir is None
    args = cli.build_parser("oneshot").parse_args(["oneshot", "--image-root", "/x", "--data-dir", "/t"])
    assert (str(args.image_root), args.data_dir) == ("/x", "/t")


def test_version_and_unknown_command(capsys):
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.strip().startswith("nabench ")
    with pytest.raises(SystemExit) as e:
        cli.main(["qery"])
    assert e.value.code == 2
    assert "invalid choice: 'qery'" in capsys.readouterr().err


def test_default_image_root(monkeypatch, tmp_path):
    monkeypatch.setenv("NABENCH_DATASETS", str(tmp_path))
    assert default_image_root() == tmp_path
    monkeypatch.delenv("NABENCH_DATASETS")
    assert default_image_root().parts[-3:] == (".cache", "nabench", "datasets")


def test_user_errors_print_one_line(tiny_data_dir, capsys):
    rc = cli.main(["query", "99999", "--dataset", "cifar10", "--split", "ori-test", "--fidelity", "200",
                   "--data-dir", str(tiny_data_dir)])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("nabench query: error:") and len(err.strip().splitlines()) == 1
