"""Train K NAS-Bench-201 networks packed into one batched computation (``nabench train --pack``).

:class:`PackedTrainer` is :class:`~nabench.train.trainer.Trainer` for K networks at once: same recipe, same
training and test sets, any cells and seeds. Each network ``k`` is built and initialised exactly as a single
run with seed ``seeds[k]`` would be (``materialize`` from its own init generator), then the K networks are
packed (:class:`~nabench.train.packed.PackedNB201`) and trained together by one SGD over the packed tensors.

Data order (decision): each network sees exactly the batches its own single run would see. Its data stream
is seeded by its run seed, or by ``data_seed`` when given (:class:`~nabench.train.trainer.TrainOptions`), so:

* networks with different data seeds get one loader each, and batch ``i`` of network ``k`` is its own
  loader's batch ``i`` (input ``(B, 3K, H, W)``, labels ``(B, K)``);
* networks that share one data seed (``nabench train --pack K --data-seed S``) share one loader and one
  input batch ``(B, 3, H, W)``: the images are read and augmented once for all of them.

Either way the packed run equals K separate runs with the same settings (checked in
``tests/test_train_packed.py``). Every network gets its own run folder with the files a single run writes
(``checkpoint.pt`` in the trainer's format, ``metrics.csv``, ``final.json``), so a packed run can be resumed
packed, or any of its networks continued alone by ``nabench train``. Packing needs one process (no DDP) and a
recipe without gradient clipping, auxiliary head or drop-path (the NAS-Bench-201 presets).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Sequence

import torch
from torch.utils.data import Dataset

from nabench.atomic import write_text
from nabench.errors import ConfigError
from nabench.train import checkpoint as ckpt
from nabench.train import note
from nabench.train.distributed import DistEnv
from nabench.train.graphs import GraphedStep
from nabench.train.initialization import materialize
from nabench.train.metrics import topk_correct, write_csv
from nabench.train.networks import NetworkSpec
from nabench.train.packed import PackedNB201, packed_losses
from nabench.train.recipes import Recipe
from nabench.train.schedule import build_optimizer, build_scheduler
from nabench.train.trainer import CHECKPOINT, FINAL, METRICS, TrainOptions, derive_seeds, run_identity
from nabench.vision.loaders import make_loader


def _upcast(t: torch.Tensor) -> torch.Tensor:
    """bf16 logits (autocast) as float32; float32 and float64 unchanged."""
    return t.float() if t.dtype in (torch.float16, torch.bfloat16) else t


def check_packable(specs: Sequence[NetworkSpec], recipe: Recipe, env: DistEnv) -> None:
    """Refuse what packing cannot do exactly, with the fix in the message."""
    if env.distributed:
        raise ConfigError("--pack trains several networks in one process; launch it without torchrun")
    if any(s.kind != "nb201" for s in specs):
        raise ConfigError("--pack packs NAS-Bench-201 cells (--arch); train DARTS genotypes one at a time")
    if len({(s.dataset, s.channels, s.layers) for s in specs}) != 1:
        raise ConfigError("packed networks must share dataset, --channels and --cells")
    if recipe.grad_clip or recipe.auxiliary_weight or recipe.drop_path:
        raise ConfigError(f"preset {recipe.name} clips gradients or uses an auxiliary head or drop-path, which "
                          "couple a network's parameters; --pack supports the NAS-Bench-201 presets (nb201-200, nb201-12)")


class PackedTrainer:
    """Train ``specs[k]`` with seed ``options[k].seed`` into ``out_dirs[k]``, all K packed (module docstring)."""

    def __init__(self, specs: Sequence[NetworkSpec], train_set: Dataset, test_set: Dataset | None, recipe: Recipe,
                 out_dirs: Sequence[Path], env: DistEnv, options: Sequence[TrainOptions],
                 run_infos: Sequence[dict[str, Any]] | None = None,
                 on_step: Callable[[int, int], None] | None = None,
                 log: Callable[[str], None] = note) -> None:
        if not (len(specs) == len(out_dirs) == len(options)) or not specs:
            raise ConfigError("give one output folder and one set of options per packed network")
        check_packable(specs, recipe, env)
        if len({replace(o, seed=0, data_seed=None) for o in options}) != 1:
            raise ConfigError("packed networks share one loop: their options may differ only in seed and data_seed")
        self.specs, self.recipe, self.env = list(specs), recipe, env
        self.options = list(options)
        self.out_dirs = [Path(d) for d in out_dirs]
        if len(set(self.out_dirs)) != len(self.out_dirs):
            raise ConfigError("two packed networks would share one run folder; give each its own seed or cell")
        self.run_infos = [dict(r) for r in (run_infos or [{"network": s.as_dict()} for s in specs])]
        self.on_step, self.log = on_step, log
        self.K = len(specs)
        self.device = env.device
        cuda = self.device.type == "cuda"
        first = self.options[0]
        self.amp = cuda if first.amp is None else first.amp
        self.channels_last = cuda if first.channels_last is None else first.channels_last
        self.seeds = [derive_seeds(o.seed, o.data_seed) for o in self.options]

        nets = [materialize(spec, self.device, torch.Generator().manual_seed(s["init"]))
                for spec, s in zip(self.specs, self.seeds)]
        self.n_params = [sum(p.numel() for p in n.parameters()) for n in nets]
        self._net_param_names = [[n for n, _ in net.named_parameters()] for net in nets]
        self.model = PackedNB201(nets).to(self.device)
        del nets
        if self.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)

        data_seeds = [s["data"] for s in self.seeds]
        self.shared_data = len(set(data_seeds)) == 1
        workers = first.workers
        self.train_loaders = []
        self.test_loader = None
        for k in ([0] if self.shared_data else range(self.K)):
            gen = torch.Generator().manual_seed(data_seeds[k])
            self.train_loaders.append(make_loader(train_set, recipe.batch_size, train=True, generator=gen,
                                                  workers=workers))
            if k == 0 and test_set is not None:
                self.test_loader = make_loader(test_set, recipe.batch_size, train=False, generator=gen, workers=workers)
        self.steps_per_epoch = len(self.train_loaders[0])
        self.optimizer = build_optimizer(self.model, recipe)
        self.scheduler = build_scheduler(self.optimizer, recipe, self.steps_per_epoch)
        self.drop_gens = [torch.Generator(device=self.device).manual_seed(s["drop_path"]) for s in self.seeds]
        self.histories: list[list[dict[str, Any]]] = [[] for _ in range(self.K)]
        self.start_epoch = 0
        self._resume_if_possible()
        net = torch.compile(self.model) if first.compile else self.model
        self.step = GraphedStep(self._core, self.optimizer, enabled=first.graphs, device=self.device,
                                scheduler=self.scheduler, log=log)
        self._net = net

    # ------------------------------------------------------------------------------- state
    def _identity(self, k: int) -> dict[str, Any]:
        return run_identity(self.run_infos[k], self.recipe, self.options[k], 1)

    def _network_states(self) -> tuple[list[dict[str, torch.Tensor]], list[dict[str, Any]]]:
        """Each network's model state dict and SGD state dict, in the single trainer's formats."""
        models = self.model.unpack()
        packed_params = dict(self.model.named_parameters())
        bufs = {name: self.optimizer.state[p]["momentum_buffer"] for name, p in packed_params.items()
                if p in self.optimizer.state and self.optimizer.state[p].get("momentum_buffer") is not None}
        per_net_bufs = self.model.split(bufs)
        group = {k: v for k, v in self.optimizer.param_groups[0].items() if k != "params"}
        optims = []
        for k in range(self.K):
            names = self._net_param_names[k]
            state = {i: {"momentum_buffer": per_net_bufs[k][n]} for i, n in enumerate(names) if n in per_net_bufs[k]}
            optims.append({"state": state, "param_groups": [dict(group, params=list(range(len(names))))]})
        return models, optims

    def _save(self, epoch: int) -> None:
        models, optims = self._network_states()
        scheduler = self.scheduler.state_dict()
        for k, out in enumerate(self.out_dirs):
            rng = [{"torch": torch.get_rng_state(), "generators": {"drop_path": self.drop_gens[k].get_state()}}]
            ckpt.save_atomic({
                "format": ckpt.FORMAT, "epoch": epoch, "identity": json.loads(json.dumps(self._identity(k))),
                "model": models[k], "optimizer": optims[k], "scheduler": scheduler, "rng": rng,
                "history": self.histories[k],
            }, out / CHECKPOINT)
            write_csv(self.histories[k], out / METRICS)

    def _resume_if_possible(self) -> None:
        found = [(out / CHECKPOINT).is_file() for out in self.out_dirs]
        if not any(found):
            return
        if not all(found):
            missing = [str(o) for o, f in zip(self.out_dirs, found) if not f]
            raise ConfigError(f"some packed networks have a checkpoint and some not ({', '.join(missing)} lack one); "
                              "resume each alone with nabench train, or delete their folders to start the pack over")
        states = [ckpt.load(out / CHECKPOINT, map_location=self.device) for out in self.out_dirs]
        for k, (out, state) in enumerate(zip(self.out_dirs, states)):
            mine = json.loads(json.dumps(self._identity(k)))
            if state["identity"] != mine:
                raise ConfigError(f"{out} holds a different run; resume it with its original settings, or pass another --out")
        epochs = {int(s["epoch"]) for s in states}
        if len(epochs) != 1:
            raise ConfigError(f"the packed networks' checkpoints are at different epochs ({sorted(epochs)}); "
                              "resume each alone with nabench train")
        packed_state = self.model.state_dict()
        self.model.load_state_dict(self.model.merge([s["model"] for s in states], packed_state))
        names = dict(self.model.named_parameters())
        per_net_bufs = []
        for k, s in enumerate(states):
            own = self._net_param_names[k]
            per_net_bufs.append({own[i]: v["momentum_buffer"] for i, v in s["optimizer"]["state"].items()})
        merged = self.model.merge(per_net_bufs, dict(names)) if per_net_bufs[0] else {}
        for n, buf in merged.items():
            self.optimizer.state[names[n]]["momentum_buffer"] = buf.clone()
        saved_group = states[0]["optimizer"]["param_groups"][0]
        self.optimizer.param_groups[0].update({k: v for k, v in saved_group.items() if k != "params"})
        self.scheduler.load_state_dict(states[0]["scheduler"])
        torch.set_rng_state(states[0]["rng"][0]["torch"].cpu())
        for g, s in zip(self.drop_gens, states):
            g.set_state(s["rng"][0]["generators"]["drop_path"].cpu())
        self.histories = [list(s["history"]) for s in states]
        self.start_epoch = epochs.pop()

    # ------------------------------------------------------------------------------- loop
    def _core(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Forward, backward and SGD step of all K networks (what a CUDA graph captures)."""
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp,
                            cache_enabled=not self.step_graphs):
            logits = self._net(x)
            losses = packed_losses(_upcast(logits), y, self.recipe.label_smoothing)
        losses.sum().backward()
        self.step.optimizer_step()
        return losses.detach(), logits.detach()

    @property
    def step_graphs(self) -> bool:
        return getattr(self, "step", None) is not None and self.step.enabled

    def _batches(self):
        """Per step: the packed input and labels (shared batch, or one batch per network side by side)."""
        iters = [iter(loader) for loader in self.train_loaders]
        for batch in zip(*iters):
            if self.shared_data:
                x, y = batch[0]
            else:
                x = torch.cat([b[0] for b in batch], dim=1)
                y = torch.stack([b[1] for b in batch], dim=1)
            x = x.to(self.device, non_blocking=True)
            if self.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            yield x, y.to(self.device, non_blocking=True)

    def train_epoch(self, epoch: int) -> list[dict[str, float]]:
        """One pass over each network's training data; per network loss, accuracy, time and throughput."""
        self.model.train()
        for loader in self.train_loaders:
            loader.sampler.set_epoch(epoch)
        lr = self.optimizer.param_groups[0]["lr"]
        totals = torch.zeros(2, self.K, dtype=torch.float64, device=self.device)
        seen = 0
        start = time.perf_counter()
        for i, (x, y) in enumerate(self._batches()):
            if self.on_step is not None:
                self.on_step(epoch, i)
            losses, logits = self.step(x, y)
            labels = y if y.dim() == 2 else y.unsqueeze(1)
            totals += torch.stack([losses.double() * len(y), (logits.argmax(-1) == labels).sum(0).double()])
            seen += len(y)
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        seconds = time.perf_counter() - start
        loss_sum, correct = totals.tolist()
        return [{"lr": lr, "train_loss": loss_sum[k] / max(seen, 1), "train_acc": 100.0 * correct[k] / max(seen, 1),
                 "epoch_time_s": seconds, "images_per_s": seen / seconds if seconds > 0 else math.nan}
                for k in range(self.K)]

    @torch.no_grad()
    def evaluate(self) -> list[dict[str, float]]:
        """Per network: loss and top-1 / top-5 accuracy (%) on the test set (one shared pass for all K)."""
        if self.test_loader is None:
            raise ConfigError("no test set was given to evaluate on")
        self.model.eval()
        totals = torch.zeros(3, self.K, dtype=torch.float64, device=self.device)
        seen = 0
        for x, y in self.test_loader:
            x = x.to(self.device)
            if self.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            y = y.to(self.device)
            with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp):
                logits = _upcast(self._net(x))
            losses = packed_losses(logits, y) * len(y)
            hits = [torch.stack(topk_correct(logits[:, k], y)) for k in range(self.K)]
            totals += torch.cat([losses.double().unsqueeze(0), torch.stack(hits, dim=1).double()])
            seen += len(y)
        loss_sum, top1, top5 = totals.tolist()
        n = max(seen, 1)
        return [{"test_loss": loss_sum[k] / n, "test_acc": 100.0 * top1[k] / n, "test_top5": 100.0 * top5[k] / n,
                 "test_images": float(seen)} for k in range(self.K)]

    def fit(self) -> list[dict[str, Any]]:
        """Train the remaining epochs, evaluate, write every network's ``final.json``; returns the summaries."""
        for out in self.out_dirs:
            out.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        every = self.options[0].eval_every
        for epoch in range(self.start_epoch, self.recipe.epochs):
            rows = self.train_epoch(epoch)
            if self.test_loader is not None and every and (epoch + 1) % every == 0 and epoch + 1 < self.recipe.epochs:
                for row, ev in zip(rows, self.evaluate()):
                    row.update(ev)
            for hist, row in zip(self.histories, rows):
                hist.append({"epoch": epoch + 1, **row})
            self._save(epoch + 1)
        finals: list[dict[str, Any]] = [{} for _ in range(self.K)]
        if self.test_loader is not None:
            finals = self.evaluate()
            if self.histories[0] and self.histories[0][-1]["epoch"] == self.recipe.epochs \
                    and "test_acc" not in self.histories[0][-1]:
                for hist, final in zip(self.histories, finals):
                    hist[-1].update(final)
                self._save(self.recipe.epochs)
        summaries = []
        session = time.perf_counter() - started
        for k in range(self.K):
            summary = {**finals[k], "epochs": self.recipe.epochs, "params": self.n_params[k],
                       "train_time_s": sum(r["epoch_time_s"] for r in self.histories[k]),
                       "session_time_s": session, "packed_with": self.K, **self._identity(k)}
            write_text(self.out_dirs[k] / FINAL, json.dumps(summary, indent=2, default=str) + "\n")
            summaries.append(dict(summary, out=str(self.out_dirs[k])))
        return summaries

