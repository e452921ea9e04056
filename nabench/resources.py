"""What this process may use of the machine: THE home of the CPU count.

``os.cpu_count()`` counts the machine's CPUs, not the ones a process may run on: inside a Slurm job, a
cgroup-limited container or under ``taskset`` it oversubscribes the allocation. Every default worker or
thread count in nabench (the runner's process pool, the training data loaders, the bootstrap's threads)
starts from :func:`available_cpus` instead.
"""

from __future__ import annotations

import os


def available_cpus() -> int:
    """CPUs this process may use: its affinity mask (cgroups, ``taskset``), capped by Slurm's
    ``SLURM_CPUS_PER_TASK`` inside a Slurm job; at least 1."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        n = os.cpu_count() or 1
    slurm = os.environ.get("SLURM_CPUS_PER_TASK", "").strip()
    if slurm.isascii() and slurm.isdigit() and int(slurm) > 0:
        n = min(n, int(slurm))
    return max(1, n)
