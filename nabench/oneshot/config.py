"""Search settings: the algorithms, :class:`SearchConfig` with the standard DARTS defaults, and the
NA-DARTS :class:`Neighborhood` settings. Torch-free, so the CLI can validate before importing torch.

Every algorithm is one setting of the same bi-level step (see :mod:`nabench.oneshot.steps`):

=============  =====  ===================================  =======================================
algorithm      order  alpha objective (valid batch)        weights during the weight step
=============  =====  ===================================  =======================================
``darts-1st``  1      loss of ``softmax(alpha)``           ``softmax(alpha)``
``darts-2nd``  2      same, at the unrolled weights        ``softmax(alpha)``
``sdarts-rs``  1      loss of ``softmax(alpha)``           ``softmax(alpha) + U(-eps, eps)``
``na-darts``   1      neighborhood aggregate (neighbors)   ``softmax(alpha)``
=============  =====  ===================================  =======================================

``darts`` is an alias of ``darts-2nd`` (the DARTS paper's main method). ``sdarts-rs`` and
``na-darts`` are first order by default, as SDARTS reports them and because a second-order
neighborhood step costs ``2 + 2 * (m + 1)`` passes; ``order=2`` combines either with the unrolled step.

Defaults (DARTS, Liu et al. 2019, and its NAS-Bench-201 reruns): weights SGD lr 0.025 with cosine
decay to 0.001 over the epochs, momentum 0.9, weight decay 3e-4, gradient-norm clip 5; alpha Adam
lr 3e-4, betas (0.5, 0.999), weight decay 1e-3, initialized ``1e-3 * N(0, 1)``; batch 64; 50 epochs;
the search splits are the two halves of the training set (``search-train`` for weights,
``search-valid`` for alpha). The alpha step comes first in each iteration, as in DARTS.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from math import comb

from nabench.errors import ConfigError
from nabench.neighborhood import LOSS_AGGREGATES
from nabench.spaces import darts, nb201

AGGREGATES: tuple[str, ...] = tuple(LOSS_AGGREGATES)  # the shared vocabulary (nabench.neighborhood)
#: The largest number of neighbor moves enumerated (radius 3 in the DARTS space has 1.1 M).
MAX_MOVES = 5_000_000
#: SDARTS-RS perturbation radius (the SDARTS paper's default).
DEFAULT_EPSILON = 0.03
#: (edges, ops) of the architecture tensor alpha in each space (DARTS: normal and reduce cells stacked).
SPACE_SHAPES: dict[str, tuple[int, int]] = {
    "201": (nb201.N_EDGES, nb201.N_OPS),
    "darts": (2 * darts.N_EDGES, len(darts.PRIMITIVES)),
}

#: name -> (order, uses the neighborhood objective, uses random smoothing)
ALGORITHMS: dict[str, tuple[int, bool, bool]] = {
    "darts-1st": (1, False, False),
    "darts-2nd": (2, False, False),
    "sdarts-rs": (1, False, True),
    "na-darts": (1, True, False),
}
ALIASES: dict[str, str] = {"darts": "darts-2nd"}
SPACES: tuple[str, ...] = tuple(SPACE_SHAPES)
#: Datasets a search can run on, with their class counts.
DATASETS: dict[str, int] = {"cifar10": 10, "cifar100": 100, "ImageNet16-120": 120}


def n_moves(n_edges: int, n_ops: int, radius: int) -> int:
    """Number of radius-``radius`` neighbors of a cell: ``C(E, r) * (K - 1)**r``."""
    return comb(n_edges, radius) * (n_ops - 1) ** radius


@dataclass(frozen=True)
class Neighborhood:
    """NA-DARTS hyperparameters (defaults: radius 1, 4 sampled neighbors, all of the dominant op's mass
    moved, center included, mean aggregate); :mod:`nabench.oneshot.neighbors` defines each exactly."""

    radius: int = 1
    n_neighbors: int = 4
    fraction: float = 1.0
    include_center: bool = True
    aggregate: str = "mean"

    def validate(self, n_edges: int, n_ops: int) -> "Neighborhood":
        """Check the settings against a space with ``n_edges`` edges of ``n_ops`` ops."""
        if not 1 <= self.radius <= n_edges:
            raise ConfigError(f"--radius {self.radius} is out of range; this space has {n_edges} edges, "
                              f"use 1..{n_edges}")
        if n_moves(n_edges, n_ops, self.radius) > MAX_MOVES:
            raise ConfigError(f"--radius {self.radius} gives {n_moves(n_edges, n_ops, self.radius):,} neighbors, "
                              f"more than nabench enumerates ({MAX_MOVES:,}); use a smaller radius")
        if self.n_neighbors < 0:
            raise ConfigError(f"--neighbors must be >= 0 (0 means the whole neighborhood), got {self.n_neighbors}")
        if not 0.0 < self.fraction <= 1.0:
            raise ConfigError(f"--mass-fraction must lie in (0, 1], got {self.fraction}")
        if self.aggregate not in AGGREGATES:
            raise ConfigError(f"unknown --aggregate {self.aggregate!r}; use one of {', '.join(AGGREGATES)}")
        return self


def canonical_algo(name: str) -> str:
    """The algorithm's canonical name (resolving aliases), or a ConfigError listing the valid ones."""
    key = ALIASES.get(name.strip().lower(), name.strip().lower())
    if key not in ALGORITHMS:
        valid = ", ".join(list(ALGORITHMS) + [f"{a} (= {b})" for a, b in ALIASES.items()])
        raise ConfigError(f"unknown algorithm {name!r}; use one of {valid}")
    return key


@dataclass(frozen=True)
class SearchConfig:
    """Everything that determines a search (with the seed, the same config gives the same result)."""

    space: str = "201"
    algo: str = "na-darts"
    dataset: str = "cifar10"
    epochs: int = 50
    seed: int = 0
    batch_size: int = 64
    lr: float = 0.025
    lr_min: float = 0.001
    momentum: float = 0.9
    weight_decay: float = 3e-4
    grad_clip: float = 5.0
    arch_lr: float = 3e-4
    arch_betas: tuple[float, float] = (0.5, 0.999)
    arch_weight_decay: float = 1e-3
    order: int | None = None
    epsilon: float = DEFAULT_EPSILON
    neighborhood: Neighborhood = field(default_factory=Neighborhood)
    #: architectures per batched pass in the NA objective; 0 = auto (up to 8 per pass on CUDA for the
    #: NAS-Bench-201 supernet, one per pass on CPU and for the DARTS network)
    na_chunk: int = 0
    channels: int = 16
    #: NAS-Bench-201: cells per stage (5); DARTS space: cells in the network (8). 0 = the default.
    cells: int = 0
    steps_per_epoch: int = 0

    def resolved(self) -> "SearchConfig":
        """A validated copy with the alias resolved and ``order`` / ``cells`` filled in."""
        algo = canonical_algo(self.algo)
        if self.space not in SPACES:
            raise ConfigError(f"unknown --space {self.space!r}; use 201 (NAS-Bench-201) or darts")
        if self.dataset not in DATASETS:
            raise ConfigError(f"unknown --dataset {self.dataset!r}; use one of {', '.join(DATASETS)}")
        base_order = ALGORITHMS[algo][0]
        order = base_order if self.order is None else self.order
        if order not in (1, 2):
            raise ConfigError(f"--order must be 1 or 2, got {order}")
        if algo in ("darts-1st", "darts-2nd") and order != base_order:
            raise ConfigError(f"{algo} is order {base_order} by definition; drop --order or use "
                              f"{'darts-2nd' if order == 2 else 'darts-1st'}")
        positive = {"epochs": self.epochs, "batch_size": self.batch_size, "lr": self.lr, "channels": self.channels}
        for name, value in positive.items():
            if value <= 0:
                raise ConfigError(f"--{name.replace('_', '-')} must be positive, got {value}")
        for name in ("cells", "steps_per_epoch", "na_chunk", "lr_min", "weight_decay", "arch_weight_decay",
                     "momentum", "grad_clip", "arch_lr"):
            if getattr(self, name) < 0:
                raise ConfigError(f"--{name.replace('_', '-')} must be >= 0, got {getattr(self, name)}")
        if not 0.0 <= self.epsilon < 1.0:
            raise ConfigError(f"--epsilon must lie in [0, 1), got {self.epsilon}")
        if algo == "na-darts":
            self.neighborhood.validate(*SPACE_SHAPES[self.space])
        cells = self.cells or (5 if self.space == "201" else 8)
        if self.space == "darts" and cells < 3:
            raise ConfigError(f"the DARTS search network needs at least 3 cells, got --cells {cells}")
        return replace(self, algo=algo, order=order, cells=cells)

    @property
    def uses_neighborhood(self) -> bool:
        return ALGORITHMS[canonical_algo(self.algo)][1]

    @property
    def uses_smoothing(self) -> bool:
        return ALGORITHMS[canonical_algo(self.algo)][2]

    def to_dict(self) -> dict:
        """JSON-ready settings (written next to the results)."""
        d = asdict(self)
        d["arch_betas"] = list(self.arch_betas)
        return d
