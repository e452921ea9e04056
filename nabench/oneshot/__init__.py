"""Weight-sharing architecture search: supernets, DARTS / NA-DARTS / SDARTS-RS, table lookup (needs torch).

Modules, one job each:

* :mod:`~nabench.oneshot.layers`: grouped batch norm, the residual reduction block (weights are drawn by
  :func:`nabench.train.initialization.init_parameters`).
* :mod:`~nabench.oneshot.nb201_supernet`: the NAS-Bench-201 supernet (fused mixed ops, alpha 6 x 5).
* :mod:`~nabench.oneshot.reference`: a plain per-edge NAS-Bench-201 supernet built from
  :mod:`nabench.models.ops`, the oracle for tests and the baseline of the speed benchmark.
* :mod:`~nabench.oneshot.darts_network`: the DARTS search network (8 ops, normal + reduction cells).
* :mod:`~nabench.oneshot.moves`: which neighbors an NA-DARTS step evaluates: the space object's own
  neighbors of the derived cell, as sequences of its radius-1 neighbor numbers (host side, torch-free).
* :mod:`~nabench.oneshot.neighbors`: those neighbors built on the relaxed weights, differentiably (NA-DARTS).
* :mod:`~nabench.oneshot.smoothing`: SDARTS-RS random smoothing of the architecture weights.
* :mod:`~nabench.oneshot.config`: the algorithms, :class:`SearchConfig` with the standard DARTS defaults
  and the space object it searches, and the NA-DARTS :class:`Neighborhood` settings in the tabular
  neighborhood vocabulary (torch-free).
* :mod:`~nabench.oneshot.objectives`: the alpha objectives (DARTS's center loss, NA-DARTS's aggregate).
* :mod:`~nabench.oneshot.steps`: the one bi-level iteration (first or second order alpha step, weight step).
* :mod:`~nabench.oneshot.loop`: building a search from a config and the one shared epoch loop.
* :mod:`~nabench.oneshot.runner`: a whole search (:func:`~nabench.oneshot.runner.run_oneshot`): per-epoch
  derivation, lookup, records, resume.
* :mod:`~nabench.oneshot.lookup`: benchmark lookup of derived cells (NAS-Bench-201 tables, the NB301 surrogate).
* :mod:`~nabench.oneshot.records`: the per-epoch CSV and the JSON files a search writes.
* :mod:`~nabench.oneshot.checkpoint`: per-epoch checkpoints for exact resumption.
* :mod:`~nabench.oneshot.data`: the search splits as loaders from :mod:`nabench.vision`.
"""
