"""Optuna's samplers as nabench searchers: ``optuna-tpe``, ``optuna-gp``, ``optuna-random``, and ``optuna``
(any Optuna sampler class, named by its import path), each with its ``na-`` variant.

Needs the optional extra ``pip install "nabench[optuna]"`` (``optuna-gp`` also needs PyTorch, which
Optuna's GP sampler runs on); the registry loads this module the first time one of these names is used,
so the tabular core imports neither Optuna nor torch.

How a run maps onto Optuna. Each run owns one in-memory study (direction: maximize the signal) over the
space's categorical encoding: one ``CategoricalDistribution`` with choices ``0 .. c-1`` per entry ``c``
of ``space.cardinalities``. ``ask`` asks the study for a trial with those fixed distributions and decodes
its vector with ``space.decode`` (every in-range vector is a valid arch, by the SearchSpace contract);
``tell`` tells the trial its score (a non-finite score is told as a failed trial). The searcher thus runs
on every space (NB201, DARTS, NATS sss) through the protocol alone.

Seeding. The sampler's ``seed`` is one integer drawn from the run's Generator, so the same run seed
gives the same trajectory in any process; Optuna's global random state is never used. TPE, random and
GP (on CPU) samplers are deterministic given that seed.

Decisions: a sampler may propose an arch it has already seen; it is told the same score again and the
loop charges the repeat nothing, as for every searcher. TPE and GP start with ``n_startup_trials=10``
random trials (Optuna's default, and nabench BO's ``n_init``). Optuna logs every trial at INFO level;
the first study lowers Optuna's logger to WARNING (Optuna offers no per-study switch).
``n_startup_trials`` is bounded to 0..:data:`MAX_STARTUP_TRIALS` (100,000), as the other searchers' sizes.
"""

from __future__ import annotations

import importlib
import inspect
import math
import warnings
from typing import Any

import numpy as np

from nabench import validate
from nabench.errors import ConfigError
from nabench.search.base import Searcher
from nabench.spaces.base import SearchSpace

#: Largest ``n_startup_trials`` of the TPE and GP samplers.
MAX_STARTUP_TRIALS = 100_000
INSTALL_HINT = 'pip install "nabench[optuna]"'


def _optuna() -> Any:
    try:
        import optuna
    except ImportError:
        raise ConfigError(f"the optuna searchers need Optuna: {INSTALL_HINT}") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def sampler_class(path: str) -> type:
    """The Optuna sampler class at ``path`` (``module.Class``, e.g. ``optuna.samplers.QMCSampler``)."""
    optuna = _optuna()
    module, _, attr = validate.string("optuna sampler", path).rpartition(".")
    try:
        cls = getattr(importlib.import_module(module), attr) if module else None
    except (ImportError, AttributeError, ValueError):
        cls = None
    if not (isinstance(cls, type) and issubclass(cls, optuna.samplers.BaseSampler)):
        raise ConfigError(f"optuna sampler {path!r} is not an Optuna sampler class; give its import path, e.g. "
                          "optuna.samplers.TPESampler")
    return cls


class OptunaSearcher(Searcher):
    """Any Optuna sampler (``sampler``: its class's import path) asked and told on the space's encoding."""

    name = "optuna"

    def __init__(self, space: SearchSpace, rng: np.random.Generator,
                 sampler: str = "optuna.samplers.TPESampler") -> None:
        super().__init__(space, rng)
        self.sampler = sampler
        self._start(sampler_class(sampler), {})

    def _start(self, cls: type, kwargs: dict[str, Any]) -> None:
        optuna = _optuna()
        if "seed" in inspect.signature(cls).parameters:
            kwargs = dict(kwargs, seed=int(self.rng.integers(2**32)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            self._study = optuna.create_study(direction="maximize", sampler=cls(**kwargs))
        dist = optuna.distributions.CategoricalDistribution
        self._dims = [f"x{i}" for i in range(len(self.space.cardinalities))]
        self._dists = {d: dist(tuple(range(int(c)))) for d, c in zip(self._dims, self.space.cardinalities)}
        self._trial: Any = None
        self._failed = optuna.trial.TrialState.FAIL

    def _ask(self) -> int:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Optuna's experimental-feature notes, once per trial
            self._trial = self._study.ask(self._dists)
        vector = np.array([self._trial.params[d] for d in self._dims], dtype=np.int64)
        return int(self.space.decode(vector))

    def _tell(self, arch: int, score: float) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if math.isfinite(score):
                self._study.tell(self._trial, score)
            else:
                self._study.tell(self._trial, state=self._failed)
        self._trial = None


class OptunaTPE(OptunaSearcher):
    """Optuna's tree-structured Parzen estimator (``TPESampler``)."""

    name = "optuna-tpe"

    def __init__(self, space: SearchSpace, rng: np.random.Generator, n_startup_trials: int = 10,
                 multivariate: bool = False) -> None:
        Searcher.__init__(self, space, rng)
        self.n_startup_trials = validate.integer("optuna-tpe n_startup_trials", n_startup_trials, minimum=0,
                                                 maximum=MAX_STARTUP_TRIALS)
        self.multivariate = validate.boolean("optuna-tpe multivariate", multivariate)
        optuna = _optuna()
        self._start(optuna.samplers.TPESampler, {"n_startup_trials": n_startup_trials, "multivariate": multivariate})


class OptunaGP(OptunaSearcher):
    """Optuna's Gaussian-process sampler (``GPSampler``; runs on PyTorch, slow beyond a few hundred trials)."""

    name = "optuna-gp"

    def __init__(self, space: SearchSpace, rng: np.random.Generator, n_startup_trials: int = 10) -> None:
        Searcher.__init__(self, space, rng)
        self.n_startup_trials = validate.integer("optuna-gp n_startup_trials", n_startup_trials, minimum=0,
                                                 maximum=MAX_STARTUP_TRIALS)
        optuna = _optuna()
        try:
            import torch  # noqa: F401  (GPSampler imports it lazily; fail here with the fix instead)
        except ImportError:
            raise ConfigError('optuna-gp needs PyTorch (Optuna\'s GP sampler runs on it): pip install '
                              '"nabench[torch]"') from None
        self._start(optuna.samplers.GPSampler, {"n_startup_trials": n_startup_trials})


class OptunaRandom(OptunaSearcher):
    """Optuna's ``RandomSampler`` (uniform over the encoding: a check that the Optuna path matches ``rs``)."""

    name = "optuna-random"

    def __init__(self, space: SearchSpace, rng: np.random.Generator) -> None:
        Searcher.__init__(self, space, rng)
        self._start(_optuna().samplers.RandomSampler, {})


#: The searchers of this module, by name (what the registry loads on first use of one of the names).
SEARCHERS: dict[str, type[Searcher]] = {c.name: c for c in (OptunaTPE, OptunaGP, OptunaRandom, OptunaSearcher)}
