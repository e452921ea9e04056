"""The whole neighborhood on request: ``k = "all"`` in a TOML grid, ``--k all`` on ``nabench run`` and
``nabench oneshot`` (``0`` means the same in all three), overriding the nb301 presets' default of 8 sampled
neighbors; anything else is one ConfigError naming both spellings."""

from __future__ import annotations

import pytest

from nabench import cli
from nabench.commands.oneshot import _config
from nabench.commands.run import grid_from_args
from nabench.errors import ConfigError
from nabench.experiments import grid_from_dict
from nabench.neighborhood import K_ALL, check_k


def _na_cell(grid):
    (cell,) = [c for c in grid.cells if c.searcher.startswith("na-")]
    return cell


def _toml(protocol: str, nb: dict | None) -> dict:
    setting = {"neighborhood": nb} if nb is not None else {}
    return {"runs": 1, "settings": {"default": setting}, "experiment": [{"protocol": protocol, "searchers": ["na-rs"]}]}


@pytest.mark.parametrize("protocol,nb,k", [
    ("nb301", None, 8), ("nb301", {"k": "all"}, None), ("nb301", {"k": "ALL"}, None), ("nb301", {"k": 0}, None),
    ("nb301", {"k": 20}, 20), ("nb201", None, None), ("nb201", {"k": "all"}, None), ("nb201", {"k": 3}, 3)])
def test_toml(protocol, nb, k):
    assert _na_cell(grid_from_dict(_toml(protocol, nb))).neighborhood.k == k


@pytest.mark.parametrize("value", ["8", "every", -1, 1.5, True, ""])
def test_toml_refuses(value):
    with pytest.raises(ConfigError, match=r"k in neighborhood of setting 'default' must be a number of neighbors "
                                          r"sampled per cell \(>= 1\), or 'all' \(or 0\)"):
        grid_from_dict(_toml("nb301", {"k": value}))


def _run_grid(argv: list[str]):
    return grid_from_args(cli.build_parser("run").parse_args(["run", "--searcher", "na-rs"] + argv))


@pytest.mark.parametrize("argv,k", [(["--space", "301"], 8), (["--space", "301", "--k", "all"], None),
                                    (["--space", "301", "--k", "0"], None), (["--space", "301", "--k", "5"], 5),
                                    (["--k", "all"], None), (["--k", "2"], 2)])
def test_run_cli(argv, k):
    assert _na_cell(_run_grid(argv)).neighborhood.k == k


@pytest.mark.parametrize("text", ["-3", "1.5", "a11", "\u0663"])
def test_run_cli_refuses(text):
    with pytest.raises(ConfigError, match=r"^--k must be a number of neighbors .* 'all' \(or 0\)"):
        _run_grid(["--space", "301", "--k", text])


def test_both_clis_agree():
    """nabench oneshot reads --k the same way (it used 0 = all; 'all' now too)."""
    parser = cli.build_parser("oneshot")
    ks = {t: _config(parser.parse_args(["oneshot", "--algo", "na-darts", "--k", t])).neighborhood.k
          for t in ("all", "0", "6")}
    assert ks == {"all": None, "0": None, "6": 6}
    assert _config(parser.parse_args(["oneshot", "--algo", "na-darts"])).neighborhood.k == 4  # its default
    with pytest.raises(ConfigError, match="--k must be a number of neighbors"):
        _config(parser.parse_args(["oneshot", "--algo", "na-darts", "--k", "x"]))
    for t in ("all", "0", "6"):
        assert check_k("--k", t, text=True) == _na_cell(_run_grid(["--k", t])).neighborhood.k
    assert K_ALL == "all" and check_k("k", None) is None
