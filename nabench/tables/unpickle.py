"""Unpickling data files without running code from them: an unpickler that resolves only an allow-list.

A pickle can name any importable callable (``os.system``, ``builtins.eval``) and have it called while
loading; plain ``pickle.load`` (what ``nats_bench`` runs) and ``torch.load(weights_only=False)`` (what
``nas_201_api`` runs) therefore execute whatever a file downloaded from a mirror asks. The benchmark
files hold plain data: dicts, lists, numbers, strings, ``collections.OrderedDict`` and numpy scalars
and arrays. :class:`RestrictedUnpickler` resolves exactly those globals (:data:`RECORD_GLOBALS`, under
their numpy 1.x and 2.x names) and raises :class:`Refused` for any other, before anything is called.
Persistent ids are refused too (``pickle.Unpickler``'s default). The same numpy names are what
``torch.load(weights_only=True)`` is allowed for the official ``.pth`` files (:func:`numpy_globals`).
"""

from __future__ import annotations

import collections
import io
import pickle
from typing import Any, Mapping

import numpy as np


def numpy_globals() -> dict[str, Any]:
    """numpy callables and classes that pickled numpy scalars and arrays name, by their full names."""
    core = getattr(np, "_core", None)
    multiarray = core.multiarray if core is not None else np.core.multiarray
    out: dict[str, Any] = {"numpy.dtype": np.dtype, "numpy.ndarray": np.ndarray}
    for mod in ("numpy.core.multiarray", "numpy._core.multiarray"):
        out[f"{mod}.scalar"] = multiarray.scalar
        out[f"{mod}._reconstruct"] = multiarray._reconstruct
    for code in "?bhilqBHILQefdgFDGSUO":  # dtype classes (numpy >= 1.25), restored by BUILD in torch's unpickler
        cls = type(np.dtype(code))
        if cls is not np.dtype:
            out[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return out


#: Every global an official NATS-Bench record (or a pinned upstream table) may name; nothing else resolves.
RECORD_GLOBALS: dict[str, Any] = {"collections.OrderedDict": collections.OrderedDict, **numpy_globals()}


class Refused(pickle.UnpicklingError):
    """A pickle named a global outside the allow-list (its full name is the message); nothing was called."""


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that resolves only the globals in ``allowed`` (full name -> object)."""

    def __init__(self, file: io.BufferedIOBase, allowed: Mapping[str, Any] = RECORD_GLOBALS) -> None:
        super().__init__(file)
        self.allowed = allowed

    def find_class(self, module: str, name: str) -> Any:
        full = f"{module}.{name}"
        if full in self.allowed:
            return self.allowed[full]
        raise Refused(full)


def loads(data: bytes, allowed: Mapping[str, Any] = RECORD_GLOBALS) -> Any:
    """Unpickle ``data`` through :class:`RestrictedUnpickler`; :class:`Refused` names a disallowed global."""
    return RestrictedUnpickler(io.BytesIO(data), allowed).load()
