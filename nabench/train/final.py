"""THE reader of a training run's ``final.json`` (the summary the trainer writes once a network is done).

A run folder can hold a ``final.json`` that nabench did not write, or a damaged one (a copy from elsewhere, a
truncated write of an older version): it decides that a network counts as trained and is skipped, so it is read
here, with one-line errors naming the file and the fix, instead of ``json.loads`` at each place. Torch-free.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from nabench.errors import IntegrityError

FILE = "final.json"


def read(path: Path) -> dict[str, Any]:
    """The summary in ``path`` (a JSON object); anything else raises :class:`IntegrityError`."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as e:  # ValueError: not UTF-8 or not JSON
        raise IntegrityError(f"{path} is not a readable nabench {FILE} ({type(e).__name__}); delete it to train "
                             "that network again") from None
    if not isinstance(doc, dict):
        raise IntegrityError(f"{path} is not a nabench {FILE} (a JSON object expected, got {type(doc).__name__}); "
                             "delete it to train that network again")
    return doc
