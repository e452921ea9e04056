"""Launchers: submitit's local executor gives the process pool's results; the Slurm path (a job array with
several runs per element, one log per element) through stand-in ``sbatch`` / ``sacct`` commands; rerunning
submits only what is missing; worker counts follow the CPU affinity and Slurm's allocation."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pandas as pd
import pytest

from nabench import cli
from nabench.experiments import grid_from_dict, load_grid, run_grid
from nabench.experiments.launch import SubmititLauncher, available_cpus, default_workers, make_launcher
from nabench.experiments.store import ResultsStore

pytest.importorskip("submitit")

TABLES = ("evaluations.csv.gz", "runs.csv", "summary.csv", "paired.csv")


def _grid(runs: int = 5):
    return grid_from_dict({"runs": runs, "seed": 3, "experiment": [{"searchers": ["rs", "na-rs", "rea"]}]})


def _quiet(_: str) -> None:
    pass


def _records(out: Path) -> dict[str, dict]:
    with ResultsStore(out, lock=False) as store:
        return {r["key"]: {k: v for k, v in r.items() if k != "wall_s"} for r in store.records()}


def test_submitit_local_matches_the_process_pool(tmp_path, bench):
    """The same grid through submitit's LocalExecutor (4 array elements of <= 4 runs, each its own process and
    log file) and through the local pool: every result table byte-identical, every run record equal but for
    its wall time; timings.csv lists the same runs."""
    g = _grid()
    launcher = SubmititLauncher(kind="submitit-local", runs_per_job=4, time_min=10)
    a = run_grid(g, tmp_path / "submitit", bench=bench, launcher=launcher, progress=False, log=_quiet)
    b = run_grid(g, tmp_path / "pool", bench=bench, workers=2, progress=False, log=_quiet)
    assert (a.ran, b.ran, a.pending) == (15, 15, 0)
    shards = sorted(p.name for p in (tmp_path / "submitit").glob("runs-*.jsonl"))
    assert len(shards) == 4 and not (tmp_path / "submitit" / "runs.jsonl").exists()
    for name in TABLES:
        assert (a.out / name).read_bytes() == (b.out / name).read_bytes(), name
    assert _records(a.out) == _records(b.out) and len(_records(a.out)) == 15
    ta, tb = (pd.read_csv(r.out / "timings.csv") for r in (a, b))
    pd.testing.assert_frame_equal(ta.drop(columns="wall_s"), tb.drop(columns="wall_s"))

    # rerun after losing one element's log: only its runs are submitted again, the tables come out the same
    lost = tmp_path / "submitit" / shards[0]
    n_lost = lost.read_bytes().count(b"\n")
    lost.unlink()
    messages: list[str] = []
    again = run_grid(g, tmp_path / "submitit", bench=bench, launcher=launcher, progress=False, log=messages.append)
    assert again.ran == n_lost and again.skipped == 15 - n_lost
    assert any(m.startswith(f"submitted {n_lost} runs as 1 array element") for m in messages), messages
    for name in TABLES:
        assert (a.out / name).read_bytes() == (b.out / name).read_bytes(), name


FAKE_SBATCH = r'''#!{python}
"""Stand-in for sbatch: records the script, answers a job id, runs the array elements in the background
(after submitit has moved their pickles into place), with the environment Slurm would give them."""
import os, re, shlex, subprocess, sys, time
from pathlib import Path
rec = Path(os.environ["FAKE_SLURM"])
script = Path(sys.argv[-1]).read_text()
(rec / "script.sh").write_text(script)
m = re.search(r"#SBATCH --array=0-(\d+)", script)
n = int(m.group(1)) + 1 if m else 1
cpus = re.search(r"#SBATCH --cpus-per-task=(\d+)", script).group(1)
line = next(l for l in script.splitlines() if l.startswith("srun "))
tokens = shlex.split(line)
cmd = tokens[tokens.index("-m") - 2:]
folder = Path(cmd[-1])
(rec / "elements").write_text(str(n))
(rec / "folder").write_text(str(folder))
if not (rec / "hold").exists():
    runner = """
import os, subprocess, sys, time
from pathlib import Path
n, cpus, folder, cmd = int(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), sys.argv[4:]
for i in range(n):
    job = f"4242_{{i}}" if n > 1 else "4242"
    deadline = time.time() + 60
    while not (folder / f"{{job}}_submitted.pkl").exists() and time.time() < deadline:
        time.sleep(0.05)
    env = dict(os.environ, SUBMITIT_EXECUTOR="slurm", SLURM_JOB_ID=str(5000 + i), SLURM_PROCID="0",
               SLURM_LOCALID="0", SLURM_NODEID="0", SLURM_NTASKS="1", SLURM_JOB_NUM_NODES="1",
               SLURM_CPUS_PER_TASK=cpus, SLURM_JOB_NODELIST="localhost")
    if n > 1:
        env.update(SLURM_ARRAY_JOB_ID="4242", SLURM_ARRAY_TASK_ID=str(i))
    else:
        env["SLURM_JOB_ID"] = "4242"
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
"""
    subprocess.Popen([sys.executable, "-c", runner, str(n), cpus, str(folder)] + cmd, start_new_session=True,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print("Submitted batch job 4242")
'''

FAKE_SACCT = r'''#!{python}
"""Stand-in for sacct: an element is COMPLETED once its result pickle exists, else the state in FAKE_SLURM/state."""
import os
from pathlib import Path
rec = Path(os.environ["FAKE_SLURM"])
n, folder = int((rec / "elements").read_text()), Path((rec / "folder").read_text())
state = (rec / "state").read_text().strip() if (rec / "state").exists() else "RUNNING"
print("JobID|State|NodeList")
for i in range(n):
    job = f"4242_{i}" if n > 1 else "4242"
    print(f"{job}|{'COMPLETED' if (folder / f'{job}_0_result.pkl').exists() else state}|localhost")
'''


@pytest.fixture
def fake_slurm(tmp_path, monkeypatch):
    bin_dir, rec = tmp_path / "bin", tmp_path / "slurm"
    bin_dir.mkdir()
    rec.mkdir()
    for name, text in (("sbatch", FAKE_SBATCH), ("sacct", FAKE_SACCT), ("srun", "#!/bin/sh\nexit 1\n")):
        p = bin_dir / name
        p.write_text(text.replace("{python}", sys.executable).replace("{{", "{").replace("}}", "}")
                     if name == "sbatch" else text.replace("{python}", sys.executable))
        p.chmod(p.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_SLURM", str(rec))
    return rec


def test_slurm_job_array_from_the_grid_file(tmp_path, data_dir, bench, fake_slurm, capsys):
    """`nabench run --launcher slurm` from a grid file's [launcher] table: one sbatch call, an array of
    ceil(15 / 4) = 4 elements with the partition, time, CPUs and memory asked for; each element writes its own
    runs-<job>-<task>.jsonl; the tables equal the local pool's."""
    cfg = tmp_path / "grid.toml"
    cfg.write_text('runs = 5\nseed = 3\n[launcher]\nlauncher = "slurm"\npartition = "cpu-long"\ntime_min = 30\n'
                   'cpus_per_task = 2\nmem_gb = 1.5\nruns_per_job = 4\narray_parallelism = 3\n'
                   '[[experiment]]\nsearchers = ["rs", "na-rs", "rea"]\n')
    out = tmp_path / "out"
    rc = cli.main(["run", "--config", str(cfg), "--out", str(out), "--data-dir", str(data_dir), "--no-progress"])
    text = capsys.readouterr().out
    assert rc == 0 and "submitted 15 runs as 4 array element(s) of slurm job 4242" in text
    script = (fake_slurm / "script.sh").read_text()
    for line in ("--array=0-3%3", "--partition=cpu-long", "--time=30", "--cpus-per-task=2", "--mem=1536MB"):
        assert f"#SBATCH {line}" in script, line
    assert sorted(p.name for p in out.glob("runs-*.jsonl")) == [f"runs-4242-{i}.jsonl" for i in range(4)]
    ref = run_grid(load_grid(cfg), tmp_path / "ref", bench=bench, workers=1, progress=False, log=_quiet)
    for name in TABLES:
        assert (out / name).read_bytes() == (ref.out / name).read_bytes(), name
    assert [e["job_id"] for e in json.loads((out / "launches.json").read_text())] == [f"4242_{i}" for i in range(4)]


def test_slurm_no_wait_then_rerun_submits_only_what_is_missing(tmp_path, data_dir, fake_slurm, capsys):
    """--no-wait returns after submitting; a rerun while the array is pending submits nothing; once it was
    cancelled, a rerun submits its runs again."""
    (fake_slurm / "hold").write_text("")  # the stand-in scheduler keeps the elements pending
    (fake_slurm / "state").write_text("PENDING")
    argv = ["run", "--runs", "3", "--searcher", "rs", "--launcher", "slurm", "--runs-per-job", "2", "--no-wait",
            "--out", str(tmp_path / "o"), "--data-dir", str(data_dir), "--no-progress"]
    assert cli.main(argv) == 0
    text = capsys.readouterr().out
    assert "submitted 3 runs as 2 array element(s)" in text and "3 runs pending" in text
    assert cli.main(argv) == 0
    text = capsys.readouterr().out
    assert "3 runs are still pending or running in Slurm job(s) 4242_0, 4242_1" in text and "submitted 3 runs" not in text
    (fake_slurm / "state").write_text("CANCELLED")
    assert cli.main(argv) == 0
    assert "submitted 3 runs as 2 array element(s)" in capsys.readouterr().out


def test_shards_merge_one_record_per_run(tmp_path):
    """Two writers that both finished a run (a requeued element): readers keep one record of it."""
    from nabench.search.synthetic import SyntheticBenchmark

    syn = SyntheticBenchmark(seed=2)
    g = _grid(2)
    run_grid(g, tmp_path, bench=syn, workers=1, progress=False, log=_quiet)
    log = (tmp_path / "runs.jsonl").read_bytes()
    (tmp_path / "runs-7-0.jsonl").write_bytes(log)  # the same runs again, from another writer
    (tmp_path / "runs-7-1.jsonl").write_bytes(log[: len(log) // 2 + 3])  # and a writer killed mid-line
    res = run_grid(g, tmp_path, bench=syn, workers=1, progress=False, log=_quiet)
    assert res.ran == 0 and len(_records(tmp_path)) == 6 and (res.summary["n"] == 2).all()


def test_worker_counts_follow_affinity_and_slurm(monkeypatch):
    n = len(os.sched_getaffinity(0))
    monkeypatch.delenv("SLURM_CPUS_PER_TASK", raising=False)
    assert available_cpus() == n and default_workers(199) == 1 and default_workers(200) == n
    monkeypatch.setenv("SLURM_CPUS_PER_TASK", "1")
    assert available_cpus() == 1 == default_workers(10_000)
    monkeypatch.setenv("SLURM_CPUS_PER_TASK", str(n + 50))  # never more than the affinity mask allows
    assert available_cpus() == n


def test_make_launcher():
    assert make_launcher({}) is None and make_launcher({"launcher": "local"}) is None
    la = make_launcher({"launcher": "slurm", "runs_per_job": 3})
    assert isinstance(la, SubmititLauncher) and la.kind == "slurm" and la.runs_per_job == 3
    parts = la.chunks([(0, r, r) for r in range(10)])
    assert [len(p) for p in parts] == [3, 3, 2, 2] and sorted(j for p in parts for j in p) == [(0, r, r) for r in range(10)]
    assert parts[0][:2] == [(0, 0, 0), (0, 4, 4)]  # dealt round-robin
