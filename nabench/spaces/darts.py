"""The DARTS (v2) search space: normal and reduction cells, 4 intermediate nodes, 8 candidate ops.

A :class:`Genotype` is the standard DARTS format: ``normal`` and ``reduce`` are lists of 8
``(op, input)`` pairs, two per intermediate node (node ``i`` of 0..3 takes inputs from ``0..i+1``, where
0 and 1 are the two previous cells' outputs), and ``normal_concat`` / ``reduce_concat`` name the nodes
concatenated into the cell output (``range(2, 6)``). Torch-free.

:class:`DartsSpace` is the space of final cells as NAS-Bench-301 defines it (7 ops, ``none`` is not a
choice; each intermediate node takes two *distinct* inputs; both cells concatenate nodes 2..5), as a
:class:`~nabench.spaces.base.SearchSpace`. Decisions:

* **Arch = an int**, the mixed-radix code of 22 categorical digits (first digit most significant).
  Per cell (normal, then reduce): node 2's ops on inputs 0 and 1; then for node 3, 4 and 5 the
  index of its input pair among ``itertools.combinations(range(k), 2)`` (3, 6, 10 pairs: the order of
  NB301's ``inputs_node_*`` values ``"0_1", "0_2", ...``) followed by the op on the lower and on the
  higher input. Cardinalities ``(7, 7, 3, 7, 7, 6, 7, 7, 10, 7, 7) * 2``; about 1.08e18 codes.
  Inputs are stored in source order, so two genotypes that differ only in the order of a node's
  two inputs get the same code: the code *is* the canonical form.
* **Ops** are numbered as :data:`OPS` (DARTS' ``PRIMITIVES`` without ``none``, which is also the
  order of NB301's configuration space). The surrogate's own integer codes come from its
  ``encoding_v2.json`` (:mod:`nabench.surrogates.nb301`), never from these numbers.
* **Radius-1 neighbors** (NASLib's NB301 definition): change the op of one of the 16 active edges
  to one of the 6 others (96), or move one input of node 3, 4 or 5 to a predecessor the node does not
  use yet, keeping its op (2 + 4 + 6 per cell, 24): 120 distinct cells. Radius 2 is the ball of
  neighbors of neighbors. :meth:`DartsSpace.mutate` draws one of the 120 uniformly.
* **Distance**: per node, the fewer over the two ways of matching the inputs of ``a`` to those of
  ``b`` of (inputs whose source differs + ops that differ); summed over nodes and cells. It is the
  number of one-edit moves, so radius-1 neighbors are at distance 1.
* **User forms** (:meth:`DartsSpace.parse`): ``darts-v1`` / ``darts-v2``, a ``Genotype(...)`` literal
  (read with ``ast.literal_eval`` on its fields, never ``eval``), a :class:`Genotype`, the NB301
  configuration dict (keys with or without the ``NetworkSelectorDatasetInfo:darts:`` prefix) and the
  int code. :meth:`DartsSpace.format` writes the ``Genotype(...)`` literal.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any, Mapping, NamedTuple, Sequence

import numpy as np

from nabench import validate as checks
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
                src = checks.integer(f"{name}[{k}] input", src)
            except (TypeError, ValueError, ConfigError):
                raise GenotypeError(f"{name}[{k}] = {pair!r} is not an (op, input) pair") from None
            if op not in PRIMITIVES or op == "none":
                valid = ", ".join(p for p in PRIMITIVES if p != "none")
                raise GenotypeError(f"{name}[{k}] uses unknown op {op!r}; valid ops are {valid}")
            node = k // 2
            if not 0 <= src < node + 2:
                raise GenotypeError(f"{name}[{k}] input {src} is invalid for node {node}: use 0..{node + 1}")
        concat = list(getattr(genotype, f"{name}_concat"))
        try:
            nodes = [checks.integer(f"{name}_concat", c, minimum=2, maximum=N_NODES + 1) for c in concat]
        except ConfigError:
            nodes = []
        if not nodes:
            raise GenotypeError(f"{name}_concat {concat} must list nodes (integers) in 2..{N_NODES + 1}")
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


# ----------------------------------------------------------------------------- the NB301 search space

#: The ops of a final cell, numbered as in the arch code (PRIMITIVES without ``none``).
OPS: tuple[str, ...] = tuple(p for p in PRIMITIVES if p != "none")
CELLS: tuple[str, ...] = ("normal", "reduce")
#: intermediate node k (2..5) -> its input pairs, in NB301's ``inputs_node`` value order
PAIRS: dict[int, tuple[tuple[int, int], ...]] = {k: tuple(combinations(range(k), 2)) for k in range(2, 6)}
#: first NB301 edge number of node k (edges are node-major: edge ``EDGE_START[k] + source``)
EDGE_START: dict[int, int] = {2: 0, 3: 2, 4: 5, 5: 9}
N_CELL_EDGES = 14
#: NB301's hyperparameter prefix (``:`` written as ``_COLON_`` in the surrogate files)
CONFIG_PREFIX = "NetworkSelectorDatasetInfo:darts:"
_N_OPS = len(OPS)
#: radius-1 op changes: 16 active edges x 6 other ops
_N_OP_MOVES = 16 * (_N_OPS - 1)
#: per cell: digit positions of (pair, op on lower input, op on higher input) for nodes 2..5 (node 2: no pair)
_CELL_CARDS = (_N_OPS, _N_OPS) + sum(((len(PAIRS[k]), _N_OPS, _N_OPS) for k in (3, 4, 5)), ())
_CELL_DIGITS = len(_CELL_CARDS)


def _node_digits(k: int) -> tuple[int | None, int, int]:
    """Positions (within a cell's digits) of node k's pair index and its two ops."""
    if k == 2:
        return None, 0, 1
    base = 2 + 3 * (k - 3)
    return base, base + 1, base + 2


class DartsSpace:
    """The NAS-Bench-301 DARTS space (normal + reduction cell) as a :class:`~nabench.spaces.base.SearchSpace`."""

    name = "darts"
    cardinalities: tuple[int, ...] = _CELL_CARDS * 2
    enumerable = False

    def __init__(self) -> None:
        from nabench.spaces.base import radix_powers

        self._pow = radix_powers(self.cardinalities)
        self._cards = np.asarray(self.cardinalities, dtype=np.int64)
        self.size = int(np.prod([int(c) for c in self.cardinalities], dtype=object))
        self._op_dims = np.array([c * _CELL_DIGITS + d for c in range(2) for k in range(2, 6)
                                  for d in _node_digits(k)[1:]], dtype=np.int64)
        self._moves = self._move_tables()

    # ------------------------------------------------------------------ codes <-> digits
    def encode(self, archs: Any) -> np.ndarray:
        """The 22 digits of one code ``(22,)`` or of an array of codes ``(n, 22)`` (int64)."""
        a = np.asarray(archs, dtype=np.int64)
        return (a[..., None] // self._pow) % self._cards

    def decode(self, vectors: Any) -> Any:
        """Codes of digit vectors; every in-range vector is a valid cell."""
        v = np.asarray(vectors, dtype=np.int64)
        if v.shape[-1:] != (len(self.cardinalities),):
            raise GenotypeError(f"a DARTS digit vector has {len(self.cardinalities)} entries, got shape {v.shape}")
        if v.size and ((v < 0) | (v >= self._cards)).any():
            raise GenotypeError(f"DARTS digits out of range; cardinalities are {self.cardinalities}")
        code = v @ self._pow
        return int(code) if v.ndim == 1 else code.astype(np.int64)

    def check(self, arch: Any) -> int:
        """Validate one code."""
        from nabench import validate

        a = validate.integer("DARTS architecture code", arch, minimum=0, maximum=self.size - 1)
        return a

    # ------------------------------------------------------------------ sampling and edits
    def sample(self, rng: np.random.Generator, n: int | None = None) -> Any:
        """A uniformly random cell pair: each digit uniform (= uniform over canonical cells)."""
        if n is None:
            return int(rng.integers(self._cards) @ self._pow)
        return rng.integers(self._cards, size=(n, len(self._cards))) @ self._pow

    def mutate(self, arch: int, rng: np.random.Generator) -> int:
        """One of the 120 radius-1 neighbors, uniformly: ``neighbors(arch)[j]`` for a uniform ``j``, made alone."""
        j = int(rng.integers(_N_OP_MOVES + len(self._moves)))
        d = self.encode(int(arch))
        if j < _N_OP_MOVES:
            dim = int(self._op_dims[j // (_N_OPS - 1)])
            d[dim] = (d[dim] + j % (_N_OPS - 1) + 1) % _N_OPS
            return int(d @ self._pow)
        return int(self._move(d[None, :], self._moves[j - _N_OP_MOVES])[0])

    def _move_tables(self) -> list[tuple[int, int, int, np.ndarray, np.ndarray]]:
        """Per (cell, node k >= 3, moved slot, target index): new pair index and where the moved op lands."""
        out = []
        for cell in range(2):
            for k in (3, 4, 5):
                pairs = PAIRS[k]
                for slot in (0, 1):
                    for t in range(k - 2):
                        new_pair = np.empty(len(pairs), dtype=np.int64)
                        moved_pos = np.empty(len(pairs), dtype=np.int64)
                        for p, (i, j) in enumerate(pairs):
                            keep, moved = (j, i) if slot == 0 else (i, j)
                            unused = [u for u in range(k) if u not in (i, j)]
                            u = unused[t]
                            new = tuple(sorted((keep, u)))
                            new_pair[p] = pairs.index(new)
                            moved_pos[p] = new.index(u)
                        out.append((cell, k, slot, new_pair, moved_pos))
        return out

    def _move(self, digits: np.ndarray, move: tuple[int, int, int, np.ndarray, np.ndarray]) -> np.ndarray:
        """Codes of ``(n, 22)`` digits after one input move (cell, node k, moved slot; its tables)."""
        cell, k, slot, new_pair, moved_pos = move
        pd, o0, o1 = (cell * _CELL_DIGITS + x for x in _node_digits(k))  # type: ignore[operator]
        pair = digits[:, pd]
        ops = digits[:, [o0, o1]]
        moved_op, kept_op = ops[:, slot], ops[:, 1 - slot]
        pos = moved_pos[pair]
        new0 = np.where(pos == 0, moved_op, kept_op)
        new1 = np.where(pos == 0, kept_op, moved_op)
        return (digits @ self._pow + (new_pair[pair] - pair) * self._pow[pd] + (new0 - ops[:, 0]) * self._pow[o0]
                + (new1 - ops[:, 1]) * self._pow[o1])

    def _neighbors1(self, digits: np.ndarray) -> np.ndarray:
        """``(n, 120)`` radius-1 neighbor codes of ``(n, 22)`` digits: 96 op changes (active edge-major, the
        6 other ops ascending by offset), then the 24 input moves in :meth:`_move_tables` order."""
        code = digits @ self._pow
        old = digits[:, self._op_dims]
        shifts = np.arange(1, _N_OPS)
        delta = (((old[:, :, None] + shifts) % _N_OPS) - old[:, :, None]) * self._pow[self._op_dims][None, :, None]
        ops = (code[:, None, None] + delta).reshape(len(digits), -1)
        moves = [self._move(digits, m) for m in self._moves]
        return np.concatenate([ops, np.stack(moves, axis=1)], axis=1)

    def neighbors(self, arch: Any, radius: int = 1, exact: bool = False) -> np.ndarray:
        """Codes within ``radius`` edits (120 at radius 1), int64; ``(n, m)`` for an array at radius 1."""
        a = np.asarray(arch, dtype=np.int64)
        if radius == 1:
            out = self._neighbors1(self.encode(np.atleast_1d(a)))
            return out[0] if a.ndim == 0 else out
        if a.ndim != 0 or radius != 2:
            raise ConfigError(f"DARTS neighbors of radius {radius} are not offered for arrays or radius > 2; "
                              "use radius 1 or 2 for one cell")
        one = self._neighbors1(self.encode(a[None]))[0]
        two = np.unique(self._neighbors1(self.encode(one)))
        two = two[~np.isin(two, one) & (two != int(a))]
        return two if exact else np.concatenate([one, two])

    def distance(self, a: int, b: int) -> int:
        """Edit distance: per node, the cheaper matching of inputs (moved inputs + changed ops)."""
        da, db = self.encode(int(a)), self.encode(int(b))
        total = 0
        for cell in range(2):
            for k in range(2, 6):
                pd, o0, o1 = _node_digits(k)
                off = cell * _CELL_DIGITS
                if pd is None:
                    total += int(da[off + o0] != db[off + o0]) + int(da[off + o1] != db[off + o1])
                    continue
                ia, ib = PAIRS[k][da[off + pd]], PAIRS[k][db[off + pd]]
                sa = ((ia[0], da[off + o0]), (ia[1], da[off + o1]))
                sb = ((ib[0], db[off + o0]), (ib[1], db[off + o1]))

                def cost(x: tuple, y: tuple) -> int:
                    return int(x[0] != y[0]) + int(x[1] != y[1])

                total += min(cost(sa[0], sb[0]) + cost(sa[1], sb[1]), cost(sa[0], sb[1]) + cost(sa[1], sb[0]))
        return total

    def canonical(self, arch: int) -> int:
        """The code itself: input order is already normalized (see the module docstring)."""
        return int(arch)

    # ------------------------------------------------------------------ user forms
    def to_genotype(self, arch: int) -> Genotype:
        """The DARTS :class:`Genotype` (inputs of each node in source order)."""
        d = self.encode(self.check(arch))
        cells = []
        for cell in range(2):
            off = cell * _CELL_DIGITS
            pairs: list[tuple[str, int]] = []
            for k in range(2, 6):
                pd, o0, o1 = _node_digits(k)
                i, j = (0, 1) if pd is None else PAIRS[k][d[off + pd]]
                pairs += [(OPS[d[off + o0]], i), (OPS[d[off + o1]], j)]
            cells.append(pairs)
        concat = list(range(2, 6))
        return Genotype(normal=cells[0], normal_concat=concat, reduce=cells[1], reduce_concat=list(concat))

    def from_genotype(self, genotype: Genotype) -> int:
        """The code of a genotype (validated; NB301 cells need distinct inputs and concat [2, 3, 4, 5])."""
        g = validate(genotype)
        digits = np.zeros(len(self.cardinalities), dtype=np.int64)
        for cell, name in enumerate(CELLS):
            concat = sorted(int(c) for c in getattr(g, f"{name}_concat"))
            if concat != [2, 3, 4, 5]:
                raise GenotypeError(f"{name}_concat {concat}: NAS-Bench-301 cells concatenate nodes [2, 3, 4, 5]")
            pairs = [(str(op), int(src)) for op, src in getattr(g, name)]
            off = cell * _CELL_DIGITS
            for k in range(2, 6):
                (op_a, sa), (op_b, sb) = pairs[2 * (k - 2)], pairs[2 * (k - 2) + 1]
                if sa == sb:
                    raise GenotypeError(f"{name} node {k} takes input {sa} twice; NAS-Bench-301 cells take two "
                                        "distinct inputs per node")
                (i, op_i), (j, op_j) = sorted(((sa, op_a), (sb, op_b)))
                pd, o0, o1 = _node_digits(k)
                if pd is not None:
                    digits[off + pd] = PAIRS[k].index((i, j))
                digits[off + o0], digits[off + o1] = OPS.index(op_i), OPS.index(op_j)
        return int(self.decode(digits))

    def to_config(self, arch: int) -> dict[str, str]:
        """The NB301 configuration dict (active edges and input pairs only, prefixed names)."""
        g = self.to_genotype(arch)
        out: dict[str, str] = {}
        for name in CELLS:
            pairs = getattr(g, name)
            for k in range(2, 6):
                (op_i, i), (op_j, j) = pairs[2 * (k - 2)], pairs[2 * (k - 2) + 1]
                out[f"{CONFIG_PREFIX}edge_{name}_{EDGE_START[k] + i}"] = op_i
                out[f"{CONFIG_PREFIX}edge_{name}_{EDGE_START[k] + j}"] = op_j
                if k > 2:
                    out[f"{CONFIG_PREFIX}inputs_node_{name}_{k}"] = f"{i}_{j}"
        return dict(sorted(out.items()))

    def from_config(self, config: Mapping[str, Any]) -> int:
        """The code of an NB301 configuration dict (``#na#`` or absent for inactive edges)."""
        values: dict[str, str] = {}
        for key, v in config.items():
            short = str(key).replace("_COLON_", ":").removeprefix(CONFIG_PREFIX)
            if not (short.startswith("edge_") or short.startswith("inputs_node_")):
                raise GenotypeError(f"unknown NB301 configuration key {key!r}; keys are edge_<cell>_<0..13> and "
                                    f"inputs_node_<cell>_<3..5>, optionally prefixed {CONFIG_PREFIX!r}")
            if v != "#na#":
                values[short] = str(v)
        cells: dict[str, list[tuple[str, int]]] = {}
        for name in CELLS:
            pairs: list[tuple[str, int]] = []
            for k in range(2, 6):
                if k == 2:
                    srcs = (0, 1)
                else:
                    spec = values.pop(f"inputs_node_{name}_{k}", None)
                    try:
                        srcs = tuple(checks.int_string("input node", x) for x in str(spec).split("_"))
                        assert srcs in PAIRS[k]
                    except (ConfigError, AssertionError):
                        raise GenotypeError(f"inputs_node_{name}_{k} = {spec!r}: give two distinct predecessors "
                                            f"'i_j' with i < j < {k}") from None
                for src in srcs:
                    op = values.pop(f"edge_{name}_{EDGE_START[k] + src}", None)
                    if op not in OPS:
                        raise GenotypeError(f"edge_{name}_{EDGE_START[k] + src} (input {src} of node {k}) is "
                                            f"{op!r}; an active edge needs one of {', '.join(OPS)}")
                    pairs.append((op, src))
            cells[name] = pairs
        if values:
            raise GenotypeError(f"NB301 configuration sets {', '.join(sorted(values))}, which the input pairs "
                                "leave inactive (or which do not exist); remove them or set them to '#na#'")
        concat = [2, 3, 4, 5]
        return self.from_genotype(Genotype(cells["normal"], concat, cells["reduce"], list(concat)))

    def parse(self, value: Any) -> int:
        """A code from a preset name, a ``Genotype(...)`` literal, a Genotype, an NB301 config dict or a code."""
        if isinstance(value, Genotype):
            return self.from_genotype(value)
        if isinstance(value, Mapping):
            return self.from_config(value)
        if isinstance(value, str):
            s = value.strip()
            if s[:1] in tuple("+-0123456789"):
                return self.check(checks.int_string("DARTS architecture code", s, signed=True))
            if s.startswith("{"):
                import json

                try:
                    doc = json.loads(s)
                except json.JSONDecodeError as e:
                    raise GenotypeError(f"cannot read the NB301 configuration {checks.brief(value)}: {e}") from None
                except RecursionError:
                    raise GenotypeError(f"the NB301 configuration {checks.brief(value)} is nested far deeper than a "
                                        "configuration (a flat JSON object)") from None
                if not isinstance(doc, dict):
                    raise GenotypeError("an NB301 configuration must be a JSON object")
                return self.from_config(doc)
            return self.from_genotype(parse(s))
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            return self.check(int(value))
        raise GenotypeError(f"cannot read a DARTS architecture from {type(value).__name__} {value!r}; give "
                            f"{', '.join(NAMED)}, a Genotype(...) literal, an NB301 configuration dict or a code")

    def format(self, arch: int) -> str:
        """The ``Genotype(...)`` literal."""
        return to_str(self.to_genotype(arch))
