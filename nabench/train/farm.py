"""The training farm: train the final architectures of a search-run folder and tabulate them beside the benchmark.

``nabench train --from-run OUT --dataset D --preset P`` reads ``OUT/runs.csv`` and ``OUT/manifest.json``
(written by :mod:`nabench.experiments`; read here, never changed) and:

1. takes each run's returned cell (``final_arch``), deduplicated by canonical form (NAS-Bench-201: the
   isomorphism-invariant form of :func:`nabench.spaces.nb201.canonical`; DARTS space: the space code, whose
   node inputs are already in normal order), remembering how many runs and which searchers returned it;
   ``--top K`` keeps the K cells with the best final search signal (ties: first seen);
2. makes one job per (cell, training seed) (``--seeds``, default ``--seed``), each with its own run folder
   ``<farm>/<network id>-seed<seed>``. A job whose ``final.json`` exists is done and skipped, so rerunning the
   command resumes the farm; an interrupted job resumes from its checkpoint;
3. runs the jobs: ``--launcher local`` trains in this process on one device, or with several visible GPUs one
   worker process per GPU; ``--pack K`` packs K NAS-Bench-201 jobs into one batched computation per device
   (:mod:`nabench.train.packed`). ``--launcher slurm`` submits a submitit job array (one element per pack);
   recipes on several GPUs (``--gpus-per-job N > 1``) run ``torchrun --nproc-per-node N`` inside their job.
   ``submitit-local`` / ``submitit-debug`` run the same submitit path on this machine (a subprocess per job /
   in this process), for checks without a cluster;
4. collects every job's ``final.json`` into ``<farm>/trained.csv``: trained test accuracy beside the benchmark's
   value for the cell (:func:`benchmark_values`).

Tests run the local path and the submitit debug path on synthetic CIFAR with one epoch; the Slurm path is
built (executor parameters, torchrun command) but not submitted anywhere in the tests.
"""

from __future__ import annotations

import json
import math
import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Sequence

from nabench.errors import ConfigError, IntegrityError, NabenchError, NotAvailableError
from nabench.train import final as final_json
from nabench.train import note

TABLE = "trained.csv"
LAUNCHERS = ("local", "slurm", "submitit-local", "submitit-debug")
#: Protocol names of grids over the DARTS space (their ``final_arch`` is a DARTS space code).
DARTS_PROTOCOLS = ("nb301", "darts")
#: Where the table holds the accuracy of a network trained on (dataset, train split, eval split).
NB201_SPLITS = {
    ("cifar10", "train", "test"): ("cifar10", "ori-test"),
    ("cifar100", "train", "test"): ("cifar100", "ori-test"),
    ("ImageNet16-120", "train", "test"): ("ImageNet16-120", "ori-test"),
    ("cifar10", "search-train", "search-valid"): ("cifar10-valid", "x-valid"),
}
NB301_EPOCH = 98


@dataclass(frozen=True)
class Cell:
    """One distinct final architecture of a search-run folder."""

    kind: str            # "nb201" or "darts"
    arch: str            # cell string or genotype literal (what ``nabench train`` takes)
    code: int            # official index (nb201) or space code (darts): the benchmark's key
    canonical: str
    n_runs: int
    searchers: str       # "searcher/setting" of the runs that returned it, sorted, comma-joined
    best_signal: float


@dataclass(frozen=True)
class Job:
    """One training: a cell, a seed, a run folder."""

    cell: Cell
    seed: int
    out: Path

    @property
    def done(self) -> bool:
        return (self.out / "final.json").is_file()


def _read_run_folder(run_dir: Path) -> tuple[Any, dict[str, Any]]:
    import pandas as pd

    runs_csv, manifest = run_dir / "runs.csv", run_dir / "manifest.json"
    if not runs_csv.is_file() or not manifest.is_file():
        raise ConfigError(f"{run_dir} is not a finished search-run folder (it needs runs.csv and manifest.json, "
                          "written by nabench run --out DIR); pass the folder of a finished grid")
    try:
        runs = pd.read_csv(runs_csv)
        meta = json.loads(manifest.read_text())
    except (ValueError, OSError, RecursionError) as e:  # RecursionError: JSON nested too deep
        raise IntegrityError(f"cannot read {run_dir}: {e}; rerun the grid into a fresh folder") from None
    need = {"protocol", "dataset", "searcher", "setting", "run", "final_arch", "final_signal"}
    missing = need - set(runs.columns)
    if missing:
        raise IntegrityError(f"{runs_csv} lacks the columns {sorted(missing)}; it was not written by nabench run")
    return runs, meta


def cells_from_run(run_dir: str | os.PathLike[str], data_dir: Any = None, top: int | None = None) -> list[Cell]:
    """The distinct final architectures of the runs in ``run_dir`` (see the module docstring)."""
    run_dir = Path(run_dir)
    runs, _ = _read_run_folder(run_dir)
    runs = runs.drop_duplicates(["protocol", "dataset", "searcher", "setting", "run"])
    if runs.empty:
        raise ConfigError(f"{run_dir}/runs.csv holds no runs; run the grid first")
    darts_rows = runs["protocol"].astype(str).str.lower().str.startswith(DARTS_PROTOCOLS)
    bench = None
    order: list[str] = []
    found: dict[str, dict[str, Any]] = {}
    for row, is_darts in zip(runs.itertuples(index=False), darts_rows):
        code = int(row.final_arch)
        if is_darts:
            from nabench.spaces.darts import DartsSpace, to_str

            space = DartsSpace()
            kind, arch, canon = "darts", to_str(space.to_genotype(code)), f"darts:{space.canonical(code)}"
        else:
            from nabench.spaces import nb201

            if bench is None:
                import nabench

                bench = nabench.load("nb201", data_dir)
            arch = bench.arch_str(code)
            kind, canon = "nb201", nb201.canonical(nb201.parse(arch))
        label = f"{row.searcher}/{row.setting}"
        signal = float(row.final_signal)
        if canon not in found:
            order.append(canon)
            found[canon] = {"kind": kind, "arch": arch, "code": code, "runs": 0, "searchers": set(), "best": -math.inf}
        entry = found[canon]
        entry["runs"] += 1
        entry["searchers"].add(label)
        if signal > entry["best"]:
            entry["best"] = signal
    cells = [Cell(f["kind"], f["arch"], f["code"], c, f["runs"], ",".join(sorted(f["searchers"])), f["best"])
             for c, f in ((c, found[c]) for c in order)]
    if top is not None:
        from nabench import validate

        top = validate.integer("--top", top, minimum=1)
        ranked = sorted(range(len(cells)), key=lambda i: (-cells[i].best_signal, i))[:top]
        cells = [cells[i] for i in sorted(ranked)]
    return cells


def make_jobs(cells: Sequence[Cell], seeds: Sequence[int], farm_dir: Path, config: Any) -> list[Job]:
    """One job per (cell, seed), folder ``farm_dir/<network id>-seed<seed>`` (the id of ``nabench train``)."""
    from nabench.train.networks import network_spec
    from nabench.train.recipes import get_recipe

    recipe = get_recipe(config.preset)
    jobs = []
    for cell in cells:
        spec = network_spec(config.dataset, cell.arch if cell.kind == "nb201" else None,
                            cell.arch if cell.kind == "darts" else None, auxiliary=recipe.auxiliary_weight > 0,
                            layers=config.layers, channels=config.channels)
        jobs.extend(Job(cell, int(s), Path(farm_dir) / f"{spec.short_id}-seed{int(s)}") for s in seeds)
    return jobs


def packs_of(jobs: Sequence[Job], pack: int) -> list[list[Job]]:
    """Unfinished jobs in groups: NAS-Bench-201 jobs ``pack`` at a time, DARTS jobs one by one."""
    todo = [j for j in jobs if not j.done]
    nb201 = [j for j in todo if j.cell.kind == "nb201"]
    return [nb201[s:s + pack] for s in range(0, len(nb201), pack)] + [[j] for j in todo if j.cell.kind != "nb201"]


# ------------------------------------------------------------------------------------------------ running
def train_pack(pack: Sequence[Job], config: Any, device: str | None = None) -> list[dict[str, Any]]:
    """Train one pack in this process (what a local worker and a submitit job run)."""
    from nabench.train.run import Network, run_many

    if device is not None:
        config = replace(config, device=device)
    nets = [Network(j.cell.arch if j.cell.kind == "nb201" else None, j.cell.arch if j.cell.kind == "darts" else None,
                    j.seed, j.out) for j in pack]
    return run_many(config, nets, pack=max(1, len(pack)))


def torchrun_command(job: Job, config: Any, nproc: int) -> list[str]:
    """The ``torchrun`` command that trains ``job`` on ``nproc`` GPUs of one node (inside a Slurm job)."""
    net = ["--arch", job.cell.arch] if job.cell.kind == "nb201" else ["--genotype", job.cell.arch]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}",
           "-m", "nabench.cli", "train", *net, "--dataset", config.dataset, "--preset", config.preset,
           "--image-root", str(config.data_root), "--out", str(job.out), "--seed", str(job.seed), "--no-progress"]
    for flag, value in (("--epochs", config.epochs), ("--batch-size", config.batch_size), ("--lr", config.lr),
                        ("--workers", config.workers), ("--channels", config.channels), ("--cells", config.layers),
                        ("--data-seed", config.data_seed)):
        if value is not None:
            cmd += [flag, str(value)]
    for flag, on in (("--download", config.download), ("--deterministic", config.deterministic),
                     ("--sync-bn", config.sync_bn)):
        if on:
            cmd.append(flag)
    if config.train_split != "train":
        cmd += ["--train-split", config.train_split]
    if config.eval_split != "test":
        cmd += ["--eval-split", config.eval_split]
    return cmd


@dataclass(frozen=True)
class SlurmSettings:
    """What a Slurm job of the farm asks for (``--partition``, ``--account``, ``--qos``, ``--time``, ...; the flag
    names of ``nabench run --launcher slurm``)."""

    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    time_min: int = 60
    gpus_per_job: int = 1
    cpus_per_task: int = 8
    mem_gb: int = 32

    def __post_init__(self) -> None:
        from nabench import validate

        for flag, value in (("--time", self.time_min), ("--gpus-per-job", self.gpus_per_job),
                            ("--cpus-per-task", self.cpus_per_task), ("--mem-gb", self.mem_gb)):
            validate.integer(flag, value, minimum=1)

    def executor_parameters(self) -> dict[str, Any]:
        """submitit ``update_parameters`` keywords (one task per job; torchrun starts the GPU processes)."""
        params: dict[str, Any] = {"timeout_min": self.time_min, "gpus_per_node": self.gpus_per_job,
                                  "cpus_per_task": self.cpus_per_task, "mem_gb": self.mem_gb, "nodes": 1,
                                  "tasks_per_node": 1, "name": "nabench-train"}
        for key, value in (("slurm_partition", self.partition), ("slurm_account", self.account),
                           ("slurm_qos", self.qos)):
            if value:
                params[key] = value
        return params


def _run_torchrun(job: Job, config: Any, nproc: int) -> list[dict[str, Any]]:
    import subprocess

    subprocess.run(torchrun_command(job, config, nproc), check=True)
    return [final_json.read(job.out / final_json.FILE)]


def submit(packs: Sequence[Sequence[Job]], config: Any, launcher: str, folder: Path,
           slurm: SlurmSettings = SlurmSettings()) -> list[list[dict[str, Any]]]:
    """Run the packs through submitit (Slurm, or its local / debug executor) and wait for them."""
    try:
        import submitit
    except ImportError:
        raise ConfigError(f"--launcher {launcher} needs submitit: pip install \"nabench[slurm]\"") from None
    cluster = {"slurm": "slurm", "submitit-local": "local", "submitit-debug": "debug"}[launcher]
    executor = submitit.AutoExecutor(folder=str(folder), cluster=cluster)
    params = slurm.executor_parameters()
    if cluster != "slurm":
        params = {k: v for k, v in params.items() if not k.startswith("slurm_")}
        if cluster == "debug" or config.device == "cpu":
            params["gpus_per_node"] = 0
    executor.update_parameters(**params)
    with executor.batch():
        futures = [executor.submit(_run_torchrun, p[0], config, slurm.gpus_per_job) if slurm.gpus_per_job > 1
                   else executor.submit(train_pack, list(p), config) for p in packs]
    results = []
    for f in futures:
        try:
            results.append(f.result())
        except Exception as e:  # submitit wraps the job's failure; name the job's log folder
            raise NabenchError(f"a training job failed ({type(e).__name__}: {str(e).splitlines()[-1] if str(e) else ''}); "
                               f"its logs are in {folder}; fix the cause and rerun (finished jobs are kept)") from None
    return results


def _gpu_worker(queue: Any) -> None:
    os.environ["CUDA_VISIBLE_DEVICES"] = str(queue.get())


def run_local(packs: Sequence[Sequence[Job]], config: Any, log: Callable[[str], None] = note) -> None:
    """Train the packs here: one process for one device, one worker process per GPU when several are visible."""
    gpus = 0
    if config.device in (None, "cuda"):
        import torch

        gpus = torch.cuda.device_count()
    if gpus <= 1 or len(packs) <= 1:
        for p in packs:
            train_pack(p, config)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    for g in range(gpus):
        queue.put(g)
    log(f"training {len(packs)} packs on {gpus} GPUs, one worker process per GPU")
    with ProcessPoolExecutor(max_workers=gpus, mp_context=ctx, initializer=_gpu_worker, initargs=(queue,)) as pool:
        for f in [pool.submit(train_pack, list(p), config, "cuda") for p in packs]:
            f.result()


# ------------------------------------------------------------------------------------------------ table
def benchmark_values(cells: Sequence[Cell], config: Any, data_dir: Any = None) -> tuple[list[float], str]:
    """The benchmark's accuracy of each cell for the farm's training setting, and what it is.

    NAS-Bench-201: the table's seed-mean accuracy on the split the trained network is evaluated on (test ->
    ``ori-test``; ``search-train``/``search-valid`` on cifar10 -> ``cifar10-valid``/``x-valid``) at the preset's
    schedule (``nb201-12`` -> 12 epochs, otherwise 200). DARTS space: the NAS-Bench-301 surrogate's predicted
    *validation* accuracy at epoch 98 (it has no test split). Raises :class:`NotAvailableError` when the
    benchmark has no value for this setting.
    """
    import numpy as np

    kinds = {c.kind for c in cells}
    if len(kinds) > 1:
        raise ConfigError("the run folder mixes NAS-Bench-201 and DARTS-space runs; train each space apart")
    codes = np.array([c.code for c in cells], dtype=np.int64)
    if kinds == {"darts"}:
        import nabench

        try:
            bench = nabench.load("nb301", data_dir)
        except NabenchError as e:
            raise NotAvailableError(f"no NAS-Bench-301 surrogate to compare with ({e})") from None
        return list(map(float, bench.accuracy(codes, dataset="cifar10", split="valid", fidelity=NB301_EPOCH))), \
            f"nb301 surrogate cifar10/valid@{NB301_EPOCH}"
    from nabench.vision.datasets import canonical_name

    key = (canonical_name(config.dataset), config.train_split, config.eval_split)
    if key not in NB201_SPLITS:
        raise NotAvailableError(f"NAS-Bench-201 has no accuracy for training on {key[0]} {key[1]} and evaluating on "
                                f"{key[2]}; train on train and evaluate on test (or search-train/search-valid on cifar10)")
    ds, split = NB201_SPLITS[key]
    fid = 12 if config.preset == "nb201-12" else 200
    import nabench

    bench = nabench.load("nb201", data_dir)
    return list(map(float, bench.accuracy(codes, dataset=ds, split=split, fidelity=fid))), f"nb201 {ds}/{split}@{fid}"


COLUMNS = ("kind", "arch", "canonical", "seed", "dataset", "preset", "epochs", "test_acc", "test_top5", "test_loss",
           "params", "train_time_s", "benchmark_acc", "benchmark", "n_runs", "searchers", "best_signal", "out")


def collect(jobs: Sequence[Job], config: Any, farm_dir: Path, data_dir: Any = None,
            log: Callable[[str], None] = note) -> Any:
    """Every finished job's ``final.json`` beside the benchmark's value, as a DataFrame written to ``trained.csv``."""
    import pandas as pd

    from nabench.atomic import write_text

    cells = list({j.cell.canonical: j.cell for j in jobs}.values())
    try:
        values, label = benchmark_values(cells, config, data_dir)
        bench = {c.canonical: v for c, v in zip(cells, values)}
    except NotAvailableError as e:
        log(f"note: {e}; the benchmark column is left empty")
        bench, label = {}, f"not available: {e}"
    rows = []
    for j in jobs:
        if not j.done:
            continue
        final = final_json.read(j.out / final_json.FILE)
        rows.append({"kind": j.cell.kind, "arch": j.cell.arch, "canonical": j.cell.canonical, "seed": j.seed,
                     "dataset": config.dataset, "preset": config.preset, "epochs": final.get("epochs"),
                     "test_acc": final.get("test_acc"), "test_top5": final.get("test_top5"),
                     "test_loss": final.get("test_loss"), "params": final.get("params"),
                     "train_time_s": final.get("train_time_s"), "benchmark_acc": bench.get(j.cell.canonical),
                     "benchmark": label, "n_runs": j.cell.n_runs, "searchers": j.cell.searchers,
                     "best_signal": j.cell.best_signal, "out": str(j.out)})
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    write_text(Path(farm_dir) / TABLE, table.to_csv(index=False, float_format="%.10g"))
    return table


def run_farm(run_dir: str | os.PathLike[str], config: Any, seeds: Sequence[int], farm_dir: Path | None = None,
             top: int | None = None, pack: int = 1, launcher: str = "local", slurm: SlurmSettings = SlurmSettings(),
             data_dir: Any = None, log: Callable[[str], None] = note) -> Any:
    """The whole farm: cells, jobs, training (skipping finished jobs), the table. Returns the table."""
    from nabench import validate

    launcher = validate.choice("--launcher", launcher, LAUNCHERS)
    pack = validate.integer("--pack", pack, minimum=1, maximum=1024)
    seeds = [validate.seed("--seeds", s) for s in seeds]
    if not seeds or len(set(seeds)) != len(seeds):
        raise ConfigError("--seeds needs distinct training seeds, e.g. --seeds 0,1,2")
    if slurm.gpus_per_job > 1 and pack > 1:
        raise ConfigError("--pack K puts several networks on one GPU, --gpus-per-job N > 1 one network on several "
                          "GPUs; choose one of them")
    if slurm.gpus_per_job > 1 and launcher == "local":
        raise ConfigError("--gpus-per-job applies to --launcher slurm (torchrun inside each job); locally, launch "
                          "nabench train --genotype ... under torchrun yourself")
    run_dir = Path(run_dir)
    farm_dir = Path(farm_dir) if farm_dir is not None else run_dir / "trained"
    cells = cells_from_run(run_dir, data_dir, top)
    jobs = make_jobs(cells, seeds, farm_dir, config)
    done = sum(j.done for j in jobs)
    log(f"{len(cells)} distinct cells x {len(seeds)} seeds = {len(jobs)} jobs in {farm_dir} ({done} already done)")
    packs = packs_of(jobs, pack)
    farm_dir.mkdir(parents=True, exist_ok=True)
    if packs:
        if launcher == "local":
            run_local(packs, config, log)
        else:
            submit(packs, config, launcher, farm_dir / "submitit", slurm)
    table = collect(jobs, config, farm_dir, data_dir, log)
    log(f"table of {len(table)} trained networks: {farm_dir / TABLE}")
    return table
