"""The ``nabench`` command: a thin dispatcher over subcommand modules in :mod:`nabench.commands`.

Each module in :data:`COMMANDS` exposes ``register(subparsers)``, which adds its subcommand and sets
``func`` on the parser to a handler ``(args) -> int``. User mistakes raise
:class:`nabench.errors.NabenchError`, printed here as one line (exit 2), never as a traceback.

Decisions:

* **Cold start.** Only the module of the subcommand being run is imported (``nabench query`` pays
  for numpy and the store reader, not for scipy, pandas, matplotlib or torch). The full parser, with
  every module registered, is built only when no known subcommand is named (``nabench --help``,
  a typo), so that argparse can list all subcommands or suggest the right one.
* **Aliases** live here, next to the module table (:data:`ALIASES`): ``nabench search`` is the former
  name of ``nabench oneshot`` and keeps working.
* **torch is optional.** The subcommands that train networks need the ``torch`` extra; when torch is
  missing, any ``ModuleNotFoundError`` for it (raised by a handler's lazy import) is turned into one
  line naming the install command, exit 2. This is the one place that check lives.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Any, NoReturn, Sequence

from nabench import __version__, validate
from nabench.errors import NabenchError

#: Subcommand name -> module registering it, in the order ``nabench --help`` lists them.
COMMANDS: dict[str, str] = {
    "data": "nabench.commands.data",
    "query": "nabench.commands.query",
    "run": "nabench.commands.run",
    "oneshot": "nabench.commands.oneshot",
    "train": "nabench.commands.train",
    "analyze": "nabench.commands.analyze",
    "plot": "nabench.commands.plot",
}

#: Subcommand -> other names that run it (former names kept so old commands keep working).
ALIASES: dict[str, tuple[str, ...]] = {"oneshot": ("search",)}

#: The install command printed when an optional dependency is missing.
TORCH_HINT = 'pip install "nabench[torch]"'


def _plain_int(text: str) -> int:
    """``type=int`` of every nabench flag: plain ASCII digits (:func:`nabench.validate.int_string`), so
    ``--seed ٣``, ``--runs 1_000`` or ``--workers " 4"`` are usage errors, not 3, 1000 and 4."""
    try:
        return validate.int_string("value", text, signed=True)
    except NabenchError:
        raise ValueError(text) from None


def _plain_float(text: str) -> float:
    """``type=float`` of every nabench flag: a plain ASCII number (:func:`nabench.validate.float_string`)."""
    try:
        return validate.float_string("value", text)
    except NabenchError:
        raise ValueError(text) from None


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (exit 2), like every other nabench error;
    subcommand parsers inherit the class. Flags declared ``type=int`` / ``type=float`` are read by
    :func:`_plain_int` / :func:`_plain_float` (argparse's type registry), so every integer and number typed
    on the command line goes through the one check of :mod:`nabench.validate`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.register("type", int, _plain_int)
        self.register("type", float, _plain_float)

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class _Registrar:
    """The subparsers action handed to ``register()``: adds each subcommand's aliases from :data:`ALIASES`."""

    def __init__(self, sub: argparse._SubParsersAction) -> None:
        self._sub = sub

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        kwargs.setdefault("aliases", list(ALIASES.get(name, ())))
        return self._sub.add_parser(name, **kwargs)


def _canonical(name: str) -> str | None:
    """The subcommand a name runs (itself or the command it is an alias of); None if unknown."""
    if name in COMMANDS:
        return name
    return next((c for c, names in ALIASES.items() if name in names), None)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argument parser: every subcommand registered, or only ``only`` (imports just its module)."""
    parser = _Parser(
        prog="nabench",
        description="Neighborhood-aware NAS on tabular benchmarks (NAS-Bench-201 / NATS-Bench).",
    )
    parser.add_argument("--version", action="version", version=f"nabench {__version__}")
    sub = _Registrar(parser.add_subparsers(dest="command", metavar="COMMAND"))
    for name in (only,) if only else COMMANDS:
        importlib.import_module(COMMANDS[name]).register(sub)
    return parser


def _chosen(argv: Sequence[str]) -> str | None:
    """The subcommand ``argv`` names (its first word that is not a top-level option), if known."""
    for word in argv:
        if word.startswith("-"):
            return None  # --help / --version / an unknown top-level option: the full parser answers
        return _canonical(word)
    return None


def _prefix(command: str | None) -> str:
    return f"nabench {command}" if command else "nabench"


def _missing_torch(e: ModuleNotFoundError) -> bool:
    return (e.name or "").split(".")[0] == "torch"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv == ["--version"]:  # no subcommand module needed
        print(f"nabench {__version__}")
        return 0
    command = _chosen(argv)
    try:
        parser = build_parser(command)
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help()
            return 2
        return int(args.func(args) or 0)
    except NabenchError as e:
        print(f"{_prefix(command)}: error: {e}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as e:
        if not _missing_torch(e):
            raise
        print(f"{_prefix(command)}: error: this command needs PyTorch, which is not installed; install it with "
              f"{TORCH_HINT} (CPU-only machines: see the README)", file=sys.stderr)
        return 2
    except BrokenPipeError:
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print(f"{_prefix(command)}: interrupted; results written so far are kept", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
