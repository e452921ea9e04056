"""User-facing errors. The CLI prints any :class:`NabenchError` as one message, without a traceback."""

from __future__ import annotations


class NabenchError(Exception):
    """Base of every error caused by user input or missing/corrupt data; the message names the fix."""


class ConfigError(NabenchError, ValueError):
    """An invalid argument or configuration value (unknown dataset, split, fidelity, searcher, ...)."""


class DataNotFoundError(NabenchError, FileNotFoundError):
    """The benchmark store (or a file it needs) is not installed."""


class IntegrityError(NabenchError):
    """A file failed its checksum or could not be parsed: corrupt, truncated or tampered with."""


class NotAvailableError(NabenchError, LookupError):
    """The store does not hold the requested quantity (e.g. per-seed 12-epoch values)."""
