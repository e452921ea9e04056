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

The space is a space object (:func:`search_space`: ``NB201Space`` or ``DartsSpace``, found through the
one ``--space`` table :func:`nabench.spaces.benchmark_name`), and NA-DARTS's :class:`Neighborhood` uses
the tabular neighborhood vocabulary (radius as a ball unless ``exact``, ``include_self``, ``k`` sampled,
``agg``) over that space's own neighbors (:mod:`nabench.oneshot.moves`, :mod:`nabench.oneshot.neighbors`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from typing import Any

from nabench import validate
from nabench.errors import ConfigError
from nabench.neighborhood import LOSS_AGGREGATES, NeighborhoodSpec
from nabench.spaces import benchmark_name

AGGREGATES: tuple[str, ...] = tuple(LOSS_AGGREGATES)  # the shared vocabulary (nabench.neighborhood)
#: SDARTS-RS perturbation radius (the SDARTS paper's default).
DEFAULT_EPSILON = 0.03
#: Supernet size defaults per space (by the space object's name): NB201 cells per stage, DARTS cells in all.
DEFAULT_CELLS: dict[str, int] = {"nb201": 5, "darts": 8}

#: name -> (order, uses the neighborhood objective, uses random smoothing)
ALGORITHMS: dict[str, tuple[int, bool, bool]] = {
    "darts-1st": (1, False, False),
    "darts-2nd": (2, False, False),
    "sdarts-rs": (1, False, True),
    "na-darts": (1, True, False),
}
ALIASES: dict[str, str] = {"darts": "darts-2nd"}
#: Datasets a search can run on, with their class counts.
DATASETS: dict[str, int] = {"cifar10": 10, "cifar100": 100, "ImageNet16-120": 120}


@lru_cache(maxsize=None)
def _space_of_benchmark(benchmark: str) -> Any:
    from nabench.spaces import darts, nb201

    if benchmark == "nb201":
        # data-free: archs are base-5 codes in this order (NA-DARTS needs only the cell structure; the
        # official index of a derived cell comes from the store's lookup)
        return nb201.NB201Space(nb201.OfficialOrder(nb201.all_ops()))
    if benchmark == "nb301":
        return darts.DartsSpace()
    raise ConfigError(f"one-shot search has supernets for the NAS-Bench-201 space (--space 201) and the DARTS "
                      f"space (--space darts), not for {benchmark}")


def search_space(space: str) -> Any:
    """The space object (:class:`~nabench.spaces.base.SearchSpace`) of a ``--space`` value, through the one
    ``--space`` table (:func:`nabench.spaces.benchmark_name`): ``201`` -> NB201Space, ``darts``/``301`` ->
    DartsSpace. Cached: one object per space."""
    return _space_of_benchmark(benchmark_name(space))


@dataclass(frozen=True)
class Neighborhood:
    """NA-DARTS's neighborhood, in the vocabulary of the tabular :class:`~nabench.neighborhood.NeighborhoodSpec`.

    ``radius``: the ball of cells at distance ``1..radius`` from the derived cell (``exact``: only those at
    ``radius``); ``include_self``: the relaxed architecture itself is a term; ``k``: members sampled per alpha
    step (None: all of them); ``agg``: the aggregate of the members' *losses*, ``mean``, ``max`` (worst
    case) or ``median`` (:data:`nabench.neighborhood.LOSS_AGGREGATES`); ``fraction``: the share ``beta`` of
    the way to each neighbor that the relaxed neighbor moves (NA-DARTS's own setting; 1 = the neighbor's
    weights). :mod:`nabench.oneshot.neighbors` defines each exactly. Defaults: radius 1, 4 sampled, center
    included, mean, all the mass moved.
    """

    radius: int = 1
    include_self: bool = True
    k: int | None = 4
    agg: str = "mean"
    exact: bool = False
    fraction: float = 1.0

    def validate(self, space: Any) -> "Neighborhood":
        """Check the settings (one-line errors naming the flags) against a space object."""
        from nabench.oneshot.moves import check_radius, moves_for

        validate.integer("--radius", self.radius, minimum=1)
        if self.k is not None:
            validate.integer("--k (neighbors sampled per alpha step; None = all)", self.k, minimum=1)
        validate.number("--mass-fraction", self.fraction, minimum=0.0, maximum=1.0, strict_min=True)
        validate.choice("--agg", self.agg, AGGREGATES)
        validate.boolean("include_self (--no-self)", self.include_self)
        validate.boolean("exact (--exact)", self.exact)
        check_radius(moves_for(space), self.radius, self.exact)
        return self

    def spec(self) -> NeighborhoodSpec:
        """The tabular spec with the same members (radius 1 or 2) and the accuracy mirror of ``agg``."""
        return NeighborhoodSpec(radius=self.radius, include_self=self.include_self, k=self.k,
                                agg=LOSS_AGGREGATES[self.agg], exact=self.exact)


def canonical_algo(name: str) -> str:
    """The algorithm's canonical name (resolving aliases), or a ConfigError listing the valid ones."""
    key = ALIASES.get(name.strip().lower(), name.strip().lower())
    if key not in ALGORITHMS:
        valid = ", ".join(list(ALGORITHMS) + [f"{a} (= {b})" for a, b in ALIASES.items()])
        raise ConfigError(f"unknown algorithm {name!r}; use one of {valid}")
    return key


@dataclass(frozen=True)
class SearchConfig:
    """Everything that determines a search (with the seed, the same config gives the same result).

    ``space`` is a ``--space`` value (``201``, ``darts``, or any other name :func:`nabench.spaces.benchmark_name`
    knows); :meth:`resolved` replaces it by the space object's name (``nb201``, ``darts``) and
    :attr:`search_space` is the object itself.
    """

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
        space = search_space(self.space)
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
            self.neighborhood.validate(space)
        cells = self.cells or DEFAULT_CELLS[space.name]
        if space.name == "darts" and cells < 3:
            raise ConfigError(f"the DARTS search network needs at least 3 cells, got --cells {cells}")
        return replace(self, space=space.name, algo=algo, order=order, cells=cells)

    @property
    def search_space(self) -> Any:
        """The space object searched (:func:`search_space`; ``space`` holds its name once resolved)."""
        return search_space(self.space)

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
