"""Training final architectures: recipes, the trainer (DDP via torchrun, exact resume), checkpoints.

:mod:`nabench.train.recipes` is torch-free (the CLI lists presets without torch); everything else needs it.
Entry points: :func:`nabench.train.run.run` (what ``nabench train`` calls) and
:class:`nabench.train.trainer.Trainer`.
"""

import sys


def note(message: str) -> None:
    """Progress lines and notes of the training code: to stderr, so that stdout holds only results (--json)."""
    print(message, file=sys.stderr, flush=True)
