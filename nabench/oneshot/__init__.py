"""Weight-sharing architecture search: supernets, DARTS / NA-DARTS / SDARTS-RS, table lookup (needs torch).

Modules, one job each:

* :mod:`~nabench.oneshot.layers`: grouped batch norm, the residual reduction block, seeded init.
* :mod:`~nabench.oneshot.nb201_supernet`: the NAS-Bench-201 supernet (fused mixed ops, alpha 6 x 5).
* :mod:`~nabench.oneshot.reference`: a plain per-edge NAS-Bench-201 supernet built from
  :mod:`nabench.models.ops`, the oracle for tests and the baseline of the speed benchmark.
* :mod:`~nabench.oneshot.darts_network`: the DARTS search network (8 ops, normal + reduction cells).
* :mod:`~nabench.oneshot.neighbors`: the differentiable neighborhood of a relaxed architecture (NA-DARTS).
* :mod:`~nabench.oneshot.smoothing`: SDARTS-RS random smoothing of the architecture weights.
* :mod:`~nabench.oneshot.algorithms`: the algorithms as settings of one bi-level step (arch + weight step).
* :mod:`~nabench.oneshot.config`: :class:`SearchConfig` with the standard DARTS defaults.
* :mod:`~nabench.oneshot.loop`: the one shared search loop, per-epoch derivation and records.
* :mod:`~nabench.oneshot.lookup`: NAS-Bench-201 table lookup of derived cells.
* :mod:`~nabench.oneshot.records`: the per-epoch CSV and the final JSON a search writes.
"""
