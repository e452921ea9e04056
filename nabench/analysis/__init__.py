"""Analysis of the tabular landscape and of search runs.

* :mod:`.stats`: rank correlations with bootstrap confidence intervals, top fractions, top-k picks.
* :mod:`.flatness`: the flatness-vs-test study over all cells (signal, neighborhood aggregates,
  flatness statistics against 200-epoch test accuracy).
* :mod:`.curves`: anytime curves and final accuracies from runner results.
* :mod:`.plots`: the figures (matplotlib, Agg canvas, no pyplot state).
"""
