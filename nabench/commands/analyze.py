"""``nabench analyze flatness --dataset D --fidelity F``: the flatness-vs-test study of one dataset."""

from __future__ import annotations

import argparse

from nabench.commands.common import add_data_dir
from nabench.errors import ConfigError

DEFAULT_OUT = "nabench-results/flatness"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("analyze", help="landscape analyses (the flatness-vs-test study)",
                       description="Analyses of the tabular landscape.")
    inner = p.add_subparsers(dest="analysis", metavar="ANALYSIS")
    f = inner.add_parser(
        "flatness", help="rank correlation of signal, neighborhood aggregates and flatness with test accuracy",
        description="Over all 15,625 cells: Kendall tau and Spearman rho (bootstrap percentile CIs) of the search "
                    "signal, its radius-1/2 mean/min/median aggregates and the flatness statistics against 200-epoch "
                    "test accuracy; over all cells and the top 10/5/1% by signal; test accuracy of the top-k picks; "
                    "with and without isomorphism deduplication. Writes a CSV table and a figure, prints the table.")
    f.add_argument("--dataset", required=True, help="cifar10 (signal: cifar10-valid x-valid, test: cifar10 ori-test), "
                                                     "cifar100 or ImageNet16-120 (signal: x-valid, test: x-test)")
    f.add_argument("--fidelity", required=True, help="epochs of the search signal: 12 or 200")
    f.add_argument("--out", default=DEFAULT_OUT, metavar="DIR", help=f"output folder (default: {DEFAULT_OUT})")
    f.add_argument("--bootstrap", type=int, default=1000, metavar="N",
                   help="bootstrap resamples for the 95%% CIs (default 1000; 0 = point estimates only)")
    f.add_argument("--seed", type=int, default=0, help="seed of the bootstrap Generator (default 0)")
    f.add_argument("--no-figures", action="store_true", help="write only the CSV table")
    f.add_argument("--quiet", action="store_true", help="no progress bar (it goes to stderr)")
    f.add_argument("--formats", default="png,pdf", help="figure formats, comma-separated (default png,pdf)")
    add_data_dir(f)
    f.set_defaults(func=_flatness)
    p.set_defaults(func=_missing(p))


def _missing(p: argparse.ArgumentParser):
    def run(_: argparse.Namespace) -> int:
        p.print_help()
        return 2

    return run


def parse_fidelity(text: str) -> int:
    """``--fidelity`` as an int, with a clear error."""
    from nabench import validate
    from nabench.analysis.flatness import check_fidelity

    try:
        return check_fidelity(validate.int_string("--fidelity", text.strip()))
    except ConfigError:
        raise ConfigError(f"--fidelity must be 12 or 200, got {validate.brief(text)}") from None


def parse_formats(text: str) -> tuple[str, ...]:
    """``--formats png,pdf`` as a tuple."""
    fmts = tuple(f.strip().lower() for f in text.split(",") if f.strip())
    bad = [f for f in fmts if f not in ("png", "pdf", "svg")]
    if bad or not fmts:
        raise ConfigError(f"--formats takes a comma-separated list of png, pdf, svg; got {text!r}")
    return fmts


def _flatness(args: argparse.Namespace) -> int:
    import numpy as np

    import nabench
    from nabench import validate
    from nabench.analysis import io, plots
    from nabench.analysis.flatness import StudyConfig, format_table, run_study, study_spec

    spec = study_spec(args.dataset)
    fid = parse_fidelity(args.fidelity)
    fmts = parse_formats(args.formats)
    if args.bootstrap < 0:
        raise ConfigError(f"--bootstrap must be 0 or more resamples, got {args.bootstrap}")
    validate.integer("--bootstrap", args.bootstrap, maximum=validate.MAX_BOOTSTRAP)
    validate.seed("--seed", args.seed)
    out = validate.writable_dir("--out", args.out)  # before the study runs
    bench = nabench.load("nb201", args.data_dir)
    config = StudyConfig(n_resamples=args.bootstrap)
    res = run_study(bench, spec.name, fid, rng=np.random.default_rng(args.seed), config=config,
                    progress=not args.quiet)
    csv = io.write_csv(res.table, io.study_table_path(out, spec.name, fid))
    print(f"flatness study: {spec.name}, signal {spec.signal_dataset} {spec.signal_split} @ {fid} epochs, "
          f"test {spec.test_dataset} {spec.test_split} @ 200 epochs; bootstrap {args.bootstrap} resamples, "
          f"95% percentile CIs, seed {args.seed}")
    print(format_table(res.table))
    written = [csv]
    if not args.no_figures:
        view = res.table.assign(dedup=res.table["dedup"].map({False: "all cells", True: "one per class"}))
        fig = plots.correlation_bars(
            view, panel="subset", group="dedup", group_label="{}",
            title=f"{spec.name}, {fid}-epoch signal: Kendall tau with 200-epoch test accuracy",
        )
        written += plots.save_figure(fig, out, f"flatness_{spec.name}_{fid}_correlations", formats=fmts)
    print("wrote " + ", ".join(str(p) for p in written))
    return 0
