"""THE reader of files written by ``torch.save`` that nabench did not necessarily write itself.

Official ``.pth`` benchmark files, HELP latency lists, training checkpoints and search checkpoints all go
through :func:`load`: ``torch.load(weights_only=True)`` (only tensors, plain containers and the globals the
caller allows are rebuilt, so a file with a ``__reduce__`` payload runs nothing), with any failure turned into
ONE line naming the file, what was wrong and the caller's fix.

Decision (issue 12.7): torch's own error is never passed on. It spans many lines and advises re-running with
``weights_only=False``, which would run the code in the file; a user who sees a foreign ``checkpoint.pt``
needs to be told to delete it or choose another folder, not how to unpickle it.

torch is imported inside :func:`load` only, so this module imports without it (the tabular core must).
"""

from __future__ import annotations

import pickle
import re
from pathlib import Path
from typing import Any, Iterable

from nabench.errors import IntegrityError

_GLOBAL = re.compile(r"GLOBAL ([A-Za-z_][\w.]*)|Can only build .* but got <class '([\w.]+)'>")


class Refused(IntegrityError):
    """The file asks to run a global that is not allowed (``name`` holds it); nothing from it was run."""

    def __init__(self, message: str, name: str) -> None:
        super().__init__(message)
        self.name = name


def load(path: Path | str, *, what: str, fix: str, allowed: Iterable[Any] = (),
         map_location: Any = "cpu") -> Any:
    """``torch.load(path, weights_only=True)`` with the globals ``allowed`` for this call only.

    ``allowed`` holds callables or ``(callable, "module.name")`` pairs, as ``torch.serialization.safe_globals``
    takes them. ``what`` names what the file should be (``"a nabench training checkpoint"``), ``fix`` what the user
    should do about a bad one (``"delete it or use another --out"``). Raises :class:`Refused` when the file
    names a global outside the allow-list and :class:`~nabench.errors.IntegrityError` for any other
    failure (missing, unreadable, truncated, not a torch file), each with a one-line message.
    """
    import torch

    allowed = list(allowed)
    try:
        if allowed:
            with torch.serialization.safe_globals(allowed):
                return torch.load(str(path), map_location=map_location, weights_only=True)
        return torch.load(str(path), map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        m = _GLOBAL.search(str(e))
        if m:
            name = m.group(1) or m.group(2)
            raise Refused(f"refused {path}: it asks to run {name}, which {what} never holds, so nothing from it "
                          f"was run; {fix}", name) from None
        reason = "not a torch file, or corrupt or truncated"
    except OSError as e:
        reason = f"cannot be read: {e.strerror or type(e).__name__}"
    except Exception as e:  # noqa: BLE001 - any other failure to load plain data means a bad file
        reason = f"{type(e).__name__}: corrupt, truncated or not such a file"
    raise IntegrityError(f"cannot read {path} as {what} ({reason}); {fix}")
