"""A corpus of bad inputs to ``nabench run``, its TOML grids, its results folders and the runner's Python API.

Every case must end in exit code 2 (or a :class:`NabenchError` from the API) with exactly one line
naming the problem, no traceback, and nothing written: the folder the case ran in is byte-identical
before and after. A new kind of mistake found in the field belongs in one of these tables.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from nabench import cli
from nabench.errors import NabenchError
from nabench.experiments import grid_from_dict, load_grid, make_cell, run_grid
from nabench.experiments.launch import SubmititLauncher, check_options
from nabench.search.synthetic import SyntheticBenchmark

BIG = str(10**9)

# ---------------------------------------------------------------------------------------------- CLI flags
#: (extra argv of `nabench run`, regex the one error line must match)
FLAG_CASES: list[tuple[list[str], str]] = [
    (["--runs", "abc"], "argument --runs: invalid int value"),
    (["--runs", "0"], "--runs must be an integer >= 1"),
    (["--runs", "-5"], "--runs must be an integer >= 1"),
    (["--runs", BIG], "--runs must be an integer <= 100000"),
    (["--runs", "1.5"], "invalid int value"),
    (["--seed", "-1"], "--seed must be an integer >= 0"),
    (["--seed", str(2**70)], "--seed must be an integer <="),
    (["--seed", "x"], "invalid int value"),
    (["--workers", "-3"], "--workers must be an integer >= 1"),
    (["--workers", "0"], "--workers must be an integer >= 1"),
    (["--workers", "100000"], "--workers must be an integer <= 512"),
    (["--searcher", "gradient"], "unknown searcher 'gradient'"),
    (["--searcher", ","], "non-empty list of names"),
    (["--searcher", "na-"], "unknown searcher"),
    (["--dataset", "cifar100"], "protocol nats"),
    (["--dataset", "imagenet"], "unknown task dataset"),
    (["--protocol", "nb101"], "invalid choice: 'nb101'"),
    (["--budget", "-5"], "budget in setting 'custom' must be > 0"),
    (["--budget", "nan"], "must be a finite number"),
    (["--budget", "inf"], "must be a finite number"),
    (["--budget", "abc"], "invalid float value"),
    (["--budget", "10"], "cannot pay for even the cheapest evaluation .* raise the budget"),
    (["--fidelity", "13"], "unknown fidelity 13"),
    (["--fidelity", "12", "--signal", "random-seed"], "signal 'random-seed' is not possible"),
    (["--signal", "median"], "invalid choice: 'median'"),
    (["--crossing", "late"], "invalid choice: 'late'"),
    (["--max-steps", "0"], "max_steps in setting 'custom' must be an integer >= 1"),
    (["--max-steps", str(10**12)], "max_steps in setting 'custom' must be an integer <="),
    (["--searcher", "na-rs", "--radius", "5"], "radius"),
    (["--searcher", "na-rs", "--radius", "0"], "radius"),
    (["--searcher", "na-rs", "--k", "-1"], r"--k must be a number of neighbors .* or 'all' \(or 0\)"),
    (["--searcher", "na-rs", "--agg", "quantile", "--q", "2"], "quantile q must lie in"),
    (["--searcher", "na-rs", "--agg", "mode"], "unknown neighborhood aggregate 'mode'"),
    (["--searcher", "na-rs", "--decay", "0"], "decay must lie in"),
    (["--searcher", "na-rs", "--decay", "nan"], "must be a finite number"),
    (["--searcher", "na-rs", "--accounting", "free"], "invalid choice: 'free'"),
    (["--param", "rea.population"], "SEARCHER.NAME=VALUE"),
    (["--param", "=3"], "SEARCHER.NAME=VALUE"),
    (["--searcher", "rea", "--param", "rea.population=0"], "REA population must be an integer"),
    (["--searcher", "rea", "--param", "rea.population=abc"], "REA population must be an integer"),
    (["--searcher", "rea", "--param", "rea.population=2.5"], "REA population must be an integer"),
    (["--param", "ga.x=1"], "unknown key.*'ga'"),
    (["--param", "rs.x=1"], "unknown parameter.*x.*'rs'"),
    (["--searcher", "bo", "--param", "bo.acquisition=5"], "unknown BO acquisition 5"),
    (["--searcher", "reinforce", "--param", "reinforce.lr=-1"], "REINFORCE lr must be > 0"),
    (["--config", "missing.toml"], "does not exist"),
    (["--config", "."], "is not a file"),
    (["--config", "x.toml", "--searcher", "rs"], "cannot be combined with --config"),
    (["--config", "x.toml", "--radius", "2"], "cannot be combined with --config"),
    (["--out", "afile/sub"], "afile is a file, not a folder"),
    (["--out", "afile"], "exists and is not a folder"),
    (["--out", "/proc/nabench-x"], "cannot be created"),
    (["--data-dir", "nowhere"], "nabench data fetch"),
    (["--launcher", "pbs"], "invalid choice: 'pbs'"),
    (["--partition", "gpu"], "only apply to --launcher slurm"),
    (["--launcher", "slurm", "--cpus-per-task", "0"], "--cpus-per-task must be an integer >= 1"),
    (["--launcher", "slurm", "--time", "0"], "--time must be an integer >= 1"),
    (["--launcher", "slurm", "--mem-gb", "-1"], "--mem-gb must be > 0"),
    (["--launcher", "slurm", "--mem-gb", "nan"], "must be a finite number"),
    (["--launcher", "slurm", "--runs-per-job", "0"], "--runs-per-job must be an integer >= 1"),
    (["--launcher", "slurm", "--array-parallelism", "0"], "--array-parallelism must be"),
    (["--nonsense"], "unrecognized arguments: --nonsense"),
    (["--dataset", ","], "datasets of .* must be a non-empty list of names"),
    (["--searcher", "na-rs", "--k", "1.5"], "--k must be a number of neighbors"),
    (["--searcher", "na-rs", "--q", "nan"], "must be a finite number"),
    (["--searcher", "na-rs", "--radius", "abc"], "invalid int value"),
    (["--searcher", "rea", "--param", "rea.tournament=0"], "tournament"),
    (["--searcher", "rea", "--param", "rea.population=true"], "REA population must be an integer"),
    (["--launcher", "slurm", "--time", str(10**8)], "--time must be an integer <="),
    (["--launcher", "submitit-local", "--runs-per-job", "0"], "--runs-per-job must be"),
    (["--launcher", "slurm", "--mem-gb", "1e9"], "--mem-gb must be <="),
]

# ---------------------------------------------------------------------------------------------- TOML grids
EXP = '[[experiment]]\nsearchers = ["rs", "na-rs"]\n'
#: (grid file text, regex)
TOML_CASES: list[tuple[str, str]] = [
    ('runs = 1\n[settings.default]\nbudget = "abc"\n' + EXP, "budget in setting 'default' must be a number"),
    ('runs = 1\n[settings.default]\nbudget = true\n' + EXP, "budget in setting 'default' must be a number"),
    ('runs = 1\n[settings.default]\nneighborhood = { radius = 1.0 }\n' + EXP, "radius in neighborhood .* integer"),
    ('runs = 1\nsettings = 5\n' + EXP, r"\[settings\] of .* must be a table"),
    ('runs = 1\n[settings.default]\nparams = { rea = 5 }\n' + EXP, "params of setting 'default'.rea must be a table"),
    ('runs = 1\n[settings.default]\nparams = 5\n' + EXP, "params in setting 'default' must be a table"),
    ('runs = 1\n[settings.default]\nparams = { rea = { population = "abc" } }\n[[experiment]]\nsearchers = ["rea"]\n',
     "REA population must be an integer"),
    ('runs = 1\n[settings.default]\nparams = { rea = { size = 3 } }\n[[experiment]]\nsearchers = ["rea"]\n',
     "unknown parameter.*size"),
    ('runs = "5"\n' + EXP, "runs in .* must be an integer"),
    ('runs = true\n' + EXP, "runs in .* must be an integer"),
    ('runs = 1.5\n' + EXP, "runs in .* must be an integer"),
    ('runs = 0\n' + EXP, "runs in .* must be an integer >= 1"),
    (f'runs = {BIG}\n' + EXP, "runs in .* must be an integer <= 100000"),
    ('runs = 1\nseed = -1\n' + EXP, "seed in .* must be an integer >= 0"),
    ('runs = 1\nseed = 1.0\n' + EXP, "seed in .* must be an integer"),
    ('runs = 2\nseed = 9223372036854775807\n' + EXP, "exceeds the largest seed"),
    ('runs = 1\nseed = 99999999999999999999\n' + EXP, "seed in .* must be an integer <= 9223372036854775807"),
    ('name = "../x"\nruns = 1\n' + EXP, "name in .* must be a plain name"),
    ('name = "/tmp/abs"\nruns = 1\n' + EXP, "must be a plain name"),
    ('name = "a/b"\nruns = 1\n' + EXP, "must be a plain name"),
    ('name = ".hidden"\nruns = 1\n' + EXP, "must be a plain name"),
    ('name = ""\nruns = 1\n' + EXP, "must be a plain name"),
    ('name = 5\nruns = 1\n' + EXP, "must be a plain name"),
    ('runs = 1\n[settings."../up"]\n' + EXP, "setting name '../up' .* must be a plain name"),
    ('runs = 1\nexperiment = 5\n', "must be an array of tables"),
    ('runs = 1\n[experiment]\nsearchers = ["rs"]\n', "must be an array of tables"),
    ('runs = 1\nexperiment = [5]\n', r"\[\[experiment\]\] #1 .* must be a table"),
    ('runs = 1\n', r"no \[\[experiment\]\] blocks"),
    ('runs = 1\n[[experiment]]\nsearchers = 5\n', "searchers of .* must be a non-empty list of names"),
    ('runs = 1\n[[experiment]]\nsearchers = [1]\n', "searchers of .* must be a non-empty list of names"),
    ('runs = 1\n[[experiment]]\nsearchers = []\n', "must be a non-empty list of names"),
    ('runs = 1\n[[experiment]]\nprotocol = 5\nsearchers = ["rs"]\n', "protocol of .* must be a non-empty string"),
    ('runs = 1\n[[experiment]]\nprotocol = "nb101"\nsearchers = ["rs"]\n', "unknown protocol 'nb101'"),
    ('runs = 1\n[[experiment]]\ndatasets = 5\nsearchers = ["rs"]\n', "datasets of .* must be a non-empty list"),
    ('runs = 1\n[[experiment]]\ndatasets = ["cifar100"]\nsearchers = ["rs"]\n', "protocol nats"),
    ('runs = 1\n[[experiment]]\nsettings = ["nope"]\nsearchers = ["rs"]\n', "setting 'nope', which is not defined"),
    ('runs = 1\n[[experiment]]\nsearcher = ["rs"]\n', "unknown key.*'searcher'"),
    ('runs = 1\n[[experiment]]\nprotocol = "nb201"\n', "names no searchers"),
    ('runs = 1\nbudget = 5\n' + EXP, "unknown key.*'budget'"),
    ('runs = 1\n[settings.default]\nbudgets = 5\n' + EXP, "unknown key.*'budgets'"),
    ('runs = 1\n[settings.default]\nneighborhood = 5\n' + EXP, "neighborhood in setting 'default' must be a table"),
    ('runs = 1\n[settings.default]\nneighborhood = { k = -1 }\n' + EXP, r"k in neighborhood .*\(>= 1\), or 'all'"),
    ('runs = 1\n[settings.default]\nneighborhood = { k = 1.5 }\n' + EXP, "k in neighborhood .* number of neighbors"),
    ('runs = 1\n[settings.default]\nneighborhood = { agg = 5 }\n' + EXP, "agg in neighborhood .* string"),
    ('runs = 1\n[settings.default]\nneighborhood = { agg = "quantile", q = 2 }\n' + EXP, "quantile q must lie in"),
    ('runs = 1\n[settings.default]\nneighborhood = { q = "x" }\n' + EXP, "q in neighborhood .* number"),
    ('runs = 1\n[settings.default]\nneighborhood = { dedup = "yes" }\n' + EXP, "dedup in neighborhood .* true or false"),
    ('runs = 1\n[settings.default]\nneighborhood = { accounting = "free" }\n' + EXP, "accounting in neighborhood"),
    ('runs = 1\n[settings.default]\nneighborhood = { size = 3 }\n' + EXP, "unknown key.*'size'"),
    ('runs = 1\n[settings.default]\ncrossing = 5\n' + EXP, "crossing in setting 'default' must be one of drop, keep"),
    ('runs = 1\n[settings.default]\nsignal = 5\n' + EXP, "signal in setting 'default' must be one of"),
    ('runs = 1\n[settings.default]\nfidelity = "12"\n' + EXP, "fidelity in setting 'default' must be an integer"),
    ('runs = 1\n[settings.default]\nfidelity = 13\n' + EXP, "unknown fidelity 13"),
    ('runs = 1\n[settings.default]\nmax_steps = 0\n' + EXP, "max_steps in setting 'default' must be an integer >= 1"),
    ('runs = 1\n[launcher]\nlauncher = "pbs"\n' + EXP, "launcher in .* must be one of local, submitit-local, slurm"),
    ('runs = 1\n[launcher]\ncpus_per_task = 0\nlauncher = "slurm"\n' + EXP, "cpus_per_task in .* >= 1"),
    ('runs = 1\n[launcher]\ngpus = 1\n' + EXP, "unknown key.*'gpus'"),
    ('runs = 1\nlauncher = 5\n' + EXP, r"\[launcher\] of .* must be a table"),
    ('runs = 1\n[launcher]\npartition = "gpu"\n' + EXP, "only apply to --launcher slurm"),
    ('runs = 100000\n[[experiment]]\nsearchers = ["rs", "rea", "bo", "ls", "reinforce", "na-rs", "na-rea", "na-bo", '
     '"na-ls", "na-reinforce"]\nsettings = ["default", "b"]\n[settings.b]\nbudget = 6000\n', "more than the limit"),
    ('runs = 1\n[settings.default]\nparams = { rea = { population = true } }\n[[experiment]]\nsearchers = ["rea"]\n',
     "REA population must be an integer"),
    ('runs = 1\n[settings.default]\nneighborhood = { include_self = 1 }\n' + EXP, "include_self in .* true or false"),
    ('runs = 1\n[settings.default]\nneighborhood = { exact = "no" }\n' + EXP, "exact in .* true or false"),
    ('runs = 1\n[settings.default]\nneighborhood = { decay = 0 }\n' + EXP, "decay must lie in"),
    ('runs = 1\n[settings.default]\nbudget = -1\n' + EXP, "budget in setting 'default' must be > 0"),
    ('runs = 1\n[settings.default]\nbudget = inf\n' + EXP, "must be a finite number"),
    ('runs = 1\n[settings.default]\nbudget = nan\n' + EXP, "must be a finite number"),
    ('runs = 1\n[settings.default]\nmax_steps = 1.5\n' + EXP, "max_steps in setting 'default' must be an integer"),
    ('runs = -1\n' + EXP, "runs in .* must be an integer >= 1"),
    ('runs = 1\n[launcher]\nwait = "no"\n' + EXP, "wait in .* true or false"),
    ('runs = 1\n[launcher]\nlauncher = "slurm"\nmem_gb = 0\n' + EXP, "mem_gb in .* must be > 0"),
    ('runs = 1\n[launcher]\nlauncher = "slurm"\ntime_min = 1.5\n' + EXP, "time_min in .* must be an integer"),
    ('runs = 1\n[[experiment]]\ndatasets = [""]\nsearchers = ["rs"]\n', "datasets of .* non-empty list of names"),
    ('runs = 1\n[[experiment]]\nsearchers = [""]\n', "searchers of .* non-empty list of names"),
    ('runs = 1\n[settings.default]\nbudget = 10\n' + EXP, "cannot pay for even the cheapest evaluation"),
    ('runs = [1,\n', "not valid TOML"),
    ('', r"no \[\[experiment\]\] blocks"),
]

# ---------------------------------------------------------------------------------------------- config files
#: (file name, bytes or None for a folder, regex)
FILE_CASES: list[tuple[str, bytes | None, str]] = [
    ("binary.toml", b"\xff\xfe\x00runs = 1", "is not UTF-8 text"),
    ("folder.toml", None, "is not a file"),
    ("huge.toml", b"#" * (5 * 2**20), "more than the .* a config file may have"),
]


def _snapshot(root: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))}


def _cli(argv: list[str], capsys) -> tuple[int, str, str]:
    try:
        rc = cli.main(argv)
    except SystemExit as e:  # argparse
        rc = e.code
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def _assert_one_line_error(rc: int, out: str, err: str, match: str) -> None:
    assert rc == 2, (rc, err)
    assert "Traceback" not in err + out
    lines = err.strip("\n").split("\n")
    assert len(lines) == 1 and re.match(r"nabench( run)?: error: ", lines[0]), err
    assert re.search(match, lines[0]), lines[0]
    assert out == "", out  # nothing announced


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """An empty folder as the current directory (so a default nabench-runs/ would show), with a file in it."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("x")
    (tmp_path / "x.toml").write_text('runs = 1\n[[experiment]]\nsearchers = ["rs"]\n')
    return tmp_path


@pytest.mark.parametrize("extra,match", FLAG_CASES, ids=[" ".join(c[0])[:40] for c in FLAG_CASES])
def test_bad_flags(workdir, data_dir, capsys, extra, match):
    argv = ["run", "--runs", "1", "--no-progress", "--data-dir", str(data_dir), "--out", "o"] + extra
    before = _snapshot(workdir)
    _assert_one_line_error(*_cli(argv, capsys), match)
    assert _snapshot(workdir) == before


@pytest.mark.parametrize("text,match", TOML_CASES, ids=[f"toml{i}" for i in range(len(TOML_CASES))])
def test_bad_grid_files(workdir, data_dir, capsys, text, match):
    (workdir / "g.toml").write_text(text)
    before = _snapshot(workdir)
    _assert_one_line_error(*_cli(["run", "--config", "g.toml", "--no-progress", "--data-dir", str(data_dir)], capsys),
                           match)
    assert _snapshot(workdir) == before


@pytest.mark.parametrize("name,data,match", FILE_CASES, ids=[c[0] for c in FILE_CASES])
def test_bad_config_files(workdir, data_dir, capsys, name, data, match):
    if data is None:
        (workdir / name).mkdir()
    else:
        (workdir / name).write_bytes(data)
    before = _snapshot(workdir)
    _assert_one_line_error(*_cli(["run", "--config", name, "--no-progress", "--data-dir", str(data_dir)], capsys),
                           match)
    assert _snapshot(workdir) == before


# ---------------------------------------------------------------------------------------------- results folders
BASE_GRID = 'runs = 2\n[settings.default]\nbudget = 12000\n[[experiment]]\nsearchers = ["rs", "na-rs"]\n'


def _folder_cases() -> list[tuple[str, str, str]]:
    """(what is done to a finished 2-run folder, extra argv, regex)."""
    return [
        ("manifest-list", "", "not a nabench results manifest"),
        ("manifest-binary", "", "not a readable JSON manifest"),
        ("manifest-garbage", "", "not a readable JSON manifest"),
        ("log-list-line", "", "line 5 is not a nabench run record .a JSON list"),
        ("log-bad-field", "", "line 1 is not a nabench run record .field 'seed'"),
        ("log-no-key", "", "line 1 is not a nabench run record .missing key"),
        ("log-garbage", "", "line 5 is corrupt"),
        ("none", "--seed 100", "made with seed 0, but this grid gives it seed 100; use the same --seed as before .0."),
        ("no-manifest", "--seed 100", "made with seed 0, but this grid gives it seed 100"),
        ("changed", "", "already holds cell nb201/cifar10/rs/default with different settings"),
        ("changed+no-manifest", "", "already holds run 0 of cell nb201/cifar10/rs/default made with different "
                                    "settings"),
        ("dir:runs.jsonl", "", "runs.jsonl is not a regular file"),
        ("dir:summary.csv", "", "summary.csv is not a regular file"),
        ("dir:.lock", "", ".lock is not a regular file"),
        ("dir:manifest.json", "", "manifest.json is not a regular file"),
        ("dangling:runs.csv", "", "runs.csv is not a regular file .a folder, or a dangling link"),
    ]


@pytest.mark.parametrize("damage,extra,match", _folder_cases(), ids=[f"{c[0]}{c[1]}" for c in _folder_cases()])
def test_bad_results_folders(workdir, data_dir, capsys, damage, extra, match):
    (workdir / "base.toml").write_text(BASE_GRID)
    (workdir / "changed.toml").write_text(BASE_GRID.replace("12000", "6000"))
    base = ["run", "--no-progress", "--data-dir", str(data_dir), "--out", "o", "--config"]
    assert _cli(base + ["base.toml"], capsys)[0] == 0
    out = workdir / "o"
    log = out / "runs.jsonl"
    if damage == "manifest-list":
        (out / "manifest.json").write_text("[1, 2]\n")
    elif damage == "manifest-binary":
        (out / "manifest.json").write_bytes(b"\x80\x81")
    elif damage == "manifest-garbage":
        (out / "manifest.json").write_text('{"cells": ')
    elif damage == "log-list-line":
        with open(log, "a") as f:
            f.write("[1, 2]\n")
    elif damage in ("log-bad-field", "log-no-key"):
        lines = log.read_text().splitlines(keepends=True)
        first = re.sub(r'"seed":0', '"seed":"0"', lines[0]) if damage == "log-bad-field" else \
            re.sub(r',"key":"[0-9a-f]+"', "", lines[0])
        log.write_text(first + "".join(lines[1:]))
    elif damage == "log-garbage":
        with open(log, "ab") as f:
            f.write(b"\x00\x01garbage\n")
    elif "no-manifest" in damage:
        (out / "manifest.json").unlink()
    elif damage.startswith(("dir:", "dangling:")):
        target = out / damage.split(":")[1]
        target.unlink()
        if damage.startswith("dir:"):
            (target / "x").mkdir(parents=True)
        else:
            target.symlink_to(workdir / "nowhere")
    config = "changed.toml" if damage.startswith("changed") else "base.toml"
    before = _snapshot(workdir)
    _assert_one_line_error(*_cli(base + [config] + extra.split(), capsys), match)
    assert _snapshot(workdir) == before


# ---------------------------------------------------------------------------------------------- Python API
def _grid():
    return grid_from_dict({"runs": 1, "experiment": [{"searchers": ["rs"]}]})


def _api_cases() -> list[tuple[str, object, str]]:
    syn = SyntheticBenchmark(seed=1)
    g = _grid()
    return [
        ("run_grid(str)", lambda out: run_grid("grid", out, bench=syn), "needs a Grid"),
        ("workers=0", lambda out: run_grid(g, out, bench=syn, workers=0), "workers must be an integer >= 1"),
        ("workers=True", lambda out: run_grid(g, out, bench=syn, workers=True), "workers must be an integer"),
        ("workers='2'", lambda out: run_grid(g, out, bench=syn, workers="2"), "workers must be an integer"),
        ("workers=2.0", lambda out: run_grid(g, out, bench=syn, workers=2.0), "workers must be an integer"),
        ("workers=10**6", lambda out: run_grid(g, out, bench=syn, workers=10**6), "workers must be an integer <="),
        ("progress='yes'", lambda out: run_grid(g, out, bench=syn, progress="yes"), "progress must be true or false"),
        ("launcher='slurm'", lambda out: run_grid(g, out, bench=syn, launcher="slurm"), "launcher must be None"),
        ("out=file", lambda out: run_grid(g, out.parent / "afile", bench=syn), "exists and is not a folder"),
        ("out=''", lambda out: run_grid(g, "", bench=syn), "must be a non-empty string"),
        ("bench='nb201'", lambda out: run_grid(g, out, bench="nb201"), "bench must be a benchmark"),
        ("log='x'", lambda out: run_grid(g, out, bench=syn, log="x"), "log must be a callable"),
        ("command=5", lambda out: run_grid(g, out, bench=syn, command=5), "command must be a non-empty string"),
        ("data_dir=file", lambda out: run_grid(g, out, data_dir=out.parent / "afile"), "nabench data fetch|not a"),
        ("grid_from_dict(str)", lambda out: grid_from_dict("x"), "must be a table"),
        ("grid_from_dict(list)", lambda out: grid_from_dict([1]), "must be a table"),
        ("make_cell(5)", lambda out: make_cell(5, None, "rs"), "protocol must be a non-empty string"),
        ("make_cell ds=5", lambda out: make_cell("nb201", 5, "rs"), "dataset must be a non-empty string"),
        ("make_cell searcher=None", lambda out: make_cell("nb201", None, None), "searcher must be a non-empty string"),
        ("make_cell setting=../x", lambda out: make_cell("nb201", None, "rs", "../x"), "must be a plain name"),
        ("make_cell overrides=5", lambda out: make_cell("nb201", None, "rs", overrides=5), "must be a table"),
        ("make_cell budget=abc", lambda out: make_cell("nb201", None, "rs", overrides={"budget": "abc"}),
         "budget in setting 'default' must be a number"),
        ("replace name", lambda out: replace(g, name="../x"), "the grid name must be a plain name"),
        ("replace runs=0", lambda out: replace(g, runs=0), "runs per cell must be an integer >= 1"),
        ("replace runs=10**9", lambda out: replace(g, runs=10**9), "runs per cell must be an integer <="),
        ("replace seed=-1", lambda out: replace(g, seed=-1), "the base seed must be an integer >= 0"),
        ("replace seed=1.5", lambda out: replace(g, seed=1.5), "the base seed must be an integer"),
        ("replace cells=()", lambda out: replace(g, cells=()), "non-empty tuple of Cells"),
        ("load_grid(folder)", lambda out: load_grid(out.parent), "is not a file"),
        ("load_grid(5)", lambda out: load_grid(5), "must be a non-empty string"),
        ("SubmititLauncher(pbs)", lambda out: SubmititLauncher(kind="pbs"), "launcher must be one of"),
        ("SubmititLauncher(cpus=0)", lambda out: SubmititLauncher(cpus_per_task=0), "cpus_per_task must be"),
        ("check_options(5)", lambda out: check_options("[launcher]", 5), "must be a table"),
        ("check_options(wait=1)", lambda out: check_options("[launcher]", {"wait": 1}), "wait in .* true or false"),
    ]


@pytest.mark.parametrize("case", range(len(_api_cases())), ids=[c[0] for c in _api_cases()])
def test_bad_api_calls(workdir, case):
    _, call, match = _api_cases()[case]
    before = _snapshot(workdir)
    with pytest.raises(NabenchError) as info:
        call(workdir / "o")
    msg = str(info.value)
    assert "\n" not in msg and re.search(match, msg), msg
    assert _snapshot(workdir) == before


def test_corpus_size():
    """The corpus the issue asks for: keep it growing, never shrinking."""
    n = len(FLAG_CASES) + len(TOML_CASES) + len(FILE_CASES) + len(_folder_cases()) + len(_api_cases())
    assert n >= 180, n
