"""kill -9 of ``nabench run``: a resumed grid gives the bytes of an uninterrupted one, and no worker outlives its parent."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from nabench.experiments import grid_from_dict, run_grid

REPO = Path(__file__).resolve().parents[1]
TABLES = ("evaluations.csv.gz", "runs.csv", "summary.csv", "paired.csv")
GRID = 'runs = {runs}\nseed = 5\n[[experiment]]\nprotocol = "nb201"\nsearchers = {searchers}\n'


def _lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def _command(tmp_path: Path, data_dir: Path, runs: int, searchers: list[str]) -> tuple[list[str], Path]:
    cfg = tmp_path / "grid.toml"
    cfg.write_text(GRID.format(runs=runs, searchers=json.dumps(searchers)))
    out = tmp_path / "out"
    return [sys.executable, "-m", "nabench.cli", "run", "--config", str(cfg), "--out", str(out), "--data-dir",
            str(data_dir), "--workers", "2", "--no-progress"], out


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))


def _wait_for_lines(out: Path, n: int, proc: subprocess.Popen) -> None:
    deadline = time.time() + 120
    while _lines(out / "runs.jsonl") < n and time.time() < deadline and proc.poll() is None:
        time.sleep(0.02)
    assert proc.poll() is None, "the grid ended before it could be killed; make it longer"


def _children(pid: int) -> set[int]:
    """Live processes whose parent is ``pid`` (from /proc)."""
    kids = set()
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                kids.add(int(d.name))
    return kids


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2:].split()[0] != "Z"


def test_killed_grid_resumes_byte_identical(tmp_path, data_dir, bench):
    """Kill the whole process group mid-way, tear the log's last line, rerun: the result tables are the
    bytes of an uninterrupted run, and every run is in the log exactly once."""
    searchers = ["bo", "na-ls", "rs"]
    cmd, out = _command(tmp_path, data_dir, 24, searchers)
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=_env(), start_new_session=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    _wait_for_lines(out, 6, proc)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done = _lines(out / "runs.jsonl")
    manifest = json.loads((out / "manifest.json").read_text())
    assert 6 <= done < 72 and not manifest["complete"] and not (out / "runs.csv").exists()
    with open(out / "runs.jsonl", "ab") as f:  # a write torn by the kill
        f.write(b'{"cell":"nb201/cifar10/bo/default","run":23,"seed":28,"arch":[1,2')
    res = subprocess.run(cmd, cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert f"{done} finished runs kept" in res.stdout + res.stderr
    recs = [json.loads(x) for x in (out / "runs.jsonl").read_text().splitlines()]
    assert len(recs) == 72 and len({r["key"] for r in recs}) == 72 and len({(r["cell"], r["run"]) for r in recs}) == 72
    ref = run_grid(grid_from_dict({"runs": 24, "seed": 5, "experiment": [{"protocol": "nb201", "searchers": searchers}]}),
                   tmp_path / "ref", bench=bench, workers=1, progress=False, log=lambda _: None)
    for name in TABLES:
        assert (out / name).read_bytes() == (ref.out / name).read_bytes(), name
    assert (out / "timings.csv").read_bytes() != (ref.out / "timings.csv").read_bytes()  # wall times live apart


def test_workers_die_with_their_parent(tmp_path, data_dir):
    """kill -9 of the parent alone (not its group): its spawned workers exit within seconds."""
    cmd, out = _command(tmp_path, data_dir, 400, ["bo"])
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=_env(), start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        _wait_for_lines(out, 2, proc)
        kids = _children(proc.pid)
        assert len(kids) >= 2  # the two workers (and multiprocessing's resource tracker)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        deadline = time.time() + 10
        while any(_alive(k) for k in kids) and time.time() < deadline:
            time.sleep(0.1)
        assert not [k for k in kids if _alive(k)], "workers outlived their parent"
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # only this test's own process group
        except ProcessLookupError:
            pass


def test_a_dying_worker_is_one_line_and_keeps_finished_runs(tmp_path, data_dir):
    """SIGKILL of one worker (the OOM killer's way): the parent ends with exit 2 and one line, keeps every
    finished run, and a rerun resumes from them."""
    cmd, out = _command(tmp_path, data_dir, 400, ["bo"])
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_lines(out, 2, proc)
        workers = [k for k in _children(proc.pid)
                   if b"resource_tracker" not in Path(f"/proc/{k}/cmdline").read_bytes()]
        assert len(workers) == 2
        os.kill(workers[0], signal.SIGKILL)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    lines = err.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and "Traceback" not in err
    assert "a worker process died" in lines[0] and "rerun the same command to resume" in lines[0]
    kept = _lines(out / "runs.jsonl")
    assert kept >= 2 and all(json.loads(x)["key"] for x in (out / "runs.jsonl").read_text().splitlines())
    res = subprocess.run(cmd[:-3] + ["--runs", "3", "--workers", "1", "--no-progress"], cwd=tmp_path, env=_env(),
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    first3 = sum(json.loads(x)["run"] < 3 for x in (out / "runs.jsonl").read_text().splitlines()[:kept])
    assert f"{first3} finished runs kept" in res.stdout if first3 else "resuming" not in res.stdout
