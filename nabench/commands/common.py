"""Arguments shared by several subcommands, and where their defaults come from.

Two folders, two names: ``--data-dir`` is the *tables* (the benchmark store built by ``nabench data
fetch``; default ``$NABENCH_DATA`` or ``~/.cache/nabench``), ``--image-root`` is the *image datasets*
that the networks train on (CIFAR, ImageNet16-120, ImageNet; default ``$NABENCH_DATASETS`` or
``~/.cache/nabench/datasets``). ``--data-root`` is accepted as the former name of ``--image-root``.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from nabench.tables import paths

#: Environment variable naming the folder of image datasets.
ENV_IMAGES = "NABENCH_DATASETS"


def add_data_dir(parser: argparse.ArgumentParser) -> None:
    """``--data-dir``: where the tables (the store) live (default $NABENCH_DATA or ~/.cache/nabench)."""
    parser.add_argument(
        "--data-dir", default=None, metavar="DIR",
        help=f"folder holding the benchmark tables (default: ${paths.ENV_DATA} or ~/.cache/nabench)",
    )


def default_image_root() -> Path:
    """The image-dataset folder when ``--image-root`` is not given: ``$NABENCH_DATASETS`` or ~/.cache/nabench/datasets."""
    env = os.environ.get(ENV_IMAGES)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "nabench" / "datasets"


def add_image_root(parser: argparse.ArgumentParser) -> None:
    """``--image-root`` (former name ``--data-root``): the folder of image datasets, stored as ``args.image_root``."""
    parser.add_argument(
        "--image-root", "--data-root", dest="image_root", type=Path, default=None, metavar="DIR",
        help=f"folder holding the image datasets (default: ${ENV_IMAGES} or ~/.cache/nabench/datasets; "
             "--data-root is its former name)",
    )
