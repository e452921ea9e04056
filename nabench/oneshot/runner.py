"""A whole search: build, run the shared loop, derive and look up the architecture after each epoch, record.

:func:`run_oneshot` is what ``nabench oneshot`` calls (named apart from the tabular
:func:`nabench.search.loop.run_search`); it takes any iterables of ``(images, labels)``
batches for the two search splits, so tests can feed tiny in-memory data and the CLI feeds the
:mod:`nabench.vision` loaders (:func:`nabench.oneshot.data.search_loaders`).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np
import torch
from torch import nn

from nabench.oneshot import checkpoint
from nabench.oneshot import lookup as table
from nabench.oneshot.config import SearchConfig
from nabench.oneshot.loop import EpochStats, build_network, build_step, make_scheduler, run_epochs, use_bf16
from nabench.oneshot.records import EpochCSV, prepare_out_dir, write_json
from nabench.spaces import benchmark_name

BASE_FIELDS: tuple[str, ...] = ("epoch", "lr", "steps", "train_loss", "train_acc", "arch_loss", "alpha_entropy",
                                "seconds", "images_per_s", "arch")


@dataclass
class SearchResult:
    """The outcome: final architecture, per-epoch rows, final alpha, the trained supernet."""

    arch: str
    rows: list[dict[str, Any]]
    alpha: np.ndarray
    net: nn.Module = field(repr=False)
    out: Path | None = None


def alpha_entropy(alpha: torch.Tensor) -> float:
    """Mean entropy (nats) of the per-edge op distributions ``softmax(alpha)``; log(K) at the start."""
    p = alpha.detach().float().softmax(dim=-1)
    return float(-(p * p.clamp_min(1e-12).log()).sum(dim=-1).mean())


def derived_arch(net: nn.Module) -> str:
    """The discrete architecture of ``net`` now: the NAS-Bench-201 string or the DARTS genotype repr."""
    return net.derive_str()


def run_oneshot(cfg: SearchConfig, train_loader: Iterable, valid_loader: Iterable, *, num_classes: int,
               in_channels: int = 3, device: str | torch.device = "cpu", amp: str = "auto", bench: Any = None,
               out: str | Path | None = None, overwrite: bool = False,
               log: Callable[[str], None] = print, extra_config: dict | None = None,
               graphs: bool = False) -> SearchResult:
    """Run ``cfg`` on the given search splits; write ``out`` (if given) epoch by epoch.

    ``bench`` adds the benchmark lookup of each epoch's derived cell (:mod:`.lookup`): a NAS-Bench-201
    store (``nabench.load("nb201")``) in the NAS-Bench-201 space, the NB301 surrogate
    (``nabench.load("nb301")``) in the DARTS space; a benchmark of the other space is ignored. If
    ``out`` holds the checkpoint of an unfinished search with the same config, the search continues
    from it. ``graphs`` captures each iteration in a CUDA graph (eager with a note off CUDA).
    """
    cfg = cfg.resolved()
    dev = torch.device(device)
    if bench is not None and getattr(bench, "name", "nb201") != benchmark_name(cfg.space):
        bench = None
    out_dir = prepare_out_dir(out, overwrite) if out is not None else None
    net = build_network(cfg, num_classes, in_channels).to(dev)
    if dev.type == "cuda":
        # fixed input shapes: let cuDNN pick the fastest kernels; channels_last suits its conv kernels
        torch.backends.cudnn.benchmark = True
        net = net.to(memory_format=torch.channels_last)
    step = build_step(cfg, net, dev, amp, graphs=graphs)
    scheduler = make_scheduler(step, cfg)
    fields = list(BASE_FIELDS)
    if bench is not None:
        fields += ["arch_index"] + table.columns(cfg.dataset, getattr(bench, "name", "nb201"))
    rows: list[dict[str, Any]] = []
    start = 0
    csv = ckpt = None
    if out_dir is not None:
        ckpt = out_dir / checkpoint.FILE
        if ckpt.exists():
            last, rows = checkpoint.load(ckpt, cfg.to_dict(), step, scheduler)
            start = last + 1
            log(f"resuming the search in {out_dir} after epoch {start}/{cfg.epochs}")
        else:
            write_json(out_dir / "config.json", {
                "config": cfg.to_dict(), "device": str(dev), "bf16": use_bf16(cfg, dev, amp),
                "store_checksum": getattr(bench, "checksum", None), "argv": sys.argv, **(extra_config or {}),
            })
        csv = EpochCSV(out_dir / "epochs.csv", fields, rows)

    def on_epoch(stats: EpochStats) -> None:
        arch = derived_arch(net)
        row: dict[str, Any] = {
            "epoch": stats.epoch, "lr": stats.lr, "steps": stats.steps, "train_loss": stats.train_loss,
            "train_acc": stats.train_acc, "arch_loss": stats.arch_loss, "alpha_entropy": alpha_entropy(net.alpha),
            "seconds": stats.seconds, "images_per_s": stats.images_per_s, "arch": arch,
        }
        if bench is not None:
            row.update(table.lookup(bench, arch, cfg.dataset))
        rows.append(row)
        if ckpt is not None:
            checkpoint.save(ckpt, stats.epoch, cfg.to_dict(), step, scheduler, rows)
            csv.append(row)
        extra = (f" | table valid/test 200ep {row['valid_200']:.2f}/{row['test_200']:.2f}" if "test_200" in row
                 else f" | NB301 surrogate valid 98ep {row['valid_98']:.2f}" if "valid_98" in row else "")
        log(f"epoch {stats.epoch + 1}/{cfg.epochs} train loss {stats.train_loss:.3f} acc {stats.train_acc:.1f}% "
            f"alpha loss {stats.arch_loss:.3f} ({stats.images_per_s:.0f} img/s) {arch}{extra}")

    run_epochs(step, cfg, train_loader, valid_loader, dev, on_epoch, start_epoch=start, scheduler=scheduler)
    alpha = net.alpha.detach().float().cpu()
    result = SearchResult(arch=rows[-1]["arch"], rows=rows, alpha=alpha.numpy(), net=net, out=out_dir)
    if out_dir is not None:
        final = {k: v for k, v in rows[-1].items() if k not in BASE_FIELDS or k == "arch"}
        write_json(out_dir / "result.json", {
            "space": cfg.space, "algo": cfg.algo, "dataset": cfg.dataset, "seed": cfg.seed,
            "epochs": cfg.epochs, **final, "search_seconds": sum(float(r["seconds"]) for r in rows),
            "alpha": [[round(v, 6) for v in r] for r in alpha.tolist()],
            "op_weights": [[round(v, 6) for v in r] for r in alpha.softmax(dim=-1).tolist()],
            "ops": list(net.op_names),
        })
    return result

