"""REINFORCE with a per-dimension softmax policy and a moving-average baseline, as in NAS-Bench-201.

The policy is over the space's categorical encoding (:meth:`SearchSpace.encode`): one categorical
distribution per dimension with ``cardinalities[d]`` choices (NB201: 6 edges x 5 ops; DARTS: per cell
the 8 ops and the input pairs of nodes 3, 4, 5, 22 dimensions of 3 to 10 choices). Logits ``theta``
have shape (dimensions, largest cardinality), initialized to ``1e-3 * N(0, 1)``; entries past a
dimension's cardinality are masked out (probability 0, gradient 0). A candidate draws one value per
dimension from ``softmax(theta[d])`` and is :meth:`SearchSpace.decode` of the draws. After each reward (the score) the
baseline, a bias-corrected exponential moving average with momentum 0.9, is updated first, then
``theta`` takes one Adam step (torch defaults: betas 0.9 / 0.999, eps 1e-8) on the loss
``-log p(arch) * (reward - baseline)``, exactly as AutoDL-Projects' ``reinforce.py``.

The gradient of that loss is ``-(onehot(arch) - softmax(theta)) * advantage`` per edge, so the policy
needs no autograd; it is written with numpy to keep :mod:`nabench.search` importable without torch.
The learning rate defaults to 0.01, the value of NATS-Bench's scripts and the smallest of
NAS-Bench-201's grid (0.01..0.5).

Bounds (checked with :mod:`nabench.validate`): ``0 < lr <= MAX_LR`` (100; larger steps overflow the
logits), ``0 <= momentum < 1``.
"""

from __future__ import annotations

import numpy as np

from nabench import validate
from nabench.search.base import Searcher
from nabench.spaces.base import SearchSpace


class Reinforce(Searcher):
    """Policy-gradient search over independent per-edge categorical distributions."""

    name = "reinforce"

    def __init__(self, space: SearchSpace, rng: np.random.Generator, lr: float = 0.01, momentum: float = 0.9) -> None:
        super().__init__(space, rng)
        lr = validate.number("REINFORCE lr", lr, minimum=0.0, strict_min=True, maximum=validate.MAX_LR)
        momentum = validate.number("REINFORCE momentum", momentum, minimum=0.0, maximum=1.0, strict_max=True)
        self.lr, self.momentum = float(lr), float(momentum)
        cards = np.asarray(space.cardinalities, dtype=np.int64)
        self._cards = cards
        self._valid = np.arange(cards.max())[None, :] < cards[:, None]
        self._full = bool(self._valid.all())
        self.theta = 1e-3 * rng.standard_normal(self._valid.shape)
        self._m = np.zeros_like(self.theta)
        self._v = np.zeros_like(self.theta)
        self._t = 0
        self._ema_num = 0.0
        self._ema_den = 0.0
        self._actions: np.ndarray | None = None

    def probs(self) -> np.ndarray:
        """The policy: per-dimension probabilities, ``(dimensions, largest cardinality)`` (NB201: ``(6, 5)``)."""
        t = self.theta if self._full else np.where(self._valid, self.theta, -np.inf)
        z = np.exp(t - t.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)

    @property
    def baseline(self) -> float:
        """Current value of the moving-average baseline."""
        return self._ema_num / self._ema_den

    def _ask(self) -> int:
        cdf = np.cumsum(self.probs(), axis=1)
        u = self.rng.random(len(self._cards))
        self._actions = np.minimum((cdf < u[:, None] * cdf[:, -1:]).sum(axis=1), self._cards - 1)
        return int(self.space.decode(self._actions))

    def _tell(self, arch: int, score: float) -> None:
        self._ema_num = self.momentum * self._ema_num + (1 - self.momentum) * score
        self._ema_den = self.momentum * self._ema_den + (1 - self.momentum)
        advantage = score - self.baseline
        onehot = np.eye(self._valid.shape[1])[self._actions]
        grad = -(onehot - self.probs()) * advantage
        self._t += 1
        b1, b2, eps = 0.9, 0.999, 1e-8
        self._m = b1 * self._m + (1 - b1) * grad
        self._v = b2 * self._v + (1 - b2) * grad**2
        m_hat = self._m / (1 - b1**self._t)
        v_hat = self._v / (1 - b2**self._t)
        self.theta = self.theta - self.lr * m_hat / (np.sqrt(v_hat) + eps)
