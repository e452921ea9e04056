"""One training run from a flat configuration: what ``nabench train`` calls.

:func:`run` joins the process group when launched by torchrun, resolves the preset (with overrides),
builds the network spec and the datasets (rank 0 first, so only one process downloads), trains with
:class:`~nabench.train.trainer.Trainer` and returns the final summary. The run folder defaults to
``runs/train/<dataset>-<preset>-<network id>-seed<seed>``; re-running the same command resumes it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import torch

from nabench.errors import ConfigError, NabenchError
from nabench.train import final as final_json
from nabench.train import note
from nabench.train.distributed import DistEnv, broadcast_object, setup, teardown
from nabench.train.networks import network_spec
from nabench.train.recipes import get_recipe
from nabench.train.trainer import TrainOptions, Trainer
from nabench.vision.datasets import SPLITS, build_dataset


@dataclass(frozen=True)
class RunConfig:
    """Everything ``nabench train`` accepts."""

    dataset: str
    preset: str
    arch: str | None = None
    genotype: str | None = None
    data_root: Path = field(default_factory=lambda: Path("data"))
    out: Path | None = None
    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    seed: int = 0
    compile: bool = False
    download: bool = False
    workers: int | None = None
    device: str | None = None
    train_split: str = "train"
    eval_split: str = "test"
    eval_every: int = 0
    progress: bool = True
    deterministic: bool = False
    sync_bn: bool = False
    layers: int | None = None
    channels: int | None = None
    data_seed: int | None = None
    graphs: bool = False


@dataclass(frozen=True)
class Network:
    """One network of a multi-network training: a cell (``arch``) or a genotype, a seed and its run folder."""

    arch: str | None
    genotype: str | None
    seed: int
    out: Path


def configure_backends(device: torch.device, deterministic: bool) -> None:
    """Process-global torch switches, set once by the entry point (never by a trainer).

    On CUDA, cuDNN autotuning is on unless ``deterministic``. ``deterministic`` also makes cuBLAS use a fixed
    workspace and asks torch for deterministic kernels (those without one warn instead of failing).
    """
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = not deterministic
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)


def default_out(config: RunConfig, spec_id: str) -> Path:
    return Path("runs") / "train" / f"{config.dataset}-{config.preset}-{spec_id}-seed{config.seed}"


def run(config: RunConfig, on_step: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Train and evaluate as configured; returns the final summary (also written to ``final.json``)."""
    for split in (config.train_split, config.eval_split):
        if split not in SPLITS:
            raise ConfigError(f"unknown split {split!r}; valid splits are {', '.join(SPLITS)}")
    recipe = get_recipe(config.preset).override(config.epochs, config.batch_size, config.lr)
    spec = network_spec(config.dataset, config.arch, config.genotype, auxiliary=recipe.auxiliary_weight > 0,
                        layers=config.layers, channels=config.channels)
    env = setup(config.device)
    configure_backends(env.device, config.deterministic)
    try:
        train_set, test_set = _datasets(config, spec.dataset, recipe.augment, recipe.cutout, env)
        run_info = {"network": spec.as_dict(), "train_split": config.train_split, "eval_split": config.eval_split,
                    "train_images": len(train_set), "eval_images": len(test_set)}
        options = _options(config, config.seed)
        out = config.out or default_out(config, spec.short_id)
        trainer = Trainer(spec, train_set, test_set, recipe, out, env, options, run_info, on_step)
        summary = trainer.fit()
        summary["out"] = str(out)
        return summary
    finally:
        teardown(env)


def _options(config: RunConfig, seed: int) -> TrainOptions:
    return TrainOptions(seed=seed, data_seed=config.data_seed, graphs=config.graphs, compile=config.compile,
                        workers=config.workers, progress=config.progress, eval_every=config.eval_every,
                        sync_bn=config.sync_bn)


def run_many(config: RunConfig, networks: Sequence[Network], pack: int = 1,
             log: Callable[[str], None] = note) -> list[dict[str, Any]]:
    """Train several networks with one recipe in this process; returns their summaries in order.

    NAS-Bench-201 networks are packed ``pack`` at a time (:class:`~nabench.train.packed_trainer.PackedTrainer`),
    DARTS genotypes train one by one. A network whose ``final.json`` exists is not trained again (its summary is
    read back), so re-running a command resumes it; each unfinished run resumes from its own checkpoint.
    ``config.arch`` / ``config.genotype`` / ``config.seed`` / ``config.out`` are not used: each network has its own.
    """
    from nabench import validate
    from nabench.train.packed_trainer import PackedTrainer

    pack = validate.integer("--pack", pack, minimum=1, maximum=1024)
    for split in (config.train_split, config.eval_split):
        if split not in SPLITS:
            raise ConfigError(f"unknown split {split!r}; valid splits are {', '.join(SPLITS)}")
    recipe = get_recipe(config.preset).override(config.epochs, config.batch_size, config.lr)
    specs = [network_spec(config.dataset, n.arch, n.genotype, auxiliary=recipe.auxiliary_weight > 0,
                          layers=config.layers, channels=config.channels) for n in networks]
    outs = [Path(n.out) for n in networks]
    if len(set(outs)) != len(outs):
        raise ConfigError("two networks would share one run folder; give each cell and seed its own --out")
    summaries: dict[int, dict[str, Any]] = {}
    todo = []
    for i, out in enumerate(outs):
        final = out / "final.json"
        if final.is_file():
            summaries[i] = dict(final_json.read(final), out=str(out))
        else:
            todo.append(i)
    if summaries:
        log(f"{len(summaries)} of {len(networks)} networks already trained (final.json present), skipped")
    if not todo:
        return [summaries[i] for i in range(len(networks))]
    env = setup(config.device)
    configure_backends(env.device, config.deterministic)
    try:
        train_set, test_set = _datasets(config, specs[0].dataset, recipe.augment, recipe.cutout, env)

        def info(spec: Any) -> dict[str, Any]:
            return {"network": spec.as_dict(), "train_split": config.train_split, "eval_split": config.eval_split,
                    "train_images": len(train_set), "eval_images": len(test_set)}

        nb201 = [i for i in todo if specs[i].kind == "nb201"]
        groups = [nb201[s:s + pack] for s in range(0, len(nb201), pack)] + [[i] for i in todo if i not in nb201]
        for n, group in enumerate(groups, 1):
            log(f"training {len(group)} network(s) ({n}/{len(groups)}): " + ", ".join(str(outs[i]) for i in group))
            if len(group) == 1:
                i = group[0]
                trainer = Trainer(specs[i], train_set, test_set, recipe, outs[i], env,
                                  _options(config, networks[i].seed), info(specs[i]))
                summaries[i] = dict(trainer.fit(), out=str(outs[i]))
            else:
                packed = PackedTrainer([specs[i] for i in group], train_set, test_set, recipe, [outs[i] for i in group],
                                       env, [_options(config, networks[i].seed) for i in group],
                                       [info(specs[i]) for i in group], log=log)
                for i, summary in zip(group, packed.fit()):
                    summaries[i] = summary
        return [summaries[i] for i in range(len(networks))]
    finally:
        teardown(env)


def _datasets(config: RunConfig, dataset: str, augment: bool, cutout: int, env: DistEnv) -> tuple[Any, Any]:
    """Training and evaluation sets; rank 0 builds (and downloads) first, then tells the others how it went."""

    def build() -> tuple[Any, Any]:
        train = build_dataset(dataset, config.data_root, config.train_split, augment=augment,
                              download=config.download, cutout=cutout)
        return train, build_dataset(dataset, config.data_root, config.eval_split)

    sets, failure = None, None
    if env.is_main:
        try:
            sets = build()
        except NabenchError as e:
            failure = e
    message = broadcast_object(None if failure is None else str(failure), env)
    if failure is not None:
        raise failure
    if message is not None:
        raise NabenchError(f"rank 0 could not load the data: {message}")
    return sets if sets is not None else build()
