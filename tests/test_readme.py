"""Every code block in README.md runs: python blocks execute, bash blocks' nabench commands parse.

Rules for README authors (what this test enforces):

* A ```python block is self-contained (its own imports) and runs as written against the session's
  store (``NABENCH_DATA``: the real store when ``../shared/data`` exists, else the synthetic one),
  so it may only use quantities both hold (CIFAR-10 / ``cifar10-valid``; see tests/fixtures). A
  block that needs another benchmark says so on the line above its fence, e.g.
  ``<!-- readme-test: needs nb301 -->``; it is skipped (with the reason) where
  ``nabench.load("nb301")`` fails, and ``<!-- readme-test: needs real-data -->`` skips it on the
  synthetic store.
* In a ```bash block every command that starts with ``nabench`` must parse with the real CLI
  parser (no ``...`` placeholders); ``nabench query`` and ``nabench data info`` are also run.
* Inline commands in backticks that start with ``nabench `` must parse too (a usage synopsis such as
  ``nabench data fetch [--mirror DIR]`` up to its first ``[``).
"""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

import pytest

from nabench import cli

README = Path(__file__).resolve().parents[1] / "README.md"
FENCE = re.compile(r"^```(\w+)[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
NEEDS = re.compile(r"<!--\s*readme-test:\s*needs\s+([\w.-]+)\s*-->\s*$")


def _blocks(lang: str) -> list[tuple[int, str]]:
    text = README.read_text()
    return [(text[: m.start()].count("\n") + 1, m.group(2)) for m in FENCE.finditer(text) if m.group(1) == lang]


def _needs(line: int) -> str | None:
    """What the block starting at ``line`` needs, from a ``<!-- readme-test: needs X -->`` line above it."""
    above = [ln for ln in README.read_text().splitlines()[: line - 1] if ln.strip()]
    m = NEEDS.search(above[-1]) if above else None
    return m.group(1) if m else None


def _commands(block: str) -> list[list[str]]:
    """The nabench commands of a bash block: lines joined at trailing backslashes, split at && ; |."""
    joined = re.sub(r"\\\n", " ", block)
    out = []
    for line in joined.splitlines():
        line = line.split(" #", 1)[0].strip()
        if line.startswith("#"):
            continue
        for part in re.split(r"&&|;|\|\|", line):
            words = shlex.split(part.strip())
            if words and words[0] == "nabench":
                out.append(words[1:])
    return out


def _inline_commands() -> list[list[str]]:
    """Inline ``nabench ...`` spans; a usage synopsis (``nabench data fetch [--mirror DIR]``) up to its first ``[``."""
    text = FENCE.sub("", README.read_text())
    return [shlex.split(m.split("[", 1)[0])[1:] for m in re.findall(r"`(nabench [^`]+)`", text)]


@pytest.fixture(scope="module")
def store_dir(request) -> Path:
    """The real session store if ../shared/data is there, else the tiny synthetic store."""
    from conftest import shared_data_status

    return request.getfixturevalue("data_dir" if shared_data_status()[1] is None else "tiny_data_dir")


def test_readme_has_code_blocks():
    assert _blocks("python") and _blocks("bash")


@pytest.mark.parametrize("line, code", _blocks("python"), ids=lambda v: f"line{v}" if isinstance(v, int) else "")
def test_python_block_runs(line, code, store_dir, monkeypatch):
    import nabench
    from nabench.errors import NabenchError

    from conftest import shared_data_status

    needs = _needs(line)
    if needs == "real-data" and shared_data_status()[1] is not None:
        pytest.skip("the block needs the real tables (../shared/data)")
    elif needs and needs != "real-data":
        try:
            nabench.load(needs, data_dir=store_dir)
        except NabenchError as e:
            pytest.skip(f"the block needs the {needs} benchmark, not installed in the test store: {e}")
    monkeypatch.setenv("NABENCH_DATA", str(store_dir))
    exec(compile(code, f"README.md:{line}", "exec"), {"__name__": "__readme__"})


def _parses(argv: list[str]) -> None:
    parser = cli.build_parser(cli._chosen(argv))
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse reports the problem on stderr
        raise AssertionError(f"`nabench {' '.join(argv)}` does not parse (exit {e.code})") from None
    assert getattr(args, "func", None), f"`nabench {' '.join(argv)}` names no runnable command"


def _all_commands() -> list[list[str]]:
    cmds = [c for _, b in _blocks("bash") for c in _commands(b)]
    return cmds + _inline_commands()


@pytest.mark.parametrize("argv", _all_commands(), ids=lambda a: " ".join(a)[:60])
def test_nabench_commands_parse(argv):
    assert "..." not in argv, "replace the placeholder with a real value"
    _parses(argv)


@pytest.mark.parametrize("argv", [a for a in _all_commands() if a[:1] == ["query"] or a[:2] == ["data", "info"]],
                         ids=lambda a: " ".join(a)[:60])
def test_cheap_commands_run(argv, store_dir, capsys):
    assert cli.main([*argv, "--data-dir", str(store_dir)]) == 0
    assert capsys.readouterr().out.strip()


def test_torch_note_names_the_cpu_index_and_the_gpu_route():
    text = README.read_text()
    assert "https://download.pytorch.org/whl/cpu" in text
    assert "pytorch.org" in text and "CUDA" in text
    assert cli.TORCH_HINT in text                     # the README names the install the CLI asks for
    assert "../shared/data" in text and "skip" in text


def test_needs_markers_are_read(tmp_path, monkeypatch):
    text = "intro\n<!-- readme-test: needs nb301 -->\n```python\nx = 1\n```\n\n```python\ny = 2\n```\n"
    monkeypatch.setattr(sys.modules[__name__], "README", tmp_path / "R.md")
    (tmp_path / "R.md").write_text(text)
    lines = [ln for ln, _ in _blocks("python")]
    assert [_needs(ln) for ln in lines] == ["nb301", None]
