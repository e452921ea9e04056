"""``nabench query ARCH --dataset D --split S --fidelity F``: one architecture's answer."""

from __future__ import annotations

import argparse
import json

from nabench.commands.common import add_data_dir
from nabench.errors import ConfigError, NotAvailableError
from nabench.tables import schema


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("query", help="look up one architecture",
                       description="Print one architecture's accuracy (and loss where stored), per-seed values, "
                                   "cost, parameters, FLOPs and latency. ARCH is an official index or string.")
    p.add_argument("arch", metavar="ARCH", help="official index (0..15624) or string |op~0|+|op~0|op~1|+|...| "
                   "(for --benchmark nats-sss: index or channels c1:c2:c3:c4:c5)")
    p.add_argument("--dataset", required=True, help=", ".join(schema.DATASETS))
    p.add_argument("--split", required=True, help="x-valid, x-test, ori-test or train (per dataset)")
    p.add_argument("--fidelity", required=True, help="12 or 200 (epochs of the training schedule; 1, 12 or 90 "
                   "for nats-sss)")
    p.add_argument("--benchmark", default="nb201", choices=("nb201", "nats-sss"),
                   help="which store to query (nats-sss exists after importing an official sss folder)")
    p.add_argument("--json", action="store_true", help="print JSON")
    add_data_dir(p)
    p.set_defaults(func=_query)


def _query(args: argparse.Namespace) -> int:
    import nabench

    bench = nabench.load(args.benchmark, args.data_dir)
    ds, sp, fid = bench.check_query(args.dataset, args.split, args.fidelity)
    arch = args.arch.strip()
    if arch.lstrip("-").isdigit():
        idx = int(bench.resolve(int(arch))[0])
    elif arch.startswith("|") or ":" in arch:
        idx = bench.index(arch)
    else:
        raise ConfigError(f"ARCH {arch!r} is neither an index (0..{bench.n_archs - 1}) nor an architecture string")
    out: dict[str, object] = {"index": idx, "arch": bench.arch_str(idx), "dataset": ds, "split": sp, "fidelity": fid}
    out["accuracy"] = float(bench.accuracy(idx, dataset=ds, split=sp, fidelity=fid))
    if bench.has("acc", ds, sp, fid, per_seed=True):
        seeds = bench.seeds(dataset=ds, fidelity=fid)
        per = {}
        for s in seeds:
            try:
                per[str(s)] = float(bench.accuracy(idx, dataset=ds, split=sp, fidelity=fid, seed=s))
            except NotAvailableError:
                continue
        out["accuracy_per_seed"] = per
    if bench.has("loss", ds, sp, fid):
        out["loss"] = float(bench.loss(idx, dataset=ds, split=sp, fidelity=fid))
    for name, fn in (("train_time_s", lambda: bench.cost(idx, dataset=ds, fidelity=fid)),
                     ("params_m", lambda: bench.params(idx, dataset=ds)),
                     ("flops_m", lambda: bench.flops(idx, dataset=ds)),
                     ("latency_s", lambda: bench.latency(idx, dataset=ds)),
                     ("n_seeds", lambda: bench.n_seeds(dataset=ds, fidelity=fid)[idx])):
        try:
            out[name] = float(fn())
        except NotAvailableError:
            continue
    if args.json:
        print(json.dumps(out, indent=1))
        return 0
    print(f"#{idx} {out['arch']}")
    print(f"{ds} / {sp} / {fid} epochs")
    print(f"  accuracy      {out['accuracy']:.4f} %  (mean over seeds)")
    for s, v in (out.get("accuracy_per_seed") or {}).items():
        print(f"    seed {s}    {v:.4f} %")
    labels = {"loss": "loss", "train_time_s": "train time (s)", "params_m": "params (M)", "flops_m": "FLOPs (M)",
              "latency_s": "latency (s)", "n_seeds": "seeds"}
    for k, label in labels.items():
        if k in out:
            print(f"  {label:13s} {out[k]:.6g}")
    return 0
