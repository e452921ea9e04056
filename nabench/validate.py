"""One home for checking values where they enter nabench (CLI flags, TOML grids, API arguments).

Every check raises :class:`~nabench.errors.ConfigError` with a message that names *where* the value
came from, what was given and what is accepted, so the CLI can print it as one line. Use these
instead of hand-written ``isinstance`` tests, so that every entry point agrees on what an integer
is (``True`` is not one, ``3.0`` is not one, ``numpy.int64(3)`` is), on limits, and on wording.

Size limits (``MAX_*``) bound the inputs that could exhaust memory or run for days by mistake.
"""

from __future__ import annotations

import math
import numbers
import os
import re
from pathlib import Path
from typing import Any, Iterable, Sequence

from nabench.errors import ConfigError

#: Largest number of runs per cell a grid may ask for (500 is the published protocol).
MAX_RUNS = 100_000
#: Largest number of bootstrap resamples of a study (the flatness study holds about 0.5 MB per resample over
#: the 15,625 cells, so 10,000 take about 5 GB; 10^7 would ask for terabytes).
MAX_BOOTSTRAP = 10_000
#: Largest number of worker processes.
MAX_WORKERS = 512
#: Largest seed (numpy SeedSequence accepts any non-negative int; we bound it to 64 bits).
MAX_SEED = 2**63 - 1
#: Largest number of runs in one grid (cells x runs); each run's record and table rows live in memory.
MAX_GRID_RUNS = 1_000_000
#: Largest config file read (a grid file is a few kB; this refuses a wrong file long before memory runs out).
MAX_CONFIG_BYTES = 4 * 2**20
#: Largest number of training epochs (published recipes use at most a few hundred).
MAX_EPOCHS = 10_000
#: Largest batch size (a larger one exhausts any accelerator's memory long before it trains).
MAX_BATCH_SIZE = 65_536
#: Largest learning rate accepted (published recipes use at most about 1; larger ones diverge or overflow).
MAX_LR = 100.0
#: Largest width (channels) or depth (cells) of a trained or searched network.
MAX_CHANNELS = 4096
MAX_CELLS = 256
#: Most digits an integer written as text may have (a seed has at most 19; Python refuses > 4300 with a traceback).
MAX_INT_DIGITS = 40

_PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_INT_STRING = re.compile(r"[+-]?[0-9]+", re.ASCII)
_FLOAT_STRING = re.compile(r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf|infinity|nan)",
                           re.ASCII | re.IGNORECASE)


def brief(value: Any, limit: int = 60) -> str:
    """``repr(value)`` cut to about ``limit`` characters, for error messages that must stay one short line."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def integer(where: str, value: Any, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """``value`` as an ``int``; bools, floats (even ``3.0``) and strings are refused."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ConfigError(f"{where} must be an integer, got {value!r} ({type(value).__name__})")
    v = int(value)
    if minimum is not None and v < minimum:
        raise ConfigError(f"{where} must be an integer >= {minimum}, got {v}")
    if maximum is not None and v > maximum:
        raise ConfigError(f"{where} must be an integer <= {maximum}, got {v}")
    return v


def number(where: str, value: Any, *, minimum: float | None = None, maximum: float | None = None,
           strict_min: bool = False, strict_max: bool = False) -> float:
    """``value`` as a finite ``float``; bools, strings, NaN and infinities are refused.

    ``strict_min`` / ``strict_max`` make the bounds exclusive (``> minimum`` / ``< maximum``).
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ConfigError(f"{where} must be a number, got {value!r} ({type(value).__name__})")
    v = float(value)
    if not math.isfinite(v):
        raise ConfigError(f"{where} must be a finite number, got {value!r}")
    if minimum is not None and (v <= minimum if strict_min else v < minimum):
        raise ConfigError(f"{where} must be {'>' if strict_min else '>='} {minimum:g}, got {value!r}")
    if maximum is not None and (v >= maximum if strict_max else v > maximum):
        raise ConfigError(f"{where} must be {'<' if strict_max else '<='} {maximum:g}, got {value!r}")
    return v


def int_string(where: str, text: Any, *, minimum: int | None = None, maximum: int | None = None,
               signed: bool = False) -> int:
    """The ``int`` a plain ASCII decimal integer string writes: digits ``0-9`` only, a leading ``+``/``-``
    only with ``signed``, at most :data:`MAX_INT_DIGITS` digits, then the range check.

    This is THE parser of integers typed by a user (ARCH indices, channel counts, comma lists): ``int()``
    alone also takes Unicode digits (``int("٦١١١") == 6111``, and ``"²".isdigit()`` is true but ``int("²")``
    fails), underscores (``"1_000"``), surrounding whitespace, and raises a traceback past 4300 digits.
    """
    if not isinstance(text, str):
        raise ConfigError(f"{where} must be an integer written as text, got {brief(text)} ({type(text).__name__})")
    digits = len(text.lstrip("+-"))
    if digits > MAX_INT_DIGITS:
        raise ConfigError(f"{where} {brief(text)} has {digits} characters; an integer here has at most "
                          f"{MAX_INT_DIGITS} digits")
    if not text.isascii():
        raise ConfigError(f"{where} {brief(text)} holds non-ASCII characters; write integers with the digits 0-9")
    if not _INT_STRING.fullmatch(text):
        raise ConfigError(f"{where} must be a plain decimal integer (digits 0-9{', optionally signed' if signed else ''}; "
                          f"no spaces, '_', '.' or exponent), got {brief(text)}")
    if text[0] in "+-" and not signed:
        raise ConfigError(f"{where} takes no sign, got {brief(text)}; write the digits alone")
    return integer(where, int(text), minimum=minimum, maximum=maximum)


def float_string(where: str, text: Any) -> float:
    """The ``float`` a plain ASCII decimal number string writes (``0.025``, ``1e-3``, ``-5``; ``nan`` and ``inf``
    are read, for :func:`number` to refuse with a clear message). ``float()`` alone also takes Unicode digits
    (``float("١.٥") == 1.5``), underscores and surrounding whitespace."""
    if not isinstance(text, str):
        raise ConfigError(f"{where} must be a number written as text, got {brief(text)} ({type(text).__name__})")
    if len(text) > 2 * MAX_INT_DIGITS or not text.isascii() or not _FLOAT_STRING.fullmatch(text):
        raise ConfigError(f"{where} must be a plain decimal number (digits 0-9, '.', an exponent like 1e-3), "
                          f"got {brief(text)}")
    return float(text)


def positive(where: str, value: Any) -> float:
    """A finite number ``> 0``."""
    return number(where, value, minimum=0.0, strict_min=True)


def boolean(where: str, value: Any) -> bool:
    """``True`` or ``False`` only (``1``, ``"yes"`` are refused)."""
    if not isinstance(value, bool):
        raise ConfigError(f"{where} must be true or false, got {value!r} ({type(value).__name__})")
    return value


def string(where: str, value: Any) -> str:
    """A non-empty string."""
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where} must be a non-empty string, got {value!r}")
    return value


def choice(where: str, value: Any, choices: Sequence[Any]) -> Any:
    """One of ``choices`` (compared by equality; bools never match ints)."""
    for c in choices:
        if type(value) is type(c) and value == c:
            return c
    raise ConfigError(f"{where} must be one of {', '.join(map(str, choices))}, got {value!r}")


def names(where: str, value: Any) -> list[str]:
    """A name or a non-empty list of names."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{where} must be a non-empty list of names, got {value!r}")
    return list(value)


def table(where: str, value: Any, keys: Iterable[str] | None = None) -> dict[str, Any]:
    """A mapping (a TOML table); with ``keys``, unknown keys are refused."""
    from collections.abc import Mapping

    if not isinstance(value, Mapping):
        raise ConfigError(f"{where} must be a table (key = value pairs), got {value!r} ({type(value).__name__})")
    if keys is not None:
        valid = list(keys)
        unknown = sorted(set(map(str, value)) - set(valid))
        if unknown:
            raise ConfigError(f"unknown key(s) {', '.join(map(repr, unknown))} in {where}; "
                              f"valid keys are {', '.join(valid) or 'none'}")
    return dict(value)


def seed(where: str, value: Any) -> int:
    """A seed: an integer in ``0 .. 2**63 - 1``."""
    return integer(where, value, minimum=0, maximum=MAX_SEED)


def plain_name(where: str, value: Any) -> str:
    """A name safe as one path component: letters, digits, ``.``, ``_``, ``-``, not starting with ``.``/``-``,
    at most 100 characters (so ``../x``, ``/abs`` or ``a/b`` cannot escape the folder the name lives in)."""
    if not isinstance(value, str) or not _PLAIN_NAME.fullmatch(value):
        raise ConfigError(f"{where} must be a plain name (letters, digits, '.', '_', '-'; no '/' or leading '.'; "
                          f"at most 100 characters), got {value!r}")
    return value


def text_file(where: str, path: Any, *, max_bytes: int = MAX_CONFIG_BYTES) -> str:
    """The UTF-8 text of the file ``path``; a missing path, a folder, an unreadable, oversized or
    non-UTF-8 file is refused with one line naming it."""
    p = Path(string(where, path) if not isinstance(path, os.PathLike) else path)
    if not p.exists():
        raise ConfigError(f"{where} {p} does not exist; pass the path of a file")
    if not p.is_file():
        raise ConfigError(f"{where} {p} is not a file (a folder?); pass the path of a file")
    try:
        size = p.stat().st_size
        if size > max_bytes:
            raise ConfigError(f"{where} {p} is {size} bytes, more than the {max_bytes} a config file may have; "
                              "is it the right file?")
        data = p.read_bytes()
    except OSError as e:
        raise ConfigError(f"{where} {p} cannot be read: {e.strerror}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"{where} {p} is not UTF-8 text (byte {e.start}); save it as UTF-8") from None


def writable_dir(where: str, path: Any) -> Path:
    """``path`` as a folder that exists and is writable, or can be created. The check makes and removes
    an empty temporary folder (permission bits alone do not tell: root passes them on a read-only mount),
    so a refused path is left exactly as it was."""
    import tempfile

    p = Path(string(where, path) if not isinstance(path, os.PathLike) else path)
    try:
        if p.exists() and not p.is_dir():
            raise ConfigError(f"{where} {p} exists and is not a folder; pick another {where}")
        probe_in = p
        while not probe_in.exists():
            probe_in = probe_in.parent
        probe_is_dir = probe_in.is_dir()
    except OSError as e:  # exists() raises for EACCES: a place this user may not look into
        raise ConfigError(f"{where} {p} cannot be checked ({e.strerror}); pick another {where}") from None
    if not probe_is_dir:
        raise ConfigError(f"{where} {p} cannot be created: {probe_in} is a file, not a folder; pick another {where}")
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".nabench-probe-", dir=probe_in))
    except OSError as e:
        what = "is not writable" if probe_in == p else f"cannot be created ({probe_in} is not writable)"
        raise ConfigError(f"{where} {p} {what}: {e.strerror}; pick another {where}") from None
    return p
