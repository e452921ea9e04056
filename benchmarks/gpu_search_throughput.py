"""Search throughput (images/s) and peak memory of DARTS, SDARTS-RS and NA-DARTS on one device.

Each variant runs full search iterations (an alpha step on a valid batch, then a weight step on a
train batch) on CIFAR-sized synthetic input (3x32x32, 10 classes) and reports train images per second
(each iteration also consumes one valid batch) and the peak memory allocated, with ratios against
the fused-supernet DARTS first-order baseline measured in the same run:

* ``201/reference``: the plain per-edge NAS-Bench-201 supernet built from ``nabench.models.ops`` (DARTS 1st),
* ``201/darts-1st`` (baseline), ``201/darts-2nd``, ``201/sdarts-rs``,
* ``201/na-darts``: m = 4 neighbors + center, all evaluated in one batched pass (the CUDA default),
* ``201/na-darts-seq``: the same objective evaluated one architecture per pass,
* ``darts/darts-1st`` and ``darts/na-darts`` on the DARTS search network (``--space both``),
* ``201/<algo>+graphs`` for darts-1st, darts-2nd, sdarts-rs and na-darts: the same iteration captured in a CUDA
  graph (``nabench oneshot --graphs``; on by default on CUDA, ``--no-graphs`` to skip; on CPU they fall back to
  the eager iteration, so ``--graphs`` there only checks that the path runs).

Targets (issue 13), printed with the measured values: the DARTS-1st iteration at most 68 ms at batch 64 (half of
the 136 ms first measured on an H200), and NA-DARTS at most 1.3x DARTS-1st (both with graphs when measured).

On CUDA the defaults of ``nabench search`` apply (channels_last, bf16 autocast for first order).
About two minutes on an H100 with the defaults::

    python benchmarks/gpu_search_throughput.py --json results/oneshot/throughput_h100.json
    python benchmarks/gpu_search_throughput.py --device cpu --steps 1     # smoke run on CPU
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))      # run from a checkout without installing the package

from nabench.oneshot.config import Neighborhood, SearchConfig  # noqa: E402
from nabench.train.initialization import init_parameters  # noqa: E402
from nabench.oneshot.loop import build_network, build_step  # noqa: E402
from nabench.oneshot.reference import ReferenceNB201Supernet  # noqa: E402

BASELINE = "201/darts-1st"
GRAPHED = ("darts-1st", "darts-2nd", "sdarts-rs", "na-darts")
TARGET_DARTS_MS = 68.0
TARGET_NA_RATIO = 1.3
#: na_chunk meaning "every architecture in one batched pass" (what nabench search does on CUDA)
ALL = 1_000_000


def variants(space: str, neighbors: int, graphs: bool = False) -> list[tuple[str, SearchConfig, str]]:
    """(name, config, network kind) of every variant to measure, the baseline first (kind ``fused+graphs``:
    the fused supernet with the iteration captured in a CUDA graph)."""
    hood = Neighborhood(k=neighbors or None)
    base = SearchConfig(space="201", algo="darts-1st", neighborhood=hood)
    out = [
        (BASELINE, base, "fused"),
        ("201/reference", base, "reference"),
        ("201/darts-2nd", replace(base, algo="darts-2nd"), "fused"),
        ("201/sdarts-rs", replace(base, algo="sdarts-rs"), "fused"),
        ("201/na-darts", replace(base, algo="na-darts", na_chunk=ALL), "fused"),
        ("201/na-darts-seq", replace(base, algo="na-darts", na_chunk=1), "fused"),
    ]
    if graphs:
        for algo in GRAPHED:
            cfg = replace(base, algo=algo, na_chunk=ALL) if algo == "na-darts" else replace(base, algo=algo)
            out.append((f"201/{algo}+graphs", cfg, "fused+graphs"))
    if space == "both":
        d = replace(base, space="darts")
        out += [("darts/darts-1st", d, "fused"), ("darts/na-darts", replace(d, algo="na-darts"), "fused")]
    return out


def measure(name: str, cfg: SearchConfig, kind: str, device: torch.device, batch: int, steps: int,
            warmup: int, channels: int = 16, cells: int = 5) -> dict:
    """Time ``steps`` search iterations after ``warmup`` ones; peak memory over all of them."""
    nb201 = cfg.search_space.name == "nb201"
    cfg = replace(cfg, batch_size=batch, channels=channels, cells=cells if nb201 else 0).resolved()
    if kind == "reference":
        net = ReferenceNB201Supernet(10, C=cfg.channels, N=cfg.cells)
        init_parameters(net, torch.Generator().manual_seed(0), strict=False)
    else:
        net = build_network(cfg, 10)
    net = net.to(device)
    if device.type == "cuda":
        net = net.to(memory_format=torch.channels_last)
    step = build_step(cfg, net, device, graphs=kind.endswith("+graphs"))
    gen = torch.Generator().manual_seed(1)
    xs = [torch.randn(batch, 3, 32, 32, generator=gen) for _ in range(2)]
    ys = [torch.randint(0, 10, (batch,), generator=gen) for _ in range(2)]
    fmt = torch.channels_last if device.type == "cuda" else torch.contiguous_format
    (xt, xv), (yt, yv) = [x.to(device).contiguous(memory_format=fmt) for x in xs], [y.to(device) for y in ys]

    def iteration() -> None:
        step.iteration(xt, yt, xv, yv)

    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
    for _ in range(warmup):
        iteration()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        iteration()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    seconds = time.perf_counter() - t0
    peak = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None
    return {"variant": name, "space": cfg.space, "algo": cfg.algo, "network": kind, "graphs": step.graphed.enabled,
            "step_ms": 1000 * seconds / steps, "images_per_s": batch * steps / seconds, "peak_mem_mib": peak}


def _targets(rows: list[dict], batch: int) -> dict:
    """Issue 13's targets from the measured rows (graphed numbers where measured, else eager)."""
    by = {r["variant"]: r for r in rows}
    darts = by.get("201/darts-1st+graphs") or by.get(BASELINE)
    na = by.get("201/na-darts+graphs") or by.get("201/na-darts")
    ms = round(darts["step_ms"], 2) if darts else None
    ratio = round(na["step_ms"] / darts["step_ms"], 3) if darts and na else None
    return {
        "darts_1st_iteration_ms": {"value": ms, "target": TARGET_DARTS_MS, "batch": batch,
                                   "variant": darts["variant"] if darts else None,
                                   "met": ms is not None and ms <= TARGET_DARTS_MS},
        "na_darts_vs_darts_1st": {"value": ratio, "target": TARGET_NA_RATIO,
                                  "variants": [na["variant"], darts["variant"]] if darts and na else None,
                                  "met": ratio is not None and ratio <= TARGET_NA_RATIO},
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="cuda", help="cuda (default) or cpu")
    p.add_argument("--steps", type=int, default=30, help="timed iterations per variant (default 30)")
    p.add_argument("--warmup", type=int, default=None, help="untimed iterations first (default min(5, steps))")
    p.add_argument("--batch-size", type=int, default=64, help="default 64 (DARTS's)")
    p.add_argument("--k", "--neighbors", dest="neighbors", type=int, default=4,
                   help="NA-DARTS sampled neighbors, 0 = all (default 4)")
    p.add_argument("--space", choices=("201", "both"), default="both",
                   help="201: NAS-Bench-201 supernet only; both (default): also the DARTS search network")
    p.add_argument("--only", nargs="*", default=None, help="measure only these variants (plus the baseline)")
    p.add_argument("--json", type=Path, default=None, help="write the numbers to this JSON file")
    p.add_argument("--channels", type=int, default=16, help="supernet channels (default 16; smaller for smoke runs)")
    p.add_argument("--cells", type=int, default=5, help="NAS-Bench-201 cells per stage (default 5)")
    p.add_argument("--graphs", dest="graphs", action="store_true", default=None,
                   help="also measure the graphed iterations (default on CUDA)")
    p.add_argument("--no-graphs", dest="graphs", action="store_false", help="skip the graphed iterations")
    args = p.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("error: no CUDA device; run with --device cpu", file=sys.stderr)
        return 2
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True      # as nabench search does
    if args.steps < 1:
        print("error: --steps must be at least 1", file=sys.stderr)
        return 2
    warmup = min(5, args.steps) if args.warmup is None else args.warmup
    graphs = device.type == "cuda" if args.graphs is None else args.graphs
    chosen = variants(args.space, args.neighbors, graphs)
    if args.only:
        unknown = set(args.only) - {v[0] for v in chosen}
        if unknown:
            print(f"error: unknown variants {sorted(unknown)}; choose from {[v[0] for v in chosen]}", file=sys.stderr)
            return 2
        chosen = [v for v in chosen if v[0] == BASELINE or v[0] in args.only]
    rows = []
    for name, cfg, kind in chosen:
        row = measure(name, cfg, kind, device, args.batch_size, args.steps, warmup, args.channels, args.cells)
        rows.append(row)
        print(f"measured {name}: {row['step_ms']:.1f} ms/iteration, {row['images_per_s']:.0f} img/s", flush=True)
    base = rows[0]
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"{platform.machine()} CPU"
    print(f"device {device} ({name}), batch {args.batch_size}, {args.steps} timed steps after {warmup} warm-up steps")
    print(f"{'variant':<18} {'step ms':>9} {'img/s':>9} {'x baseline':>10} {'peak MiB':>9} {'mem x':>6}")
    for r in rows:
        r["speed_vs_baseline"] = r["images_per_s"] / base["images_per_s"]
        cuda = device.type == "cuda"
        r["memory_vs_baseline"] = r["peak_mem_mib"] / base["peak_mem_mib"] if cuda else None
        mem = f"{r['peak_mem_mib']:>9.0f} {r['memory_vs_baseline']:>6.2f}" if cuda else f"{'-':>9} {'-':>6}"
        print(f"{r['variant']:<18} {r['step_ms']:>9.1f} {r['images_per_s']:>9.0f} {r['speed_vs_baseline']:>10.2f} {mem}")
    targets = _targets(rows, args.batch_size)
    for name, t in targets.items():
        print(f"target {name}: {t['value']} (target {t['target']}, {'met' if t['met'] else 'missed'})"
              if t["value"] is not None else f"target {name}: not measured")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        info = {"device": str(device), "device_name": name, "torch": torch.__version__, "batch_size": args.batch_size,
                "steps": args.steps, "warmup": warmup, "neighbors": args.neighbors, "baseline": BASELINE,
                "results": rows, "targets": targets}
        args.json.write_text(json.dumps(info, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
