"""The DARTS (v2) search space: normal and reduction cells, 4 intermediate nodes, 8 candidate ops.

A :class:`Genotype` is the standard DARTS format: ``normal`` and ``reduce`` are lists of 8
``(op, input)`` pairs, two per intermediate node (node ``i`` of 0..3 takes inputs from ``0..i+1``, where
0 and 1 are the two previous cells' outputs), and ``normal_concat`` / ``reduce_concat`` name the nodes
concatenated into the cell output (``range(2, 6)``). Torch-free.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

from nabench.errors import ConfigError

PRIMITIVES: tuple[str, ...] = (
    "none",
    "max_pool_3x3",
    "avg_pool_3x3",
    "skip_connect",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "dil_conv_3x3",
    "dil_conv_5x5",
)
N_NODES = 4
#: Number of mixed edges per cell in the search network: nodes 0..3 have 2, 3, 4, 5 inputs.
N_EDGES = sum(2 + i for i in range(N_NODES))


class GenotypeError(ConfigError):
    """A malformed genotype; the message names the problem."""


class Genotype(NamedTuple):
    normal: list[tuple[str, int]]
    normal_concat: list[int]
    reduce: list[tuple[str, int]]
    reduce_concat: list[int]


#: DARTS-V2 (second-order) genotype from Liu et al., 2019, the usual reference architecture.
DARTS_V2 = Genotype(
    normal=[("sep_conv_3x3", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("sep_conv_3x3", 1),
            ("sep_conv_3x3", 1), ("skip_connect", 0), ("skip_connect", 0), ("dil_conv_3x3", 2)],
    normal_concat=[2, 3, 4, 5],
    reduce=[("max_pool_3x3", 0), ("max_pool_3x3", 1), ("skip_connect", 2), ("max_pool_3x3", 1),
            ("max_pool_3x3", 0), ("skip_connect", 2), ("skip_connect", 2), ("max_pool_3x3", 1)],
    reduce_concat=[2, 3, 4, 5],
)

#: DARTS-V1 (first-order) genotype from the same paper.
DARTS_V1 = Genotype(
    normal=[("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("skip_connect", 0), ("sep_conv_3x3", 1),
            ("skip_connect", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("skip_connect", 2)],
    normal_concat=[2, 3, 4, 5],
    reduce=[("max_pool_3x3", 0), ("max_pool_3x3", 1), ("skip_connect", 2), ("max_pool_3x3", 0),
            ("max_pool_3x3", 0), ("skip_connect", 2), ("skip_connect", 2), ("avg_pool_3x3", 0)],
    reduce_concat=[2, 3, 4, 5],
)

NAMED: dict[str, Genotype] = {"darts-v1": DARTS_V1, "darts-v2": DARTS_V2}


def validate(genotype: Genotype) -> Genotype:
    """Check a genotype: known ops (not ``none``), two inputs per node, inputs from earlier nodes."""
    for name in ("normal", "reduce"):
        cell: Sequence[tuple[str, int]] = getattr(genotype, name)
        if len(cell) != 2 * N_NODES:
            raise GenotypeError(f"{name} cell has {len(cell)} (op, input) pairs, expected {2 * N_NODES}")
        for k, pair in enumerate(cell):
            try:
                op, src = pair
                src = int(src)
            except (TypeError, ValueError):
                raise GenotypeError(f"{name}[{k}] = {pair!r} is not an (op, input) pair") from None
            if op not in PRIMITIVES or op == "none":
                valid = ", ".join(p for p in PRIMITIVES if p != "none")
                raise GenotypeError(f"{name}[{k}] uses unknown op {op!r}; valid ops are {valid}")
            node = k // 2
            if not 0 <= src < node + 2:
                raise GenotypeError(f"{name}[{k}] input {src} is invalid for node {node}: use 0..{node + 1}")
        concat = list(getattr(genotype, f"{name}_concat"))
        if not concat or any(not 2 <= c < N_NODES + 2 for c in concat):
            raise GenotypeError(f"{name}_concat {concat} must list nodes in 2..{N_NODES + 1}")
    return genotype


def parse(text: str) -> Genotype:
    """A genotype from a preset name (``darts-v2``) or its ``Genotype(normal=[...], ...)`` repr."""
    key = text.strip().lower()
    if key in NAMED:
        return NAMED[key]
    import ast

    body = text.strip()
    if not (body.startswith("Genotype(") and body.endswith(")")):
        raise GenotypeError(
            f"{text!r} is neither a named genotype ({', '.join(NAMED)}) nor a 'Genotype(normal=[...], "
            "normal_concat=[...], reduce=[...], reduce_concat=[...])' literal"
        )
    try:
        call = ast.parse(body, mode="eval").body
        assert isinstance(call, ast.Call)
        kwargs = {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords}
        if call.args:
            raise GenotypeError("give Genotype fields by name (normal=..., normal_concat=..., ...)")
        g = Genotype(
            normal=[tuple(p) for p in kwargs["normal"]],
            normal_concat=list(kwargs["normal_concat"]),
            reduce=[tuple(p) for p in kwargs["reduce"]],
            reduce_concat=list(kwargs["reduce_concat"]),
        )
    except GenotypeError:
        raise
    except (SyntaxError, ValueError, KeyError, AssertionError, TypeError) as e:
        raise GenotypeError(f"cannot read genotype {text!r}: {e}") from None
    return validate(g)


def to_str(genotype: Genotype) -> str:
    """The standard repr, readable by :func:`parse` and by DARTS code."""
    g = validate(genotype)
    return (f"Genotype(normal={list(map(tuple, g.normal))}, normal_concat={list(g.normal_concat)}, "
            f"reduce={list(map(tuple, g.reduce))}, reduce_concat={list(g.reduce_concat)})")
