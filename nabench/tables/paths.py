"""Where nabench keeps its data: the store folder and the optional mirror of upstream files.

The data folder is, in order of precedence, the ``--data-dir`` flag, ``$NABENCH_DATA``, or
``$XDG_CACHE_HOME/nabench`` (``~/.cache/nabench``). A mirror folder holding the upstream files (for
machines without internet) is the ``--mirror`` flag or ``$NABENCH_MIRROR``.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_DATA = "NABENCH_DATA"
ENV_MIRROR = "NABENCH_MIRROR"


def data_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The data folder (not created here)."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get(ENV_DATA)
    if env:
        return Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "nabench"


def mirror_dir(explicit: str | os.PathLike[str] | None = None) -> Path | str | None:
    """The mirror named by flag or environment: a folder (Path), an http(s) base URL (str), or None."""
    value = explicit or os.environ.get(ENV_MIRROR)
    if not value:
        return None
    if str(value).startswith(("http://", "https://")):
        return str(value)
    return Path(value).expanduser()


def store_dir(root: Path, name: str = "nb201") -> Path:
    """Folder of one benchmark's store inside the data folder."""
    return root / name


def downloads_dir(root: Path) -> Path:
    """Folder where verified upstream files are kept."""
    return root / "downloads"
