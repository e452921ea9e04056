"""``nabench query ARCH [--space 201|301|sss] --dataset D --split S --fidelity F [--na] [--json]``.

One architecture's answer. On NAS-Bench-201 (and the NATS size space) ``--dataset`` and ``--split`` are
required: nothing about splits defaults there, because mixing them up is the commonest NAS
benchmarking error. The NAS-Bench-301 surrogate (``--space 301``) has one task (CIFAR-10) and one split
(``valid``: it predicts validation accuracy; there is no test split), so only ``--fidelity`` (epoch
1..98) is needed. ``--na`` adds the radius-1 neighborhood mean, the architecture itself included
(``na_mean``), and the number of neighbors (``n_neighbors``): 24 on NB201, 120 on DARTS.
ARCH is read by :func:`nabench.spaces.parse_arch`, the one architecture parser of the CLI.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from nabench.commands.common import add_data_dir
from nabench.errors import ConfigError, NotAvailableError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("query", help="look up one architecture",
                       description="Print one architecture's accuracy (and loss where stored), per-seed values, "
                                   "cost, parameters, FLOPs and latency; on --space 301 the NAS-Bench-301 "
                                   "surrogate's validation accuracy and training time. Example: nabench query "
                                   "--space 301 darts-v2 --fidelity 98 --na")
    p.add_argument("arch", metavar="ARCH", help="NB201: official index (0..15624) or string |op~0|+|op~0|op~1|+|...|; "
                   "301: darts-v1, darts-v2, a Genotype(...) literal, an NB301 config as JSON, or a code; "
                   "sss: index or channels c1:c2:c3:c4:c5")
    p.add_argument("--space", default=None, metavar="SPACE",
                   help="201 (NAS-Bench-201, default), 301 or darts (NAS-Bench-301 surrogate), sss (NATS size space, "
                        "after importing an official sss folder)")
    p.add_argument("--benchmark", default=None, choices=("nb201", "nats-sss", "nb301"),
                   help="the benchmark by name (same as --space)")
    p.add_argument("--dataset", help="cifar10-valid, cifar10, cifar100, ImageNet16-120 (NB201, sss: required; "
                   "301: cifar10)")
    p.add_argument("--split", help="x-valid, x-test, ori-test or train (per dataset; NB201, sss: required); "
                   "301: valid")
    p.add_argument("--fidelity", required=True, help="epochs: 12 or 200 (NB201), 1, 12 or 90 (sss), 1..98 (301)")
    p.add_argument("--na", action="store_true",
                   help="add the radius-1 neighborhood mean (self included) and the neighbor count")
    p.add_argument("--json", action="store_true", help="print JSON")
    add_data_dir(p)
    p.set_defaults(func=_query)


def _benchmark_name(args: argparse.Namespace) -> str:
    from nabench.spaces import benchmark_name

    if args.space is not None and args.benchmark is not None and benchmark_name(args.space) != args.benchmark:
        raise ConfigError(f"--space {args.space} and --benchmark {args.benchmark} name different benchmarks; give one")
    if args.benchmark is not None:
        return args.benchmark
    return benchmark_name(args.space or "201")


def _names(bench: Any, args: argparse.Namespace) -> tuple[str, str]:
    """(dataset, split): required where a benchmark has several; the only ones of a one-split benchmark."""
    if bench.name == "nb301":
        from nabench.surrogates.nb301 import DATASET, SPLIT

        return args.dataset or DATASET, args.split or SPLIT
    missing = [f for f in ("dataset", "split") if getattr(args, f) is None]
    if missing:
        raise ConfigError(f"--{' and --'.join(missing)} required on {bench.name}: name the dataset and split to read "
                          "(e.g. --dataset cifar10 --split ori-test for CIFAR-10 test accuracy)")
    return args.dataset, args.split


def answer(bench: Any, arch: str, dataset: str, split: str, fidelity: object, na: bool = False) -> dict[str, object]:
    """The query's answer as a JSON-able dict (what ``--json`` prints)."""
    from nabench.spaces import parse_arch

    b = bench
    ds, sp, fid = b.check_query(dataset, split, fidelity)
    space = b.space
    idx = parse_arch(space, arch)
    out: dict[str, object] = {"index": idx, "arch": space.format(idx), "dataset": ds, "split": sp, "fidelity": fid}
    if b.name == "nb301":
        acc, runtime = b.predict([idx], fidelity=fid)
        out.update(accuracy=float(acc[0]), train_time_s=float(runtime[0]),
                   note="no test split: surrogate validation prediction")
    else:
        out.update(_tabular(b, idx, ds, sp, fid))
    if na:
        from nabench import neighborhood as nh

        members, _ = nh.members_of(space, idx, nh.NeighborhoodSpec(radius=1, include_self=True))
        values = b.accuracy(members, dataset=ds, split=sp, fidelity=fid)
        out["na_mean"] = float(values.mean())
        out["n_neighbors"] = int(len(members) - 1)
    return out


def _tabular(bench: Any, idx: int, ds: str, sp: str, fid: int) -> dict[str, object]:
    b = bench
    out: dict[str, object] = {"accuracy": float(b.accuracy(idx, dataset=ds, split=sp, fidelity=fid))}
    if b.has("acc", ds, sp, fid, per_seed=True):
        per = {}
        for s in b.seeds(dataset=ds, fidelity=fid):
            try:
                per[str(s)] = float(b.accuracy(idx, dataset=ds, split=sp, fidelity=fid, seed=s))
            except NotAvailableError:
                continue
        out["accuracy_per_seed"] = per
    if b.has("loss", ds, sp, fid):
        out["loss"] = float(b.loss(idx, dataset=ds, split=sp, fidelity=fid))
    for name, fn in (("train_time_s", lambda: float(b.cost(idx, dataset=ds, fidelity=fid))),
                     ("params_m", lambda: float(b.params(idx, dataset=ds))),
                     ("flops_m", lambda: float(b.flops(idx, dataset=ds))),
                     ("latency_s", lambda: float(b.latency(idx, dataset=ds))),
                     ("n_seeds", lambda: int(b.n_seeds(dataset=ds, fidelity=fid)[idx]))):
        try:
            out[name] = fn()
        except NotAvailableError:
            continue
    return out


def _query(args: argparse.Namespace) -> int:
    import nabench

    bench = nabench.load(_benchmark_name(args), args.data_dir)
    dataset, split = _names(bench, args)
    out = answer(bench, args.arch, dataset, split, args.fidelity, na=args.na)
    if args.json:
        print(json.dumps(out, indent=1))
        return 0
    print(f"#{out['index']} {out['arch']}")
    print(f"{out['dataset']} / {out['split']} / {out['fidelity']} epochs")
    n = out.get("n_seeds")
    how = ("(surrogate validation prediction; no test split)" if bench.name == "nb301"
           else f"(mean over {n} seeds)" if isinstance(n, int) and n > 1 else "(one seed)" if n == 1 else "")
    print(f"  accuracy      {out['accuracy']:.4f} %  {how}".rstrip())
    for s, v in (out.get("accuracy_per_seed") or {}).items():
        print(f"    seed {s}    {v:.4f} %")
    labels = {"loss": "loss", "train_time_s": "train time (s)", "params_m": "params (M)", "flops_m": "FLOPs (M)",
              "latency_s": "latency (s)", "n_seeds": "seeds"}
    for k, label in labels.items():
        if k in out:
            print(f"  {label:13s} {out[k]:.6g}")
    if "na_mean" in out:
        print(f"  NA mean       {out['na_mean']:.4f} %  (radius 1, self included: {int(out['n_neighbors']) + 1} "
              "architectures)")
    return 0
