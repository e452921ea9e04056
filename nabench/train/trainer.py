"""The training loop: recipe-driven SGD with a fast CUDA path, DDP, exact resume and per-epoch records.

:class:`Trainer` trains a network built by a callable on a training set and evaluates it on a test set,
writing into one run folder:

* ``checkpoint.pt`` after every epoch (atomic; model, optimizer, scheduler, random states, history),
* ``metrics.csv`` (one row per finished epoch), ``final.json`` (final test metrics) at the end.

If the folder already holds a checkpoint of the same run (same ``run_info``), training resumes from it and
ends in the same state as a run that was never interrupted: bitwise on CPU (tested); on CUDA only with
``deterministic=True``, and then only as far as every kernel used has a deterministic implementation
(PyTorch warns about those that do not). A different run in the same folder is refused, not overwritten.

Randomness: one seed feeds ``numpy.random.SeedSequence``, which gives the seeds of the weight-init
generator, the data-order/augmentation generator (see :mod:`nabench.vision.loaders`) and the drop-path
generator (one per rank, on the training device).

Fast path on CUDA (on by default there): bf16 autocast, channels-last tensors, and ``torch.compile`` when
asked. Process-global switches (cuDNN autotuning, deterministic kernels) are not the trainer's business: the
entry point sets them once per process with :func:`nabench.train.run.configure_backends`. Under DDP each rank takes ``batch_size / world_size`` samples of every global
batch; BatchNorm statistics stay per rank (standard DDP), unless ``sync_bn`` converts them (CUDA only).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from nabench.atomic import write_text
from nabench.errors import ConfigError
from nabench.train import checkpoint as ckpt
from nabench.train import final as final_json
from nabench.train import note
from nabench.train.distributed import DistEnv, all_gather_object, all_reduce_sum, barrier
from nabench.train.graphs import GraphedStep
from nabench.train.initialization import materialize
from nabench.train.metrics import topk_correct, write_csv
from nabench.train.recipes import Recipe
from nabench.train.schedule import build_optimizer, build_scheduler
from nabench.vision.loaders import make_loader

CHECKPOINT = "checkpoint.pt"
METRICS = "metrics.csv"
FINAL = "final.json"


@dataclass(frozen=True)
class TrainOptions:
    """How to run (not what to train): seed, speed switches, logging. ``None`` means "auto" (on for CUDA)."""

    seed: int = 0
    #: Seed of the data order and augmentation alone (default: derived from ``seed``). Runs given the same
    #: ``data_seed`` see the same batches, which lets a packed run load the data once for all its networks.
    data_seed: int | None = None
    graphs: bool = False
    compile: bool = False
    amp: bool | None = None
    channels_last: bool | None = None
    workers: int | None = None
    progress: bool = True
    eval_every: int = 0
    sync_bn: bool = False
    log_every: int = 20


def split_output(out: Any) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``(logits, aux_logits or None)`` from a network output (a tensor, or a pair with an auxiliary head)."""
    if isinstance(out, tuple):
        return out[0], out[1]
    return out, None


def make_train_step(model: nn.Module, optimizer: torch.optim.Optimizer,
                    scheduler: torch.optim.lr_scheduler.LRScheduler | None, recipe: Recipe,
                    amp: bool, device_type: str, graphs: bool = False, graph_backend: str | None = None,
                    log: Callable[[str], None] = note) -> Callable[..., tuple[torch.Tensor, torch.Tensor]]:
    """One optimizer step as a function ``step(x, y, drop_masks=None) -> (loss, logits)``.

    The forward runs under bf16 autocast when ``amp``; the loss adds ``auxiliary_weight`` times the
    auxiliary head's loss; gradients are clipped to ``grad_clip``; the scheduler steps after the optimizer.
    With ``graphs`` the step is captured in a CUDA graph (:class:`~nabench.train.graphs.GraphedStep`, eager
    with a note off CUDA; ``graph_backend="emulate"`` runs its bookkeeping on CPU for tests); ``step.graphed`` is the
    wrapper. Used by :class:`Trainer` and by
    ``benchmarks/gpu_train_throughput.py``.
    """
    criterion = nn.CrossEntropyLoss(label_smoothing=recipe.label_smoothing)
    aux_weight = recipe.auxiliary_weight
    params = [p for p in model.parameters() if p.requires_grad]
    device = next(iter(params)).device if params else torch.device(device_type)

    def core(x: torch.Tensor, y: torch.Tensor, drop_masks: torch.Tensor | None = None):
        with torch.autocast(device_type, dtype=torch.bfloat16, enabled=amp, cache_enabled=not graphed.enabled):
            out = model(x) if drop_masks is None else model(x, drop_masks)
            logits, aux = split_output(out)
            loss = criterion(logits, y)
            if aux is not None and aux_weight > 0:
                loss = loss + aux_weight * criterion(aux, y)
        loss.backward()
        if recipe.grad_clip:
            nn.utils.clip_grad_norm_(params, recipe.grad_clip)
        graphed.optimizer_step()
        return loss.detach(), logits.detach()

    graphed = GraphedStep(core, optimizer, enabled=graphs, device=device, scheduler=scheduler,
                          backend=graph_backend, log=log)

    def step(x: torch.Tensor, y: torch.Tensor, drop_masks: torch.Tensor | None = None):
        return graphed(x, y) if drop_masks is None else graphed(x, y, drop_masks)

    step.graphed = graphed  # type: ignore[attr-defined]
    return step


def derive_seeds(seed: int, data_seed: int | None = None) -> dict[str, int]:
    """Independent seeds for weight init, data order/augmentation and drop-path, from one run seed
    (the data stream from ``data_seed`` instead, when given)."""
    init, data, drop = np.random.SeedSequence(int(seed)).generate_state(3, dtype=np.uint32).tolist()
    if data_seed is not None:
        data = np.random.SeedSequence(int(data_seed)).generate_state(3, dtype=np.uint32)[1]
    return {"init": int(init), "data": int(data), "drop_path": int(drop)}


def run_identity(run_info: dict[str, Any], recipe: Recipe, options: TrainOptions, world_size: int) -> dict[str, Any]:
    """What identifies a run in its checkpoint: resuming with anything else is refused."""
    ident = {"run": run_info, "recipe": recipe.as_dict(), "seed": options.seed, "world_size": world_size}
    if options.data_seed is not None:
        ident["data_seed"] = options.data_seed
    return ident


class Trainer:
    """Train ``build_model()`` with ``recipe`` on ``train_set``, evaluate on ``test_set``, record into ``out_dir``.

    ``run_info`` (JSON-able) identifies the run; a checkpoint in ``out_dir`` is resumed only if it matches.
    ``on_step(epoch, step)`` is called before every training step (progress hooks, fault injection in tests).
    """

    def __init__(self, build_model: Callable[[], nn.Module], train_set: Dataset, test_set: Dataset | None,
                 recipe: Recipe, out_dir: Path, env: DistEnv, options: TrainOptions = TrainOptions(),
                 run_info: dict[str, Any] | None = None,
                 on_step: Callable[[int, int], None] | None = None) -> None:
        if recipe.batch_size % env.world_size:
            raise ConfigError(f"the global batch size {recipe.batch_size} must be divisible by the number of "
                              f"processes ({env.world_size}); change --batch-size or --nproc-per-node")
        if options.graphs and env.distributed:
            raise ConfigError("--graphs captures a one-process step; launch without torchrun, or drop --graphs")
        self.recipe, self.env, self.options = recipe, env, options
        self.out_dir = Path(out_dir)
        self.run_info = dict(run_info or {})
        self.on_step = on_step
        self.device = env.device
        cuda = self.device.type == "cuda"
        self.amp = cuda if options.amp is None else options.amp
        self.channels_last = cuda if options.channels_last is None else options.channels_last
        self.seeds = derive_seeds(options.seed, options.data_seed)

        self.model = materialize(build_model, self.device, torch.Generator().manual_seed(self.seeds["init"]))
        self._check_model_supports_recipe()
        if options.sync_bn and env.distributed:
            if not cuda:
                raise ConfigError("--sync-bn needs CUDA (torch's SyncBatchNorm has no CPU kernels)")
            self.model = nn.SyncBatchNorm.convert_sync_batchnorm(self.model)
        if self.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.n_params = sum(p.numel() for p in self.model.parameters())

        local_batch = recipe.batch_size // env.world_size
        data_gen = torch.Generator().manual_seed(self.seeds["data"])
        self.train_loader = make_loader(train_set, local_batch, train=True, generator=data_gen,
                                        workers=options.workers, distributed=env.distributed)
        self.test_loader = None if test_set is None else make_loader(
            test_set, local_batch, train=False, generator=data_gen, workers=options.workers,
            distributed=env.distributed)
        self.steps_per_epoch = len(self.train_loader)
        self.optimizer = build_optimizer(self.model, recipe)
        self.scheduler = build_scheduler(self.optimizer, recipe, self.steps_per_epoch)
        self.drop_gen = torch.Generator(device=self.device).manual_seed(self.seeds["drop_path"] + env.rank)
        self.generators = {"drop_path": self.drop_gen}
        self.history: list[dict[str, Any]] = []
        self.start_epoch = 0
        self._resume_if_possible()

        wrapped: nn.Module = self.model
        if env.distributed:
            from torch.nn.parallel import DistributedDataParallel as DDP

            wrapped = DDP(self.model, device_ids=[self.device.index] if cuda else None)
        self.net = torch.compile(wrapped) if options.compile else wrapped
        self.step = make_train_step(self.net, self.optimizer, self.scheduler, recipe, self.amp, self.device.type,
                                    graphs=options.graphs)

    # ----------------------------------------------------------------------------------------- set-up
    def _check_model_supports_recipe(self) -> None:
        r = self.recipe
        if r.auxiliary_weight > 0 and getattr(self.model, "auxiliary_head", None) is None:
            raise ConfigError(f"preset {r.name} trains an auxiliary head (weight {r.auxiliary_weight}) but "
                              f"{type(self.model).__name__} has none; use a NAS-Bench-201 preset (nb201-200) "
                              "for --arch networks, or a DARTS genotype with the DARTS presets")
        if r.drop_path > 0 and not hasattr(self.model, "drop_path_masks"):
            raise ConfigError(f"preset {r.name} uses drop-path {r.drop_path} but {type(self.model).__name__} "
                              "does not support it; use a NAS-Bench-201 preset for --arch networks")

    @property
    def checkpoint_path(self) -> Path:
        return self.out_dir / CHECKPOINT

    def _identity(self) -> dict[str, Any]:
        return run_identity(self.run_info, self.recipe, self.options, self.env.world_size)

    def _resume_if_possible(self) -> None:
        if not self.checkpoint_path.is_file():
            return
        state = ckpt.load(self.checkpoint_path, map_location=self.device)
        mine = json.loads(json.dumps(self._identity()))
        if state["identity"] != mine:
            diff = sorted(k for k in set(mine) | set(state["identity"]) if mine.get(k) != state["identity"].get(k))
            raise ConfigError(f"{self.out_dir} holds a different run (differs in {', '.join(diff)}); resume it "
                              "with its original settings, or pass another --out")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        ckpt.restore_rng(state["rng"][self.env.rank], self.generators)
        self.history = list(state["history"])
        self.start_epoch = int(state["epoch"])

    def _save(self, epoch: int) -> None:
        rng = all_gather_object(ckpt.capture_rng(self.generators), self.env)
        if self.env.is_main:
            ckpt.save_atomic({
                "format": ckpt.FORMAT, "epoch": epoch, "identity": json.loads(json.dumps(self._identity())),
                "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(), "rng": rng, "history": self.history,
            }, self.checkpoint_path)
            write_csv(self.history, self.out_dir / METRICS)
        barrier(self.env)

    # -------------------------------------------------------------------------------------- loop
    def _to_device(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = x.to(self.device, non_blocking=True)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x, y.to(self.device, non_blocking=True)

    def train_epoch(self, epoch: int) -> dict[str, float]:
        """One pass over the training set; returns loss, accuracy (%), time and throughput."""
        self.net.train()
        self.train_loader.sampler.set_epoch(epoch)
        drop_prob = self.recipe.drop_path * epoch / self.recipe.epochs
        lr = self.optimizer.param_groups[0]["lr"]
        totals = torch.zeros(2, dtype=torch.float64, device=self.device)
        seen = 0
        bar = self._bar(epoch)
        start = time.perf_counter()
        for i, (x, y) in enumerate(self.train_loader):
            if self.on_step is not None:
                self.on_step(epoch, i)
            x, y = self._to_device(x, y)
            masks = None
            if drop_prob > 0:
                masks = self.model.drop_path_masks(x.shape[0], drop_prob, self.drop_gen, self.device)
            loss, logits = self.step(x, y, masks)
            totals += torch.stack([loss.double() * len(y), (logits.argmax(1) == y).sum().double()])
            seen += len(y)
            if bar is not None:
                bar.update(1)
                if i % self.options.log_every == 0:
                    bar.set_postfix(loss=f"{float(loss):.3f}", lr=f"{self.optimizer.param_groups[0]['lr']:.4g}")
        if bar is not None:
            bar.close()
        totals = torch.cat([totals, torch.tensor([float(seen)], dtype=torch.float64, device=self.device)])
        all_reduce_sum(totals, self.env)
        seconds = time.perf_counter() - start
        loss_sum, correct, n = totals.tolist()
        return {"lr": lr, "train_loss": loss_sum / max(n, 1), "train_acc": 100.0 * correct / max(n, 1),
                "epoch_time_s": seconds, "images_per_s": n / seconds if seconds > 0 else math.nan}

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        """Loss and top-1 / top-5 accuracy (%) on the test set, summed over all ranks' disjoint shards."""
        if self.test_loader is None:
            raise ConfigError("no test set was given to evaluate on")
        self.net.eval()
        totals = torch.zeros(3, dtype=torch.float64, device=self.device)
        seen = 0
        loss_fn = nn.CrossEntropyLoss(reduction="sum")
        for x, y in self.test_loader:
            x, y = self._to_device(x, y)
            with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp):
                logits, _ = split_output(self.net(x))
            logits = logits.float()
            top1, top5 = topk_correct(logits, y)
            totals += torch.stack([loss_fn(logits, y).double(), top1.double(), top5.double()])
            seen += len(y)
        totals = torch.cat([totals, torch.tensor([float(seen)], dtype=torch.float64, device=self.device)])
        all_reduce_sum(totals, self.env)
        loss_sum, top1, top5, n = totals.tolist()
        return {"test_loss": loss_sum / max(n, 1), "test_acc": 100.0 * top1 / max(n, 1),
                "test_top5": 100.0 * top5 / max(n, 1), "test_images": n}

    def _bar(self, epoch: int):
        if not (self.options.progress and self.env.is_main):
            return None
        from tqdm.auto import tqdm

        return tqdm(total=self.steps_per_epoch, desc=f"epoch {epoch + 1}/{self.recipe.epochs}", leave=False,
                    dynamic_ncols=True)

    def fit(self) -> dict[str, Any]:
        """Train the remaining epochs, evaluate, write ``final.json``; returns the final summary."""
        final_path = self.out_dir / FINAL
        if self.start_epoch >= self.recipe.epochs and final_path.is_file():
            return final_json.read(final_path)
        if self.env.is_main:
            self.out_dir.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        for epoch in range(self.start_epoch, self.recipe.epochs):
            row: dict[str, Any] = {"epoch": epoch + 1, **self.train_epoch(epoch)}
            every = self.options.eval_every
            if self.test_loader is not None and every and (epoch + 1) % every == 0 and epoch + 1 < self.recipe.epochs:
                row.update(self.evaluate())
            self.history.append(row)
            self._save(epoch + 1)
        final: dict[str, Any] = {}
        if self.test_loader is not None:
            final = self.evaluate()
            if self.history and self.history[-1]["epoch"] == self.recipe.epochs and "test_acc" not in self.history[-1]:
                self.history[-1].update(final)
                self._save(self.recipe.epochs)
        summary = {**final, "epochs": self.recipe.epochs, "params": self.n_params,
                   "train_time_s": sum(r["epoch_time_s"] for r in self.history),
                   "session_time_s": time.perf_counter() - started, **self._identity()}
        if self.env.is_main:
            write_text(final_path, json.dumps(summary, indent=2, default=str) + "\n")
        return summary
