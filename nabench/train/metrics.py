"""Per-epoch metrics of a run and their CSV file.

The history lives in the checkpoint; ``metrics.csv`` is rewritten from it (atomically) after every
epoch, so after a crash and resume the file holds each finished epoch exactly once.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import torch

from nabench.atomic import write_text

COLUMNS: tuple[str, ...] = ("epoch", "lr", "train_loss", "train_acc", "test_loss", "test_acc", "test_top5",
                            "epoch_time_s", "images_per_s")


def write_csv(history: list[dict[str, float]], path: Path) -> None:
    """Write ``history`` (one dict per finished epoch) as ``metrics.csv``; missing values stay empty."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in history:
        writer.writerow({k: _fmt(row.get(k)) for k in COLUMNS})
    write_text(path, buf.getvalue())


def _fmt(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def topk_correct(logits: torch.Tensor, target: torch.Tensor, ks: tuple[int, ...] = (1, 5)) -> list[torch.Tensor]:
    """Number of samples whose label is among the top-k logits, for each k (capped at the class count)."""
    kmax = min(max(ks), logits.shape[1])
    top = logits.topk(kmax, dim=1).indices
    hit = top == target.view(-1, 1)
    return [hit[:, : min(k, kmax)].any(dim=1).sum() for k in ks]
