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
from typing import Any, Iterable, Sequence

from nabench.errors import ConfigError

#: Largest number of runs per cell a grid may ask for (500 is the published protocol).
MAX_RUNS = 100_000
#: Largest number of bootstrap resamples of a study.
MAX_BOOTSTRAP = 100_000
#: Largest number of worker processes.
MAX_WORKERS = 512
#: Largest seed (numpy SeedSequence accepts any non-negative int; we bound it to 64 bits).
MAX_SEED = 2**63 - 1


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
