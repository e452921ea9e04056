"""Subcommands of the ``nabench`` CLI, one module each (see :mod:`nabench.cli`)."""
