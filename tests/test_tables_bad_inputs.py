"""Bad inputs to the query API and the latency importer: each is a one-line ConfigError, never an answer.

Table-driven. Every entry of ``BAD_CALLS`` once gave a traceback or, worse, a silent wrong answer
(``accuracy(True, ...)`` answered for arch 1, ``seed=777.9`` became 777, a negative index counted from
the end, a 2-D index array selected along the wrong axis). ``GOOD_CALLS`` pins the accepted forms of
the query API's docstring, so that refusing the bad ones does not refuse good ones.
"""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

import nabench
from nabench.cli import main
from nabench.errors import ConfigError, IntegrityError
from nabench.spaces import nb201
from nabench.tables import official

BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
Q = dict(dataset="cifar10-valid", split="x-valid", fidelity=200)
ARABIC = BEST.replace("~0", "~\u0660")  # Arabic-Indic zero: \d and int() accept it
FULLWIDTH = "\uff16\uff11\uff11\uff11"  # "6111" in fullwidth digits

BAD_ARCHS = {
    "True": True, "False": False, "np.bool_": np.bool_(True), "float 3.0": 3.0, "float 777.9": 777.9,
    "NaN": float("nan"), "inf": float("inf"), "np.float64": np.float64(5), "complex": 1j,
    "-1": -1, "-15625": -15625, "15625": 15625, "10**30": 10**30, "np.int64(-1)": np.int64(-1),
    "np.uint64 huge": np.uint64(2**63), "None": None, "dict": {1: 2}, "set": {1, 2}, "bytes": b"6111",
    "object": object(), "generator": (i for i in range(3)),
    "digit string": "6111", "fullwidth digits": FULLWIDTH, "arabic digit in string": ARABIC, "empty string": "",
    "string with NUL": BEST + "\0", "bad op string": "|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|",
    "tuple of 5": (0, 0, 0, 0, 0), "tuple of 7": (0,) * 7, "tuple with float": (0, 0, 0, 0, 0, 1.5),
    "tuple with bool": (0, 0, 0, 0, 0, True), "tuple op 5": (0, 0, 0, 0, 0, 5), "tuple op -1": (0, 0, 0, 0, 0, -1),
    "tuple of strings": (BEST, BEST), "empty tuple": (),
    "list with bool": [1, True], "list of floats": [1.0, 2.0], "list mixed": [1, BEST], "list with None": [1, None],
    "list with -1": [0, -1], "list with 15625": [0, 15625], "list with huge": [0, 10**30], "list of lists 2": [[1, 2]],
    "list of short tuples": [(0, 0, 0, 0, 0, 0), (1, 2, 3)], "list of NaN": [float("nan")],
    "list with fullwidth": [BEST, FULLWIDTH],
    "2-D index array": np.array([[1, 2], [3, 4]]), "3-D array": np.zeros((2, 3, 6), dtype=int),
    "(n,6) ops out of range": np.full((2, 6), 5), "(n,6) float ops": np.zeros((2, 6)),
    "float array": np.array([1.0, 2.0]), "integral float array": np.array([6111.0]), "NaN array": np.array([np.nan]),
    "bool array": np.array([True, False]), "negative array": np.array([-1]), "array past the end": np.array([15625]),
    "uint64 huge array": np.array([2**63], dtype=np.uint64), "0-d float array": np.array(3.0),
    "0-d object array": np.array(None), "string array with bad": np.array([BEST, "x"]),
    "pandas float Series": pd.Series([1.0, 2.0]),
}

BAD_SEEDS = {
    "777.9": 777.9, "777.0": 777.0, "np.float64(777)": np.float64(777), "True": True, "-1": -1, "2**64": 2**64,
    "'777'": "777", "'Mean'": "Mean", "None": None, "[777]": [777], "NaN": float("nan"), "0-d array": np.array(777),
    "RandomState": np.random.RandomState(0), "123 (not trained)": 123,
}

BAD_FIDELITIES = {"12.0": 12.0, "True": True, "arabic 12": "\u0661\u0662", "' 12'": " 12", "'12.0'": "12.0",
                  "None": None, "-12": -12, "2**70": 2**70, "'hp=١٢'": "hp=\u0661\u0662", "np.float64": np.float64(12)}
BAD_DATASETS = {"None": None, "5": 5, "'CIFAR10'": "CIFAR10", "list": ["cifar10"], "' cifar10'": " cifar10"}
BAD_SPLITS = {"None": None, "'X-VALID'": "X-VALID", "'test'": "test", "5": 5}


def _calls():
    for name, v in BAD_ARCHS.items():
        yield f"archs={name}", lambda b, v=v: b.accuracy(v, **Q)
    for name, v in BAD_SEEDS.items():
        yield f"seed={name}", lambda b, v=v: b.accuracy(0, **Q, seed=v)
    for name, v in BAD_FIDELITIES.items():
        yield f"fidelity={name}", lambda b, v=v: b.accuracy(0, dataset="cifar10-valid", split="x-valid", fidelity=v)
    for name, v in BAD_DATASETS.items():
        yield f"dataset={name}", lambda b, v=v: b.accuracy(0, dataset=v, split="x-valid", fidelity=200)
    for name, v in BAD_SPLITS.items():
        yield f"split={name}", lambda b, v=v: b.accuracy(0, dataset="cifar100", split=v, fidelity=200)
    for name in ("True", "-1", "float 777.9", "2-D index array", "fullwidth digits"):
        v = BAD_ARCHS[name]
        yield f"cost archs={name}", lambda b, v=v: b.cost(v, dataset="cifar10", fidelity=200)
        yield f"params archs={name}", lambda b, v=v: b.params(v, dataset="cifar10")
        yield f"per-seed archs={name}", lambda b, v=v: b.accuracy(v, **Q, seed=777)
        yield f"generator archs={name}", lambda b, v=v: b.accuracy(v, **Q, seed=np.random.default_rng(0))
    yield "cost fidelity=12.0", lambda b: b.cost(0, dataset="cifar10", fidelity=12.0)
    yield "curve metric=None", lambda b: b.curve(0, **Q, metric=None)
    yield "device=None", lambda b: b.device_latency(0, device=None)
    yield "seeds fidelity=True", lambda b: b.seeds(dataset="cifar10", fidelity=True)
    yield "n_seeds fidelity=200.0", lambda b: b.n_seeds(dataset="cifar10", fidelity=200.0)
    yield "resolve True", lambda b: b.resolve(True)
    yield "index arabic digit", lambda b: b.index(ARABIC)
    yield "index of a list", lambda b: b.index([1, 2])
    yield "arch_str 3.0", lambda b: b.arch_str(3.0)
    yield "arch_str True", lambda b: b.arch_str(True)
    yield "arch_str -1", lambda b: b.arch_str(-1)


BAD_CALLS = dict(_calls())


@pytest.mark.parametrize("case", list(BAD_CALLS))
def test_bad_api_input_is_a_one_line_config_error(bench, case):
    try:
        result = BAD_CALLS[case](bench)
    except ConfigError as e:
        msg = str(e)
        assert msg and "\n" not in msg and len(msg) < 400, msg
        return
    except Exception as e:  # noqa: BLE001 - any other exception is a traceback for the user
        pytest.fail(f"{case}: {type(e).__name__} instead of a ConfigError: {e}")
    pytest.fail(f"{case}: silently answered {result!r}")


def test_the_audit_examples_name_the_problem(bench):
    with pytest.raises(ConfigError, match=r"True is not index 1"):
        bench.accuracy(True, **Q)
    with pytest.raises(ConfigError, match=r"seed must be an integer, got 777.9"):
        bench.accuracy(0, **Q, seed=777.9)
    with pytest.raises(ConfigError, match=r"index -1 is out of range.*not counted from the end"):
        bench.accuracy(-1, **Q)
    with pytest.raises(ConfigError, match=r"must be 1-D .*got shape \(2, 2\)"):
        bench.accuracy(np.array([[1, 2], [3, 4]]), **Q, seed=777)
    with pytest.raises(ConfigError, match=r"a tuple names one architecture by its 6 op indices"):
        bench.accuracy((1, 2, 3), **Q)
    with pytest.raises(ConfigError, match="non-ASCII"):
        bench.accuracy(ARABIC, **Q)


def test_accepted_forms_agree(bench):
    """Every accepted form of the docstring gives the same answer for the same architectures."""
    want = float(bench.accuracy(6111, **Q))
    ops = nb201.parse(BEST)
    for one in (6111, np.int64(6111), np.uint16(6111), np.array(6111), BEST, ops, np.str_(BEST)):
        got = bench.accuracy(one, **Q)
        assert np.ndim(got) == 0 and float(got) == want, one
    many = [6111, 0, 6111]
    expect = bench.accuracy(np.array(many), **Q)
    assert expect.shape == (3,) and expect[0] == want
    op_rows = [tuple(bench.order.ops(i)) for i in many]
    for form in (many, tuple_free(many), range(6111, 6112), pd.Series(many), np.array(many, dtype=np.int32),
                 [BEST, bench.arch_str(0), BEST], np.array([BEST, bench.arch_str(0), BEST]), op_rows,
                 np.array(op_rows), [list(r) for r in op_rows]):
        got = bench.accuracy(form, **Q)
        n = len(form) if not isinstance(form, range) else 1
        np.testing.assert_array_equal(got, expect[:n])
    assert bench.accuracy([], **Q).shape == (0,)
    # a list of six indices is six architectures; a tuple of six op indices is one
    six = [0, 1, 2, 3, 4, 0]
    assert bench.accuracy(six, **Q).shape == (6,)
    assert np.ndim(bench.accuracy(tuple(six), **Q)) == 0
    assert float(bench.accuracy(tuple(six), **Q)) == float(bench.accuracy(bench.order.index(tuple(six)), **Q))


def tuple_free(values):
    """The same indices as a 1-D array of another integer dtype."""
    return np.asarray(values, dtype=np.int16)


def test_per_seed_queries_follow_the_architectures(bench):
    """Per-seed answers of an (n, 6) op array and of its indices are the same rows (no axis mix-up)."""
    idx = np.array([5, 6111, 77])
    ops = np.array([bench.order.ops(i) for i in idx])
    for seed in (777, 888, np.int64(777)):
        np.testing.assert_array_equal(bench.accuracy(ops, **Q, seed=seed), bench.accuracy(idx, **Q, seed=seed))
        per = bench._a["acc.cifar10-valid.x-valid.200.seed"]
        np.testing.assert_array_equal(bench.accuracy(idx, **Q, seed=seed), per[idx, (777, 888).index(int(seed))])


# ------------------------------------------------------------------------------------ latency importer
def _table(rows: dict) -> pd.DataFrame:
    return pd.DataFrame(rows)


GOOD_INDEX = np.arange(15625)
BAD_LATENCY_TABLES = {
    "negative arch_index": lambda: _table({"arch_index": np.r_[-1, GOOD_INDEX[1:]], "pixel3_ms": 1.0}),
    "arch_index past the end": lambda: _table({"arch_index": np.r_[GOOD_INDEX[:-1], 15625], "pixel3_ms": 1.0}),
    "duplicate arch_index": lambda: _table({"arch_index": np.r_[0, GOOD_INDEX[:-1]], "pixel3_ms": 1.0}),
    "fractional arch_index": lambda: _table({"arch_index": GOOD_INDEX + 0.5, "pixel3_ms": 1.0}),
    "NaN arch_index": lambda: _table({"arch_index": np.r_[np.nan, GOOD_INDEX[1:]], "pixel3_ms": 1.0}),
    "text arch_index": lambda: _table({"arch_index": ["a"] * 15625, "pixel3_ms": 1.0}),
    "no arch_index": lambda: _table({"index": GOOD_INDEX, "pixel3_ms": 1.0}),
    "text latency": lambda: _table({"arch_index": GOOD_INDEX, "pixel3_ms": "fast"}),
    "negative latency": lambda: _table({"arch_index": GOOD_INDEX, "pixel3_ms": -1.0}),
    "infinite latency": lambda: _table({"arch_index": GOOD_INDEX, "pixel3_ms": np.inf}),
    "no device columns": lambda: _table({"arch_index": GOOD_INDEX, "pixel3": 1.0}),
}


@pytest.mark.parametrize("case", list(BAD_LATENCY_TABLES))
def test_bad_latency_tables_are_refused(tmp_path, data_dir, capsys, case):
    root = tmp_path / "data"
    shutil.copytree(data_dir / "nb201", root / "nb201")
    before = (root / "nb201" / "meta.json").read_bytes()
    csv = tmp_path / "latency.csv"
    BAD_LATENCY_TABLES[case]().to_csv(csv, index=False)
    with pytest.raises(IntegrityError):
        official.read_latency_table(csv)
    code = main(["data", "import", str(csv), "--data-dir", str(root)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert (root / "nb201" / "meta.json").read_bytes() == before


@pytest.mark.parametrize("content", [b"", b"\xff\xfe\x00garbage", b"arch_index,pixel3_ms\n1,2,3,4\n"])
def test_unreadable_latency_files_are_refused(tmp_path, data_dir, capsys, content):
    root = tmp_path / "data"
    shutil.copytree(data_dir / "nb201", root / "nb201")
    csv = tmp_path / "latency.csv"
    csv.write_bytes(content)
    code = main(["data", "import", str(csv), "--data-dir", str(root)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err


def test_partial_latency_table_marks_unlisted_archs_absent(tmp_path, data_dir):
    root = tmp_path / "data"
    shutil.copytree(data_dir / "nb201", root / "nb201")
    csv = tmp_path / "latency.csv"
    _table({"arch_index": [15624, 3], "pixel3_ms": [2.5, 1.5]}).to_csv(csv, index=False)
    official.import_path(csv, root)
    b = nabench.load("nb201", data_dir=root)
    np.testing.assert_array_equal(b.device_latency([15624, 3], device="pixel3"), [2.5, 1.5])
    with pytest.raises(nabench.errors.NotAvailableError):
        b.device_latency(0, device="pixel3")


def test_latency_import_records_its_provenance(tmp_path, data_dir, capsys):
    """data info after a latency import names both steps, and the table's sha256 is among the sources."""
    root = tmp_path / "data"
    shutil.copytree(data_dir / "nb201", root / "nb201")
    csv = tmp_path / "lat.csv"
    _table({"arch_index": GOOD_INDEX, "pixel3_ms": 1.0}).to_csv(csv, index=False)
    official.import_path(csv, root)
    official.import_path(csv, root)  # importing again does not grow the history
    assert main(["data", "info", "--data-dir", str(root)]) == 0
    out = capsys.readouterr().out
    assert "made by fetch; then import: hardware latencies from lat.csv," in out
    meta = nabench.load("nb201", data_dir=root).meta
    assert meta["made_by"] == "fetch; then import: hardware latencies from lat.csv"
    assert len(meta["sources"]["lat.csv"]) == 64


@pytest.fixture(scope="module")
def sss(tmp_path_factory, mirror):
    root = tmp_path_factory.mktemp("sss")
    official.import_path(mirror / "nats_official_sample" / "NATS-sss-v1_0-50262-simple", root)
    return nabench.load("nats-sss", data_dir=root)


def test_size_space_forms_and_refusals(sss):
    """The same resolver serves the size space: channel tuples and (n, 5) rows, strict about their values."""
    q = dict(dataset="cifar10", split="ori-test", fidelity=90)
    arch = sss.arch_str(11)
    channels = tuple(int(c) for c in arch.split(":"))
    want = float(sss.accuracy(11, **q))
    assert float(sss.accuracy(arch, **q)) == want and float(sss.accuracy(channels, **q)) == want
    np.testing.assert_array_equal(sss.accuracy(np.array([channels, channels]), **q), [want, want])
    for bad in [(8, 8, 8, 8, 7), (8, 8, 8, 8), (8, 8, 8, 8, 8.0), np.array([[8, 8, 8, 8, 65]]), "\uff18:8:8:8:8",
                32768, -1, True, np.array([[8, 8], [8, 8]])]:
        with pytest.raises(ConfigError):
            sss.accuracy(bad, **q)
