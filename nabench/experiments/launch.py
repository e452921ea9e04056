"""Where a grid's runs execute: the local process pool, submitit's local executor, or a Slurm job array.

``nabench run --launcher local`` (the default) is the runner's process pool. ``--launcher slurm``
sends the missing runs as one Slurm job array through submitit (an optional extra:
``pip install "nabench[slurm]"``), several runs per array element (``runs_per_job``, default 200: a
run takes milliseconds to seconds, so one job per run would spend far more on scheduling than on
searching); each element runs its share in a process pool of ``cpus_per_task`` workers.
``--launcher submitit-local`` runs exactly that path through submitit's ``LocalExecutor`` (one local
process per element) — to try a Slurm setup on one machine, and to test that it gives the same
results as the pool.

Concurrent writers. Each element appends to its own log, ``OUT/runs-<job>-<task>.jsonl`` (see
:mod:`.store`), a line per finished run in one write; nothing is locked, so it is safe on NFS.
Records carry run keys, so the reader merges the logs and keeps one record per run, and an element
skips runs another attempt already finished. Rerunning the command submits only what is missing:
finished runs are in the logs, and runs of array jobs that are still pending or running (recorded in
``OUT/launches.json``) are not submitted again.

Balance. Runs are dealt to elements round-robin (element ``k`` gets runs ``k, k + n, ...`` of the
grid's order), so each element gets a similar mix of slow (BO) and fast (RS) searchers.

Decisions: an element re-opens the benchmark from its store path (on the shared file system) and
refuses to run unless its checksum is the submitter's; benchmarks without a store path (the test
suite's synthetic one) travel pickled. Worker counts follow :func:`available_cpus`, never
``os.cpu_count()``, which oversubscribes a Slurm or cgroup allocation (:mod:`nabench.resources`).
"""

from __future__ import annotations

import functools
import json
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from nabench import validate
from nabench.errors import ConfigError, IntegrityError, NabenchError
from nabench.resources import available_cpus

LAUNCHERS: tuple[str, ...] = ("local", "submitit-local", "slurm")
LAUNCHES = "launches.json"
#: Slurm job states in which an array element may still write runs.
ACTIVE_STATES: tuple[str, ...] = ("PENDING", "RUNNING", "REQUEUED", "RESIZING", "SUSPENDED", "CONFIGURING",
                                  "COMPLETING", "REQUEUE_HOLD", "REQUEUE_FED", "SIGNALING", "STAGE_OUT")

#: Keys of a grid file's ``[launcher]`` table (and the flags of ``nabench run``) and their checks.
OPTION_CHECKS: dict[str, Callable[[str, Any], Any]] = {
    "launcher": lambda w, v: validate.choice(w, v, LAUNCHERS),
    "partition": validate.string,
    "account": validate.string,
    "qos": validate.string,
    "time_min": lambda w, v: validate.integer(w, v, minimum=1, maximum=60 * 24 * 366),
    "cpus_per_task": lambda w, v: validate.integer(w, v, minimum=1, maximum=validate.MAX_WORKERS),
    "mem_gb": lambda w, v: validate.number(w, v, minimum=0.0, strict_min=True, maximum=1e5),
    "runs_per_job": lambda w, v: validate.integer(w, v, minimum=1, maximum=validate.MAX_GRID_RUNS),
    "array_parallelism": lambda w, v: validate.integer(w, v, minimum=1, maximum=100_000),
    "wait": validate.boolean,
}


def check_options(where: str, table: Mapping[str, Any]) -> dict[str, Any]:
    """The checked ``[launcher]`` options (unknown keys and wrong types are refused)."""
    t = validate.table(where, table, OPTION_CHECKS)
    return {k: OPTION_CHECKS[k](f"{k} in {where}", v) for k, v in t.items()}


def default_workers(total_runs: int) -> int:
    """One worker for a small grid (spawning costs more than it saves), else :func:`available_cpus`."""
    return 1 if total_runs < 200 else available_cpus()


def _import_submitit() -> Any:
    try:
        import submitit
    except ImportError:
        raise ConfigError('the slurm and submitit-local launchers need submitit: pip install "nabench[slurm]"') \
            from None
    return submitit


@dataclass(frozen=True)
class SubmititLauncher:
    """Send runs as one submitit job array (``kind`` ``"slurm"`` or ``"submitit-local"``)."""

    kind: str = "slurm"
    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    time_min: int = 60
    cpus_per_task: int = 1
    mem_gb: float | None = None
    runs_per_job: int = 200
    array_parallelism: int = 64
    wait: bool = True

    def __post_init__(self) -> None:
        validate.choice("launcher", self.kind, LAUNCHERS[1:])
        for k, v in asdict(self).items():
            if k != "kind" and v is not None:
                OPTION_CHECKS[k](k, v)

    def describe(self) -> str:
        return f"{self.kind} ({self.runs_per_job} runs per array element, {self.cpus_per_task} CPU(s) each)"

    def chunks(self, jobs: list[tuple[int, int, int]]) -> list[list[tuple[int, int, int]]]:
        """The array elements' shares of ``jobs``: ``ceil(len / runs_per_job)`` of them, dealt round-robin."""
        n = max(1, math.ceil(len(jobs) / self.runs_per_job))
        return [jobs[k::n] for k in range(n)]

    def executor(self, folder: Path) -> Any:
        """The configured submitit executor writing its files under ``folder``."""
        submitit = _import_submitit()
        if self.kind == "submitit-local":
            ex = submitit.LocalExecutor(folder)
            ex.update_parameters(timeout_min=self.time_min)
            return ex
        try:
            ex = submitit.SlurmExecutor(folder)
        except RuntimeError:  # submitit: no srun on PATH
            raise ConfigError("the slurm launcher needs Slurm (srun and sbatch on PATH): run it on a cluster's login "
                              "node, or use --launcher submitit-local on this machine") from None
        params: dict[str, Any] = {"time": self.time_min, "cpus_per_task": self.cpus_per_task, "ntasks_per_node": 1,
                                  "array_parallelism": self.array_parallelism, "job_name": "nabench-run"}
        if self.mem_gb is not None:
            params["mem"] = f"{max(1, math.ceil(self.mem_gb * 1024))}MB"
        for k in ("partition", "account", "qos"):
            if getattr(self, k) is not None:
                params[k] = getattr(self, k)
        ex.update_parameters(**params)
        return ex

    def run(self, grid: Any, bench: Any, out: Path, jobs: list[tuple[int, int, int]],
            keys: Mapping[tuple[str, int], str], log: Callable[[str], None]) -> int:
        """Submit ``jobs``; with ``wait``, block until every element ended and return 0, else return the
        number of runs submitted (still pending)."""
        parts = self.chunks(jobs)
        ex = self.executor(out / "submitit")
        ref = bench_ref(bench)
        part_keys = [[keys[(grid.cells[i].key, r)] for i, r, _ in part] for part in parts]
        from nabench.experiments.lifeline import parent_plugins

        n = len(parts)
        array = ex.map_array(run_chunk, [str(out)] * n, [grid] * n, parts, part_keys, [bench.checksum] * n, [ref] * n,
                             [self.cpus_per_task] * n, [parent_plugins()] * n)
        ids = sorted({j.job_id.split("_")[0] for j in array})
        log(f"submitted {len(jobs)} runs as {len(parts)} array element(s) of {self.kind} job {', '.join(ids)}; "
            f"logs in {out / 'submitit'}")
        if self.kind == "slurm":
            _record_launch(out, [(j.job_id, k) for j, k in zip(array, part_keys)])
        if not self.wait:
            log("not waiting (--no-wait): rerun the same command when the jobs have ended to write the tables; "
                "only missing runs are submitted again")
            return len(jobs)
        failed = []
        for job in array:
            try:
                job.result()
            except Exception as e:  # a failed element: report it in one line, keep the others' runs
                text = str(e).strip()
                failed.append(f"{job.job_id}: {text.splitlines()[-1] if text else type(e).__name__}")
        if failed:
            raise NabenchError(f"{len(failed)} of {len(array)} array element(s) failed ({failed[0]}; logs in "
                               f"{out / 'submitit'}); finished runs are kept: rerun the same command to resume")
        return 0

    def in_flight(self, out: Path, log: Callable[[str], None],
                  done: set[str] | frozenset[str] = frozenset()) -> set[str]:
        """Keys of unfinished runs (not in ``done``) of earlier Slurm array elements that are still pending or
        running, so they are not submitted twice."""
        if self.kind != "slurm" or not (out / LAUNCHES).exists():
            return set()
        submitit = _import_submitit()
        active: set[str] = set()
        jobs = []
        launches = _read_launches(out)
        handles = [submitit.SlurmJob(out / "submitit", job_id) for job_id, _ in launches]
        if handles:
            handles[0].watcher.update()  # one sacct call for every recorded job
        for (job_id, keys), handle in zip(launches, handles):
            state = handle.watcher.get_state(job_id, mode="cache")
            left = set(keys) - done
            if left and state.split()[0].upper() in ACTIVE_STATES:
                active.update(left)
                jobs.append(job_id)
        if active:
            log(f"{len(active)} runs are still pending or running in Slurm job(s) {', '.join(sorted(jobs))}; they are "
                "not submitted again (wait for them, or scancel them and rerun)")
        return active


def make_launcher(options: Mapping[str, Any]) -> SubmititLauncher | None:
    """The launcher named by checked ``options`` (``None`` for the local pool)."""
    opts = dict(options)
    kind = opts.pop("launcher", "local")
    if kind == "local":
        ignored = sorted(k for k in opts if k != "wait")
        if ignored:
            raise ConfigError(f"{', '.join(ignored)} only apply to --launcher slurm or submitit-local")
        return None
    return SubmititLauncher(kind=kind, **opts)


def bench_ref(bench: Any) -> Callable[[], Any]:
    """A small picklable callable that opens ``bench`` again in another process."""
    path = getattr(bench, "path", None)
    if isinstance(path, Path):
        return functools.partial(_open_store, type(bench), str(path))
    return functools.partial(_same, bench)


def _open_store(cls: type, path: str) -> Any:
    from nabench.tables import store

    return cls(store.read(Path(path)))


def _same(obj: Any) -> Any:
    return obj


def _shard_name() -> str:
    """This writer's own log: ``runs-<job>-<task>.jsonl`` inside a submitit job, else by host and pid."""
    try:
        import submitit

        env = submitit.JobEnvironment()
        job = env.array_job_id or env.raw_job_id
        task = env.array_task_id if env.array_job_id else str(env.global_rank)
    except (ImportError, RuntimeError, KeyError):
        import socket

        job, task = socket.gethostname(), str(os.getpid())
    job, task = ("".join(ch if ch.isalnum() or ch in "._" else "_" for ch in part) for part in (job, task))
    return f"runs-{job}-{task}.jsonl"


def run_chunk(out: str, grid: Any, jobs: list[tuple[int, int, int]], keys: list[str], checksum: str,
              open_bench: Callable[[], Any], workers: int, plugins: Mapping[str, Any] | None = None) -> int:
    """One array element: run ``jobs`` (skipping runs already in the folder) into this element's own log;
    returns the number of runs made. ``plugins``: the submitter's plugins (searchers and benchmarks,
    :func:`~nabench.experiments.lifeline.parent_plugins`), registered here too."""
    from nabench.experiments import runner
    from nabench.experiments.lifeline import register_plugins
    from nabench.experiments.store import ResultsStore

    register_plugins(plugins or {})
    bench = open_bench()
    if bench.checksum != checksum:
        raise IntegrityError(f"this node's benchmark store {bench.checksum} is not the submitter's {checksum}; "
                             "install the same store on the shared file system")
    by_run = {(grid.cells[i].key, r): k for (i, r, _), k in zip(jobs, keys)}
    with ResultsStore(out, log=_shard_name(), lock=False) as store:
        store.repair()
        done = {rec["key"] for rec in store.records()}
        todo = [j for j, k in zip(jobs, keys) if k not in done]
        store.expect(by_run, checksum)
        if todo:
            runner._execute(grid, bench, todo, store, min(workers, available_cpus()), False)
    return len(todo)


def _record_launch(out: Path, elements: list[tuple[str, list[str]]]) -> None:
    from nabench.atomic import write_text

    doc = _read_launches(out) + [(job_id, keys) for job_id, keys in elements]
    write_text(out / LAUNCHES, json.dumps([{"job_id": j, "keys": k} for j, k in doc]) + "\n")


def _read_launches(out: Path) -> list[tuple[str, list[str]]]:
    p = out / LAUNCHES
    if not p.exists():
        return []
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
        return [(str(e["job_id"]), [str(k) for k in e["keys"]]) for e in doc]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError, KeyError, TypeError) as e:
        raise IntegrityError(f"{p} is not a launch record ({e}); delete it if no Slurm job of this folder is still "
                             "running") from None
