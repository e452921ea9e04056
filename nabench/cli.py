"""The ``nabench`` command: a thin dispatcher over subcommand modules in :mod:`nabench.commands`.

Each module in ``COMMANDS`` exposes ``register(subparsers)``, which adds its subcommand and sets
``func`` on the parser to a handler ``(args) -> int``. Handlers import heavy dependencies (torch)
lazily so that the tabular commands work without them. User mistakes raise
:class:`nabench.errors.NabenchError`, printed here as one line, never as a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from nabench import __version__
from nabench.errors import NabenchError

#: Subcommand modules, in the order ``nabench --help`` lists them.
COMMANDS: tuple[str, ...] = ("data", "query", "run", "search", "train", "analyze", "plot")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="nabench",
        description="Neighborhood-aware NAS on tabular benchmarks (NAS-Bench-201 / NATS-Bench).",
    )
    parser.add_argument("--version", action="version", version=f"nabench {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"nabench.commands.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except NabenchError as e:
        print(f"nabench {args.command}: error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print(f"nabench {args.command}: interrupted; results written so far are kept", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
