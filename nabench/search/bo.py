"""Bayesian optimization with a Gaussian process over categorical edges and expected improvement.

Model. A zero-mean GP on standardized scores with the exponentiated Hamming kernel for categorical
inputs, ``k(a, b) = exp(-theta * d_H(a, b) / d)``, where ``d_H`` counts the dimensions of the space's
categorical encoding (:meth:`SearchSpace.encode`; ``d`` of them) that differ: NB201's 6 edge ops, or
DARTS' 16 ops and 6 input pairs
(the kernel of COMBO / CoCaBO, positive definite for any ``theta > 0``), plus a noise variance on the
diagonal (isomorphic cells and seeds make the signal noisy). ``theta`` and the noise are chosen by
maximizing the log marginal likelihood over a fixed grid (deterministic, no optimizer restarts),
re-chosen each time the number of observations has grown by half since the last choice.
Linear algebra is scipy's Cholesky (``cho_factor`` / ``cho_solve`` / ``solve_triangular``).

Acquisition. Expected improvement over the best standardized score, maximized over candidates
that have not been evaluated:

* ``acquisition="mutation"`` (default): the one-edit neighbors of the ``n_parents`` best cells
  plus ``n_random`` uniformly random cells (:meth:`SearchSpace.sample`). This is the local acquisition optimization of
  BANANAS / NASLib, and it keeps a step at O(n * 350) kernel entries, which is what lets a 500-run
  grid finish in seconds.
* ``acquisition="exhaustive"``: all unevaluated cells of an enumerable space (exact EI argmax,
  O(n * 15,625) per step on NB201; about 30x slower, for studies of the approximation; refused on the
  DARTS space).

Hamming distances are products of one-hot rows (``d - A @ B.T``), so the kernel is one BLAS call;
the evaluated archs are kept as a list and a set (sparse per-run memory).

The first ``n_init`` candidates are distinct uniformly random cells.

Bounds (:data:`BOUNDS`, checked with :mod:`nabench.validate`): ``1 <= n_init <= 10,000`` and
``1 <= n_parents <= 10,000`` (the GP is O(n^3) in the observations; no budget reaches these), ``0 <=
n_random <= 100,000`` (a pool of 10^5 cells is about 100 MB of kernel entries per step at 150 observations;
10^9 would exhaust memory).
"""

from __future__ import annotations

import numpy as np
from scipy import linalg
from scipy.special import ndtr

from nabench import validate
from nabench.errors import ConfigError
from nabench.search.base import Searcher
from nabench.spaces.base import SearchSpace, onehot

ACQUISITIONS: tuple[str, ...] = ("mutation", "exhaustive")
_THETAS = np.array([0.5, 1.0, 2.0, 4.0, 8.0, 16.0])
_NOISES = np.array([1e-4, 1e-2, 1e-1])
#: hyperparameter -> (smallest, largest) accepted value (see the module docstring)
BOUNDS: dict[str, tuple[int, int]] = {"n_init": (1, 10_000), "n_parents": (1, 10_000), "n_random": (0, 100_000)}


class BayesOpt(Searcher):
    """GP-EI over the cells of a space, on its categorical encoding."""

    name = "bo"

    def __init__(self, space: SearchSpace, rng: np.random.Generator, n_init: int = 10, acquisition: str = "mutation",
                 n_parents: int = 10, n_random: int = 100) -> None:
        super().__init__(space, rng)
        n_init, n_parents, n_random = (validate.integer(f"BO {k}", v, minimum=BOUNDS[k][0], maximum=BOUNDS[k][1])
                                       for k, v in (("n_init", n_init), ("n_parents", n_parents),
                                                    ("n_random", n_random)))
        if acquisition not in ACQUISITIONS:
            raise ConfigError(f"unknown BO acquisition {acquisition!r}; choose {' or '.join(ACQUISITIONS)}")
        if acquisition == "exhaustive" and not space.enumerable:
            raise ConfigError(f"BO acquisition 'exhaustive' needs an enumerable space; the {space.name} space has "
                              f"{space.size:.3g} cells: use acquisition 'mutation'")
        self.n_init, self.acquisition = int(n_init), acquisition
        self.n_parents, self.n_random = int(n_parents), int(n_random)
        self.archs: list[int] = []
        self.scores: list[float] = []
        self.seen: set[int] = set()
        self._n_dims = len(space.cardinalities)
        self._onehot = np.zeros((0, int(sum(space.cardinalities))))
        self._dist = np.zeros((0, 0))
        self.theta, self.noise = 4.0, 1e-2
        self._fitted_at = 0

    # ------------------------------------------------------------------ model
    def _kernel(self, dist: np.ndarray, theta: float) -> np.ndarray:
        return np.exp(-theta * dist / self._n_dims)

    def _fit(self, y: np.ndarray) -> None:
        """Choose (theta, noise) on the grid by log marginal likelihood."""
        best, n = -np.inf, len(y)
        for theta in _THETAS:
            k0 = self._kernel(self._dist, theta)
            for noise in _NOISES:
                try:
                    c, low = linalg.cho_factor(k0 + noise * np.eye(n), lower=True, check_finite=False)
                except linalg.LinAlgError:
                    continue
                alpha = linalg.cho_solve((c, low), y, check_finite=False)
                lml = -0.5 * y @ alpha - np.log(np.diag(c)).sum()
                if lml > best:
                    best, self.theta, self.noise = lml, float(theta), float(noise)
        self._fitted_at = n

    def _unseen(self) -> np.ndarray:
        seen = np.zeros(self.space.size, dtype=bool)
        seen[np.fromiter(self.seen, dtype=np.int64, count=len(self.seen))] = True
        return np.flatnonzero(~seen)

    def _candidates(self) -> np.ndarray:
        if self.acquisition == "exhaustive":
            return self._unseen()
        top = np.argsort(-np.asarray(self.scores), kind="stable")[: self.n_parents]
        parents = np.asarray(self.archs, dtype=np.int64)[top]
        pool = np.concatenate([np.asarray(self.space.neighbors(parents), dtype=np.int64).ravel(),
                               np.asarray(self.space.sample(self.rng, self.n_random), dtype=np.int64)])
        pool = np.unique(pool)
        pool = pool[~np.isin(pool, np.asarray(self.archs, dtype=np.int64))]
        if len(pool):
            return pool
        if self.space.enumerable:
            return self._unseen()
        return np.array([self.space.sample(self.rng)], dtype=np.int64)

    def _hamming(self, enc_a: np.ndarray, oh_b: np.ndarray) -> np.ndarray:
        return self._n_dims - np.rint(onehot(enc_a, self.space.cardinalities) @ oh_b.T)

    def expected_improvement(self, cand: np.ndarray) -> np.ndarray:
        """EI of candidate cells under the current GP (standardized scale)."""
        y = np.asarray(self.scores)
        sd = y.std()
        ys = (y - y.mean()) / (sd if sd > 0 else 1.0)
        if len(ys) >= max(self.n_init, 2) and len(ys) >= 1.5 * self._fitted_at:
            self._fit(ys)
        c, low = linalg.cho_factor(self._kernel(self._dist, self.theta) + self.noise * np.eye(len(ys)),
                                   lower=True, check_finite=False)
        kc = self._kernel(self._hamming(self.space.encode(np.asarray(cand, dtype=np.int64)), self._onehot),
                          self.theta)
        mu = kc @ linalg.cho_solve((c, low), ys, check_finite=False)
        v = linalg.solve_triangular(c, kc.T, lower=True, check_finite=False)
        sigma = np.sqrt(np.maximum(1.0 - (v * v).sum(axis=0), 1e-12))
        z = (mu - ys.max()) / sigma
        return sigma * (z * ndtr(z) + np.exp(-0.5 * z * z) / np.sqrt(2 * np.pi))

    # ------------------------------------------------------------------ ask / tell
    def _ask(self) -> int:
        if len(self.archs) < self.n_init:
            for _ in range(1000):
                a = self.space.sample(self.rng)
                if a not in self.seen:
                    return a
        cand = self._candidates()
        return int(cand[int(np.argmax(self.expected_improvement(cand)))])

    def _tell(self, arch: int, score: float) -> None:
        if arch in self.seen:
            return
        n = len(self.archs)
        row = onehot(self.space.encode(np.array([arch], dtype=np.int64)), self.space.cardinalities)
        new = self._n_dims - np.rint(row @ self._onehot.T)[0]
        self._onehot = np.concatenate([self._onehot, row])
        dist = np.zeros((n + 1, n + 1))
        dist[:n, :n] = self._dist
        dist[n, :n] = dist[:n, n] = new
        self._dist = dist
        self.archs.append(arch)
        self.scores.append(score)
        self.seen.add(arch)
