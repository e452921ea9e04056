"""Arguments shared by several subcommands."""

from __future__ import annotations

import argparse

from nabench.tables import paths


def add_data_dir(parser: argparse.ArgumentParser) -> None:
    """``--data-dir``: where the store lives (default $NABENCH_DATA or ~/.cache/nabench)."""
    parser.add_argument(
        "--data-dir", default=None, metavar="DIR",
        help=f"data folder holding the store (default: ${paths.ENV_DATA} or ~/.cache/nabench)",
    )
