"""The DARTS space and the NAS-Bench-301 surrogate: user forms, canonical inputs, neighbors, encoding, trust."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from nabench.errors import ConfigError, DataNotFoundError, IntegrityError
from nabench.spaces import darts
from nabench.spaces.darts import DARTS_V1, DARTS_V2, DartsSpace, Genotype, GenotypeError

S = DartsSpace()


def same_cell(a: Genotype, b: Genotype) -> bool:
    """Equal up to the order of each node's two inputs."""
    def nodes(cell):
        return [frozenset(map(tuple, cell[i:i + 2])) for i in range(0, 8, 2)]
    return nodes(a.normal) == nodes(b.normal) and nodes(a.reduce) == nodes(b.reduce)


@pytest.mark.parametrize("g", [DARTS_V1, DARTS_V2])
def test_every_user_form_roundtrips(g):
    a = S.parse(g)
    assert S.parse("darts-v2" if g is DARTS_V2 else "darts-v1") == a
    assert S.parse(darts.to_str(g)) == a  # the Genotype(...) literal as DARTS code prints it
    assert S.parse(S.format(a)) == a and same_cell(S.to_genotype(a), g)
    cfg = S.to_config(a)
    assert S.parse(cfg) == a and S.parse(json.dumps(cfg)) == a
    assert S.parse({k.replace(":", "_COLON_"): v for k, v in cfg.items()}) == a  # the surrogate files' spelling
    assert S.parse({k.removeprefix(darts.CONFIG_PREFIX): v for k, v in cfg.items()}) == a
    assert S.parse(str(a)) == a and S.parse(a) == a


def test_input_order_within_a_node_does_not_matter():
    swapped = DARTS_V2.normal.copy()
    swapped[4], swapped[5] = swapped[5], swapped[4]
    g = Genotype(swapped, DARTS_V2.normal_concat, DARTS_V2.reduce, DARTS_V2.reduce_concat)
    assert g != DARTS_V2 and S.parse(g) == S.parse(DARTS_V2) and S.canonical(S.parse(g)) == S.parse(g)


def test_config_of_darts_v2_by_hand():
    """NB301 numbering: node k's edge from input i is ``start(k) + i``, node 5 starting at edge 9."""
    a = S.parse("darts-v2")
    cfg = S.to_config(a)
    assert cfg[darts.CONFIG_PREFIX + "inputs_node_normal_5"] == "0_2"  # node 5 of DARTS-V2: (skip, 0), (dil, 2)
    assert cfg[darts.CONFIG_PREFIX + "edge_normal_9"] == "skip_connect"  # edge start(5) + 0
    assert cfg[darts.CONFIG_PREFIX + "edge_normal_11"] == "dil_conv_3x3"  # edge start(5) + 2
    assert len(cfg) == 2 * (8 + 3)


def test_config_space_conditions(shared_data):
    """Each edge is active exactly when the config space's condition on its node's inputs holds."""
    space = json.loads((shared_data / "upstream" / "yahpo_nb301" / "config_space_v2.json").read_text())
    cond = {c["child"].replace("_COLON_", ":"): (c["parent"].replace("_COLON_", ":"), set(c["values"]))
            for c in space["conditions"]}
    for a in S.sample(np.random.default_rng(0), 30).tolist():
        cfg = S.to_config(int(a))
        for edge, (parent, values) in cond.items():
            assert (edge in cfg) == (cfg[parent] in values), (edge, cfg[parent])
        for h in space["hyperparameters"]:
            name = h["name"].replace("_COLON_", ":")
            if name in cfg:
                assert cfg[name] in h["choices"]


@pytest.mark.parametrize("bad,match", [
    ("darts-v3", "neither a named genotype"),
    ("Genotype(normal=__import__('os'))", "cannot read genotype"),
    ({"edge_normal_0": "conv_9x9"}, "active edge"),
    ({"foo": 1}, "unknown NB301 configuration key"),
    (2**62, "<= "),
    (-1, ">= 0"),
    (True, "cannot read a DARTS architecture from bool"),
])
def test_bad_forms_are_one_line_errors(bad, match):
    with pytest.raises(ConfigError, match=match):
        S.parse(bad)


def test_duplicate_inputs_and_extra_edges_are_refused():
    normal = DARTS_V2.normal.copy()
    normal[2] = ("sep_conv_3x3", 1)  # node 3 takes input 1 twice
    with pytest.raises(GenotypeError, match="twice"):
        S.parse(Genotype(normal, [2, 3, 4, 5], DARTS_V2.reduce, [2, 3, 4, 5]))
    cfg = S.to_config(S.parse("darts-v2"))
    cfg[darts.CONFIG_PREFIX + "edge_normal_4"] = "skip_connect"  # node 3 uses 0_1: edge 4 (from 2) is inactive
    with pytest.raises(GenotypeError, match="inactive"):
        S.parse(cfg)


def test_neighbors_are_the_nb301_definition():
    a = S.parse("darts-v2")
    g = S.to_genotype(a)
    moved, ops = 0, 0
    for b in S.neighbors(a).tolist():
        h = S.to_genotype(b)
        diff_ops = sum(x[0] != y[0] for x, y in zip(g.normal + g.reduce, h.normal + h.reduce))
        same_inputs = [sorted(s for _, s in (g.normal + g.reduce)[i:i + 2]) ==
                       sorted(s for _, s in (h.normal + h.reduce)[i:i + 2]) for i in range(0, 16, 2)]
        if all(same_inputs):
            ops += 1
            assert diff_ops == 1
        else:
            moved += 1
            assert sum(not s for s in same_inputs) == 1
    assert (ops, moved) == (96, 24)


def test_mutation_and_sampling_cover_the_space():
    rng = np.random.default_rng(0)
    a = S.parse("darts-v1")
    kids = {S.mutate(a, rng) for _ in range(2000)}
    assert kids <= set(S.neighbors(a).tolist()) and len(kids) > 110
    digits = S.encode(S.sample(rng, 4000))
    for d, c in enumerate(S.cardinalities):  # each digit uniform
        counts = np.bincount(digits[:, d], minlength=c)
        assert counts.min() > 4000 / c * 0.75


# ----------------------------------------------------------------------------- the surrogate


@pytest.fixture(scope="module")
def nb301(data_dir):
    import nabench

    return nabench.load("nb301", data_dir)


def test_surrogate_known_values(nb301):
    """DARTS-V2 and V1 at epoch 98 (computed once by hand through onnxruntime and the yahpo encoding)."""
    acc, runtime = nb301.predict(["darts-v2", "darts-v1"], fidelity=98)
    assert acc == pytest.approx([92.91, 92.55], abs=0.01)
    assert runtime == pytest.approx([4560.0, 4393.4], rel=1e-3)
    a12, r12 = nb301.predict(["darts-v2"], fidelity=12)
    assert a12[0] < acc[0] and r12[0] < runtime[0]


def test_surrogate_encoding_uses_the_files_codes(nb301):
    """x_cat is read from encoding_v2.json: '#na#' where inactive, the op's code on the active edge."""
    enc = json.loads((nb301.folder / "encoding_v2.json").read_text())
    from nabench.surrogates.nb301 import CAT_NAMES

    a = S.parse("darts-v2")
    x = nb301.x_cat([a])[0]
    cfg = {k.removeprefix(darts.CONFIG_PREFIX): v for k, v in S.to_config(a).items()}
    for col, name in enumerate(CAT_NAMES):
        assert x[col] == enc["NetworkSelectorDatasetInfo_COLON_darts_COLON_" + name][cfg.get(name, "#na#")]


def test_surrogate_batches_equal_single_calls(nb301):
    archs = S.sample(np.random.default_rng(1), 50)
    batch, _ = nb301.predict(archs, fidelity=40)
    single = [nb301.predict([int(a)], fidelity=40)[0][0] for a in archs[:5]]
    assert np.allclose(batch[:5], single, atol=1e-4)


def test_surrogate_queries_are_checked(nb301):
    with pytest.raises(ConfigError, match="one split"):
        nb301.accuracy([0], dataset="cifar10", split="x-test", fidelity=98)
    with pytest.raises(ConfigError, match="cifar10"):
        nb301.accuracy([0], dataset="cifar100", split="valid", fidelity=98)
    with pytest.raises(ConfigError, match="<= 98"):
        nb301.accuracy([0], dataset="cifar10", split="valid", fidelity=99)


def test_surrogate_files_are_verified_before_use(data_dir, tmp_path):
    import nabench
    from nabench.surrogates import nb301 as mod

    root = tmp_path / "data"
    shutil.copytree(mod.folder(data_dir), mod.folder(root))
    nabench.load("nb301", root)
    model = mod.folder(root) / "model_v2.onnx"
    data = bytearray(model.read_bytes())
    data[1000] ^= 0xFF
    model.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="checksum"):
        nabench.load("nb301", root)
    model.unlink()
    with pytest.raises(DataNotFoundError, match="nabench data fetch"):
        nabench.load("nb301", root)


def test_fetch_installs_the_surrogate_with_the_tables(data_dir):
    """The session data folder was made by build_from_upstream from the mirror: the surrogate is there."""
    from nabench.surrogates import nb301 as mod

    assert (mod.folder(data_dir) / "model_v2.onnx").is_file()
    assert (mod.folder(data_dir) / "encoding_v2.json").is_file()


def test_surrogate_pickles_without_its_session(nb301):
    import pickle

    nb301.predict(["darts-v2"], fidelity=12)
    clone = pickle.loads(pickle.dumps(nb301))
    assert clone._session is None
    assert clone.predict(["darts-v2"], fidelity=12)[0][0] == nb301.predict(["darts-v2"], fidelity=12)[0][0]


def test_na_darts_on_the_darts_space_records_surrogate_predictions(nb301, tmp_path):
    """`nabench oneshot --space darts` (here its runner): each epoch's derived genotype is predicted by NB301."""
    torch = pytest.importorskip("torch", reason='needs PyTorch: pip install "nabench[torch]"')
    import csv

    from nabench.oneshot import lookup
    from nabench.oneshot.config import Neighborhood, SearchConfig
    from nabench.oneshot.runner import run_oneshot

    row = lookup.lookup(nb301, darts.to_str(DARTS_V2), "cifar10")
    assert row["arch_index"] == S.parse("darts-v2") and row["valid_98"] == pytest.approx(92.91, abs=0.01)
    assert not any(k.startswith("test") for k in row) and set(lookup.columns("cifar10", "nb301")) <= set(row)
    g = torch.Generator().manual_seed(0)
    batches = [(torch.randn(4, 3, 16, 16, generator=g), torch.randint(0, 10, (4,), generator=g)) for _ in range(4)]
    cfg = SearchConfig(space="darts", algo="na-darts", dataset="cifar10", epochs=2, channels=4, cells=3,
                       batch_size=4, neighborhood=Neighborhood(k=2))
    run_oneshot(cfg, batches[:2], batches[2:], num_classes=10, bench=nb301, out=tmp_path / "run", log=lambda _: None)
    with open(tmp_path / "run" / "epochs.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2
    for r in rows:
        code = S.parse(r["arch"])
        assert int(r["arch_index"]) == code
        acc, runtime = nb301.predict([code], fidelity=98)
        assert float(r["valid_98"]) == pytest.approx(acc[0]) and float(r["runtime_98"]) == pytest.approx(runtime[0])


def test_fetch_on_an_intact_store_adds_the_surrogate(data_dir, mirror, tmp_path, capsys):
    """A store made before the surrogate was in the manifest: `data fetch` installs just the missing files."""
    import nabench
    from nabench.cli import main
    from nabench.surrogates import nb301 as mod

    root = tmp_path / "data"
    shutil.copytree(data_dir, root)
    shutil.rmtree(mod.folder(root))
    assert main(["data", "fetch", "--mirror", str(mirror), "--data-dir", str(root), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "intact" in out
    assert nabench.load("nb301", root).predict(["darts-v2"], fidelity=98)[0][0] == pytest.approx(92.91, abs=0.01)
