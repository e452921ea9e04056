"""The flatness-vs-test study: does a neighborhood-aggregated signal rank cells better than the signal?

Over all 15,625 cells: the plain search signal (x-valid accuracy at fidelity 12 or 200), its
neighborhood aggregates and the flatness statistics (from :mod:`nabench.neighborhood`), each
against 200-epoch test accuracy, as rank correlations with bootstrap CIs
(:func:`nabench.analysis.stats.correlation_table`), over all cells and over the top fractions by
signal, plus the test accuracy of the top-k picks; with and without isomorphism deduplication.

Decisions (the issue leaves them open):

* Signal and target per dataset (:data:`STUDIES`): CIFAR-10 searches on ``cifar10-valid`` x-valid
  and reports ``cifar10`` ori-test (the usual "CIFAR-10 test accuracy"); CIFAR-100 and
  ImageNet16-120 search on x-valid and report x-test, the disjoint other half of the test set.
  The target is always the 200-epoch seed mean.
* Aggregates are over the ball of radius r *including the cell itself* (the mean over self and its
  24 radius-1 neighbors is the aggregate DESIGN.md describes; r = 2 adds the 240 cells at distance
  2); flatness statistics compare the cell with its neighbors only.
* Flatness statistics are *oriented* so that larger means flatter (``flat_*`` = minus the
  drop / std / worst-case drop of :func:`nabench.neighborhood.flatness`): a positive correlation then reads "flatter cells test better", and top-k
  picks by a flatness column pick the flattest cells (to show what flatness alone selects).
* Deduplication keeps one cell per isomorphism class, the one with the lowest official index, and
  computes aggregates over deduplicated neighborhoods (each class counted once). Isomorphic cells
  were trained separately, so their accuracies differ; keeping all of them weights classes by size.
* Subsets "top p" hold the ``ceil(p * n)`` cells with the highest *signal* in the population
  (:func:`nabench.analysis.stats.top_count`, the one rounding rule; fixed before resampling). Values
  are compared at the data's precision (1e-6 percent, :func:`nabench.analysis.stats.at_data_precision`)
  before any ranking, so seed means tied up to float noise are ties. Top-k picks are made within the
  subset; a k larger than the subset gives NaN.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from nabench import neighborhood
from nabench.analysis.stats import correlation_table, top_fraction, top_k_mean
from nabench.errors import ConfigError
from nabench.spaces import nb201
from nabench.spaces.base import TASK_ALIASES, TASKS

if TYPE_CHECKING:
    from nabench.tables.benchmark import NB201Benchmark


@dataclass(frozen=True)
class StudySpec:
    """Where a dataset's search signal and reported test accuracy come from in the tables."""

    name: str
    signal_dataset: str
    signal_split: str
    test_dataset: str
    test_split: str


#: The three studies, keyed by the dataset name users pass: the NB201 tasks of the one task table.
STUDIES: dict[str, StudySpec] = {
    name: StudySpec(name, t.search_dataset, t.search_split, t.report_dataset, t.report_split)
    for name, t in TASKS["nb201"].items()
}
_ALIASES = TASK_ALIASES
FIDELITIES: tuple[int, ...] = TASKS["nb201"]["cifar10"].fidelities


def study_spec(dataset: str) -> StudySpec:
    """The :class:`StudySpec` of a dataset name (``cifar10-valid`` is accepted for ``cifar10``)."""
    name = _ALIASES.get(dataset, dataset)
    if name not in STUDIES:
        raise ConfigError(
            f"unknown dataset {dataset!r} for the flatness study; choose one of {', '.join(STUDIES)} "
            "(cifar10 searches on cifar10-valid x-valid and reports cifar10 ori-test)"
        )
    return STUDIES[name]


def check_fidelity(fidelity: int) -> int:
    """Validate a signal fidelity (12 or 200 epochs)."""
    try:
        f = int(fidelity)
    except (TypeError, ValueError):
        f = -1
    if f not in FIDELITIES or f != fidelity:
        raise ConfigError(f"fidelity must be 12 or 200 (epochs of the search signal), got {fidelity!r}")
    return f


@dataclass(frozen=True)
class StudyConfig:
    """What the study computes; the defaults are the issue's (r = 1, 2; mean, min, median; top 1/5/10%)."""

    radii: tuple[int, ...] = (1, 2)
    aggregations: tuple[str, ...] = ("mean", "min", "median")
    fractions: tuple[float, ...] = (1.0, 0.10, 0.05, 0.01)
    top_k: tuple[int, ...] = (1, 10, 100)
    n_resamples: int = 1000
    confidence_level: float = 0.95
    dedup: tuple[bool, ...] = (False, True)

    def __post_init__(self) -> None:
        if not self.radii or any(r not in (1, 2) for r in self.radii):
            raise ConfigError(f"radii must be a subset of (1, 2), got {self.radii}")
        if not self.fractions or any(not 0 < p <= 1 for p in self.fractions):
            raise ConfigError(f"fractions must lie in (0, 1], got {self.fractions}")
        if not self.top_k or any(int(k) != k or k < 1 for k in self.top_k):
            raise ConfigError(f"top_k must be positive integers, got {self.top_k}")
        if not self.dedup:
            raise ConfigError("dedup must hold False, True or both")


def subset_name(fraction: float) -> str:
    """``all`` for 1.0, else ``top10%`` / ``top5%`` / ``top1%`` / ``top0.5%``."""
    return "all" if fraction >= 1.0 else f"top{100 * fraction:g}%"


def representatives(order: nb201.OfficialOrder) -> np.ndarray:
    """Official indices of one cell per isomorphism class: the lowest index of each class (6,466)."""
    ids = order.canonical_ids()
    _, first = np.unique(ids, return_index=True)
    return np.sort(first).astype(np.int64)


def cell_predictors(
    signal: np.ndarray, order: nb201.OfficialOrder, config: StudyConfig = StudyConfig(), *, dedup: bool = False
) -> pd.DataFrame:
    """Per-cell predictors (rows = official indices): the signal, its aggregates, oriented flatness.

    Columns: ``signal``; ``r{r}_{agg}`` for each radius and aggregation (ball of radius r, cell
    included); and the flatness statistics of :func:`nabench.neighborhood.flatness`, negated so that
    larger is flatter: ``r{r}_flat_drop`` = neighbor mean minus the cell, ``r{r}_flat_std`` = minus
    the neighbor std, ``r{r}_flat_worst`` = worst neighbor minus the cell.
    """
    s = np.asarray(signal, dtype=np.float64)
    if s.shape != (nb201.N_ARCHS,):
        raise ConfigError(f"the signal must hold one value per cell ({nb201.N_ARCHS}), got shape {s.shape}")
    cols: dict[str, np.ndarray] = {"signal": s}
    for r in config.radii:
        for agg in config.aggregations:
            spec = neighborhood.NeighborhoodSpec(radius=r, agg=agg, include_self=True, dedup=dedup)
            cols[f"r{r}_{agg}"] = neighborhood.aggregate(s, order, spec)
        flat = neighborhood.flatness(s, order, radius=r, dedup=dedup)
        cols[f"r{r}_flat_drop"] = -flat.drop
        cols[f"r{r}_flat_std"] = -flat.std
        cols[f"r{r}_flat_worst"] = -flat.worst_drop
    return pd.DataFrame(cols)


@dataclass
class StudyResult:
    """The study table (one row per dedup x subset x predictor) and the per-cell data behind it.

    ``cells`` holds all 15,625 cells (official index order): the predictors without deduplication,
    ``test``, the isomorphism ``class_id`` and whether the cell represents its class in dedup rows.
    """

    table: pd.DataFrame
    cells: pd.DataFrame
    spec: StudySpec | None = None
    fidelity: int | None = None
    config: StudyConfig = field(default_factory=StudyConfig)


def study(
    signal: np.ndarray,
    test: np.ndarray,
    order: nb201.OfficialOrder,
    *,
    rng: np.random.Generator,
    config: StudyConfig = StudyConfig(),
    progress: bool = False,
) -> StudyResult:
    """Run the study on given per-cell ``signal`` and ``test`` arrays (official index order).

    ``rng`` drives every bootstrap resample (one child generator per dedup x subset block, spawned
    in a fixed order, so a block's numbers do not depend on which other blocks are computed).
    ``progress`` shows a bar on stderr (one step per predictor and block bootstrapped).
    """
    if not isinstance(rng, np.random.Generator):
        raise ConfigError("pass an explicit numpy.random.Generator as rng (e.g. numpy.random.default_rng(0))")
    t = np.asarray(test, dtype=np.float64)
    if t.shape != (nb201.N_ARCHS,):
        raise ConfigError(f"the test accuracies must hold one value per cell ({nb201.N_ARCHS}), got shape {t.shape}")
    blocks = [(d, p) for d in config.dedup for p in config.fractions]
    populations = {d: _population(signal, t, order, config, d) for d in config.dedup}
    rows = []
    bar = tqdm(total=sum(populations[d][0].shape[1] for d, _ in blocks), desc="flatness bootstrap",
               unit="predictor", file=sys.stderr, disable=not progress or not config.n_resamples, leave=False)
    for (dedup, fraction), child in zip(blocks, rng.spawn(len(blocks))):
        pred, target = populations[dedup]
        pos = top_fraction(pred["signal"].to_numpy(), fraction)
        sub = {c: pred[c].to_numpy()[pos] for c in pred.columns}
        table = correlation_table(
            sub, target[pos], rng=child, n_resamples=config.n_resamples,
            confidence_level=config.confidence_level, baseline="signal", progress=bar,
        )
        for k in config.top_k:
            table[f"top{k}_test"] = [top_k_mean(sub[c], target[pos], k) if k <= pos.size else np.nan
                                     for c in table["predictor"]]
        table.insert(0, "dedup", dedup)
        table.insert(1, "subset", subset_name(fraction))
        table["best_test"] = float(target[pos].max())
        rows.append(table)
    bar.close()
    every = np.arange(nb201.N_ARCHS)
    frame = (populations[False][0] if False in populations else cell_predictors(signal, order, config)).copy()
    frame.insert(0, "arch_index", every)
    frame["test"] = t
    frame["class_id"] = order.canonical_ids()
    frame["representative"] = np.isin(every, representatives(order))
    return StudyResult(table=pd.concat(rows, ignore_index=True), cells=frame, config=config)


def _population(
    signal: np.ndarray, test: np.ndarray, order: nb201.OfficialOrder, config: StudyConfig, dedup: bool
) -> tuple[pd.DataFrame, np.ndarray]:
    """Predictors and test accuracy of the cells a study block ranks: all, or one per class."""
    pred = cell_predictors(signal, order, config, dedup=dedup)
    if not dedup:
        return pred, test
    keep = representatives(order)
    return pred.iloc[keep].reset_index(drop=True), test[keep]


def load_signal_and_test(bench: NB201Benchmark, dataset: str, fidelity: int) -> tuple[np.ndarray, np.ndarray, StudySpec]:
    """The per-cell search signal and 200-epoch test accuracy of a study, from the benchmark tables."""
    spec = study_spec(dataset)
    fid = check_fidelity(fidelity)
    every = np.arange(bench.n_archs)
    signal = bench.accuracy(every, dataset=spec.signal_dataset, split=spec.signal_split, fidelity=fid)
    test = bench.accuracy(every, dataset=spec.test_dataset, split=spec.test_split, fidelity=200)
    return np.asarray(signal, float), np.asarray(test, float), spec


def run_study(
    bench: NB201Benchmark,
    dataset: str,
    fidelity: int,
    *,
    rng: np.random.Generator,
    config: StudyConfig = StudyConfig(),
    progress: bool = False,
) -> StudyResult:
    """The study of one dataset and signal fidelity on the installed benchmark."""
    signal, test, spec = load_signal_and_test(bench, dataset, fidelity)
    res = study(signal, test, bench.order, rng=rng, config=config, progress=progress)
    res.table.insert(0, "dataset", spec.name)
    res.table.insert(1, "fidelity", int(fidelity))
    return replace(res, spec=spec, fidelity=int(fidelity))


def neighborhood_grid(signal: np.ndarray, order: nb201.OfficialOrder, index: int) -> np.ndarray:
    """``(6, 5)`` grid: entry ``[e, o]`` is the signal of the cell with edge ``e`` set to op ``o``.

    The entries at the cell's own ops all equal the cell's signal (the center).
    """
    s = np.asarray(signal, dtype=np.float64)
    ops = np.array(order.ops(index))
    cand = np.repeat(ops[None, None, :], nb201.N_OPS, axis=1).repeat(nb201.N_EDGES, axis=0)
    for e in range(nb201.N_EDGES):
        cand[e, :, e] = np.arange(nb201.N_OPS)
    idx = order.resolve(cand.reshape(-1, nb201.N_EDGES))
    return s[idx].reshape(nb201.N_EDGES, nb201.N_OPS)


def format_table(table: pd.DataFrame) -> str:
    """The study table as aligned text: one block per dedup x subset, CI in brackets."""
    def ci(v: float, lo: float, hi: float) -> str:
        return f"{v:+.3f}" if not np.isfinite(lo) else f"{v:+.3f} [{lo:+.3f},{hi:+.3f}]"

    out = []
    ks = [c for c in table.columns if c.startswith("top") and c.endswith("_test")]
    for (dedup, subset), g in table.groupby(["dedup", "subset"], sort=False):
        head = f"== {'dedup (one cell per class)' if dedup else 'all cells'} | {subset} | n={int(g['n'].iloc[0])}"
        view = pd.DataFrame({
            "predictor": g["predictor"],
            "kendall tau [95% CI]": [ci(*r) for r in g[["kendall_tau", "kendall_lo", "kendall_hi"]].to_numpy()],
            "spearman rho [95% CI]": [ci(*r) for r in g[["spearman_rho", "spearman_lo", "spearman_hi"]].to_numpy()],
            "tau - signal [95% CI]": [ci(*r) for r in g[["d_kendall", "d_kendall_lo", "d_kendall_hi"]].to_numpy()],
            **{k.replace("_test", " test"): g[k].map(lambda v: f"{v:.2f}" if np.isfinite(v) else "-") for k in ks},
        })
        out.append(head + f" | best test {g['best_test'].iloc[0]:.2f}\n" + view.to_string(index=False))
    return "\n\n".join(out)
