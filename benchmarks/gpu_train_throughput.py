"""Training throughput (images/s) and peak memory of the trainer's step: eager fp32 vs the fast path.

Network: the NAS-Bench-201 network of arch 6111, the best CIFAR-10 cell of the benchmark
(``|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|``,
94.37% test accuracy; ``tests/test_models_nb201.py`` checks it against the table), 10 classes.
Data: CIFAR-10-sized synthetic batches (3x32x32, batch 256 by default) already on the device, so the
numbers measure the training step itself (forward, backward, SGD with the ``nb201-200`` recipe), not the
loader. All modes run in the same process, one after the other, each on a freshly built network.

Modes (the trainer's switches, see :mod:`nabench.train.trainer`):

* ``eager``: fp32, NCHW, no compilation (the baseline; PyTorch's default TF32 settings, recorded in the JSON);
* ``fast``: bf16 autocast + channels-last (what the trainer does on CUDA by default);
* ``compile``: ``fast`` + ``torch.compile`` (the trainer's ``--compile``; compile time is reported apart);
* ``graphs``: ``fast`` with the step captured in a CUDA graph (the trainer's ``--graphs``; CUDA only).

Packed training (issue 13, the trainer's ``--pack K``): K different NAS-Bench-201 cells (drawn from a seeded
generator, arch 6111 first) packed into one batched computation (:mod:`nabench.train.packed`), each network
on its own batch of ``--batch-size`` images (one shared input, as with ``--data-seed``), in the ``fast``
settings, eager and with CUDA graphs, for K in ``--pack-sizes`` (default 1, 4, 16, 64 on CUDA). Reported:
images/s summed over the K networks and peak memory, and the ratio to the one-network ``eager`` images/s
against the target (at least 8x). A K that runs out of memory is reported as such and the others still run.

Prints tables with ratios to ``eager`` measured in the same run, and writes JSON with ``--json``.

    .venv/bin/python benchmarks/gpu_train_throughput.py --json results/train/gpu_train_throughput.json
    .venv/bin/python benchmarks/gpu_train_throughput.py --device cpu --steps 2 --pack-sizes 1,2 --channels 4 --cells 1
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

ARCH_6111 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
MODES = {
    "eager": {"amp": False, "channels_last": False, "compile": False},
    "fast": {"amp": True, "channels_last": True, "compile": False},
    "compile": {"amp": True, "channels_last": True, "compile": True},
    "graphs": {"amp": True, "channels_last": True, "compile": False, "graphs": True},
}
#: Issue 13's target: packed NB201 training at least this many times the one-network eager images/s.
PACKED_TARGET = 8.0


def _sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(mode: str, device, batch: int, steps: int, warmup: int, seed: int, arch: str,
            channels: int = 16, cells: int = 5) -> dict:
    """Build the network, run ``warmup`` then ``steps`` timed training steps; images/s and peak memory."""
    import torch

    from nabench.train.initialization import materialize
    from nabench.train.networks import NetworkSpec
    from nabench.train.recipes import get_recipe
    from nabench.train.schedule import build_optimizer, build_scheduler
    from nabench.train.trainer import make_train_step

    cfg = MODES[mode]
    gen = torch.Generator().manual_seed(seed)
    model = materialize(NetworkSpec("nb201", arch, "cifar10", channels=channels, layers=cells), device, gen)
    if cfg["channels_last"]:
        model = model.to(memory_format=torch.channels_last)
    recipe = get_recipe("nb201-200")
    optimizer = build_optimizer(model, recipe)
    scheduler = build_scheduler(optimizer, recipe, steps_per_epoch=196)
    net = torch.compile(model) if cfg["compile"] else model
    step = make_train_step(net, optimizer, scheduler, recipe, cfg["amp"], device.type, graphs=cfg.get("graphs", False))
    model.train()

    batches = []
    for _ in range(4):
        x = torch.randn(batch, 3, 32, 32, generator=gen).to(device)
        if cfg["channels_last"]:
            x = x.contiguous(memory_format=torch.channels_last)
        batches.append((x, torch.randint(0, 10, (batch,), generator=gen).to(device)))

    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
    t0 = time.perf_counter()
    for i in range(warmup):
        step(*batches[i % len(batches)])
    _sync(device)
    warmup_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for i in range(steps):
        loss, _ = step(*batches[i % len(batches)])
    _sync(device)
    seconds = time.perf_counter() - t0
    peak = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None
    result = {"mode": mode, **cfg, "graphs": bool(getattr(step, "graphed", None) and step.graphed.enabled),
              "images_per_s": steps * batch / seconds, "step_ms": 1e3 * seconds / steps,
              "peak_memory_mib": peak, "warmup_s": warmup_s, "final_loss": float(loss)}
    del net, model, optimizer, batches
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return result


def pack_cells(k: int, seed: int, first: str = ARCH_6111) -> list[str]:
    """``k`` distinct cells: ``first``, then cells drawn uniformly from a seeded generator."""
    import numpy as np

    from nabench.spaces import nb201

    rng = np.random.default_rng(seed)
    cells = [first]
    while len(cells) < k:
        arch = nb201.to_str(rng.integers(0, len(nb201.OPS), nb201.N_EDGES))
        if arch not in cells:
            cells.append(arch)
    return cells


def measure_packed(k: int, device, batch: int, steps: int, warmup: int, seed: int, graphs: bool,
                   channels: int = 16, cells: int = 5) -> dict:
    """Train K packed networks (``fast`` settings) for ``warmup`` + ``steps`` steps: images/s summed, peak memory."""
    import torch

    from nabench.train.graphs import GraphedStep
    from nabench.train.initialization import materialize
    from nabench.train.networks import NetworkSpec
    from nabench.train.packed import PackedNB201, packed_losses
    from nabench.train.recipes import get_recipe
    from nabench.train.schedule import build_optimizer, build_scheduler

    amp = channels_last = device.type == "cuda"
    row = {"pack": k, "graphs": graphs, "amp": amp, "channels_last": channels_last, "batch_per_network": batch}
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
    try:
        gen = torch.Generator().manual_seed(seed)
        nets = [materialize(NetworkSpec("nb201", a, "cifar10", channels=channels, layers=cells), "cpu", gen)
                for a in pack_cells(k, seed)]
        model = PackedNB201(nets).to(device)
        del nets
        if channels_last:
            model = model.to(memory_format=torch.channels_last)
        recipe = get_recipe("nb201-200")
        optimizer = build_optimizer(model, recipe)
        scheduler = build_scheduler(optimizer, recipe, steps_per_epoch=196)
        model.train()

        def core(x, y):
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp, cache_enabled=not wrapper.enabled):
                losses = packed_losses(model(x).float(), y)
            losses.sum().backward()
            wrapper.optimizer_step()
            return (losses.detach(),)

        wrapper = GraphedStep(core, optimizer, enabled=graphs, device=device, scheduler=scheduler, log=lambda m: None)
        batches = []
        for _ in range(2):
            x = torch.randn(batch, 3, 32, 32, generator=gen).to(device)
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            batches.append((x, torch.randint(0, 10, (batch,), generator=gen).to(device)))
        t0 = time.perf_counter()
        for i in range(warmup):
            wrapper(*batches[i % 2])
        _sync(device)
        warmup_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        for i in range(steps):
            (losses,) = wrapper(*batches[i % 2])
        _sync(device)
        seconds = time.perf_counter() - t0
        row.update({"images_per_s": k * batch * steps / seconds, "step_ms": 1e3 * seconds / steps,
                    "warmup_s": warmup_s, "graphs": wrapper.enabled, "final_loss_mean": float(losses.mean()),
                    "peak_memory_mib": torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None})
        del model, optimizer, batches
    except torch.cuda.OutOfMemoryError:
        row.update({"error": "out of memory", "images_per_s": None})
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return row


def main(argv: list[str] | None = None) -> int:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=100, help="timed steps per mode")
    parser.add_argument("--warmup", type=int, default=None, help="untimed steps first (default: 15 on CUDA, 1 on CPU)")
    parser.add_argument("--modes", default=None,
                        help="comma-separated subset of eager,fast,compile (default: all on CUDA, eager,fast on CPU)")
    parser.add_argument("--arch", default=ARCH_6111)
    parser.add_argument("--pack-sizes", default=None,
                        help="comma-separated K of packed training (default 1,4,16,64 on CUDA, none on CPU; 0: none)")
    parser.add_argument("--pack-steps", type=int, default=None, help="timed steps per packed run (default --steps / 5)")
    parser.add_argument("--channels", type=int, default=16, help="network channels (default 16, the benchmark's)")
    parser.add_argument("--cells", type=int, default=5, help="cells per stage (default 5, the benchmark's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None, help="write the numbers here as JSON")
    args = parser.parse_args(argv)

    device = torch.device(args.device)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            print("error: --device cuda but no GPU is visible; use --device cpu", file=sys.stderr)
            return 2
        torch.backends.cudnn.benchmark = True
    modes = (args.modes or ("eager,fast,compile,graphs" if device.type == "cuda" else "eager,fast")).split(",")
    unknown = [m for m in modes if m not in MODES]
    if unknown or "eager" not in modes:
        print(f"error: --modes must include eager and use only {', '.join(MODES)}", file=sys.stderr)
        return 2
    warmup = args.warmup if args.warmup is not None else (15 if device.type == "cuda" else 1)

    results = [measure(m, device, args.batch_size, args.steps, warmup, args.seed, args.arch, args.channels, args.cells)
               for m in modes]
    base = results[0]
    print(f"device: {torch.cuda.get_device_name(device) if device.type == 'cuda' else platform.processor() or 'cpu'}"
          f"  torch {torch.__version__}  batch {args.batch_size}  steps {args.steps} (+{warmup} warm-up)")
    print(f"{'mode':8s} {'images/s':>10s} {'ms/step':>8s} {'peak MiB':>9s} {'speed-up':>9s} {'memory':>7s} {'warm-up s':>9s}")
    for r in results:
        r["speedup_vs_eager"] = r["images_per_s"] / base["images_per_s"]
        r["memory_vs_eager"] = (r["peak_memory_mib"] / base["peak_memory_mib"]
                                if r["peak_memory_mib"] and base["peak_memory_mib"] else None)
        mem = f"{r['peak_memory_mib']:.0f}" if r["peak_memory_mib"] else "n/a"
        ratio = f"{r['memory_vs_eager']:.2f}x" if r["memory_vs_eager"] else "n/a"
        print(f"{r['mode']:8s} {r['images_per_s']:10.0f} {r['step_ms']:8.1f} {mem:>9s} "
              f"{r['speedup_vs_eager']:8.2f}x {ratio:>7s} {r['warmup_s']:9.1f}")
    sizes = args.pack_sizes if args.pack_sizes is not None else ("1,4,16,64" if device.type == "cuda" else "0")
    try:
        pack_sizes = [int(k) for k in sizes.split(",") if k.strip() and int(k) > 0]
    except ValueError:
        print(f"error: --pack-sizes takes comma-separated integers, got {sizes!r}", file=sys.stderr)
        return 2
    pack_steps = args.pack_steps or max(1, args.steps // 5)
    packed = []
    for k in pack_sizes:
        for graphs in ((False, True) if device.type == "cuda" else (False,)):
            row = measure_packed(k, device, args.batch_size, pack_steps, min(warmup, 5), args.seed, graphs,
                                 args.channels, args.cells)
            if row["images_per_s"]:
                row["vs_one_network_eager"] = row["images_per_s"] / base["images_per_s"]
                row["meets_target"] = row["vs_one_network_eager"] >= PACKED_TARGET
            packed.append(row)
            print(f"measured pack {k} graphs={row['graphs']}: "
                  + (f"{row['images_per_s']:.0f} images/s ({row['vs_one_network_eager']:.2f}x one-network eager)"
                     if row["images_per_s"] else row.get("error", "failed")), flush=True)
    if packed:
        print(f"{'pack':>5s} {'graphs':>6s} {'images/s':>10s} {'ms/step':>8s} {'peak MiB':>9s} {'x eager':>8s} "
              f"{'target':>7s}")
        for r in packed:
            if not r["images_per_s"]:
                print(f"{r['pack']:5d} {str(r['graphs']):>6s} {r.get('error', 'failed'):>10s}")
                continue
            mem = f"{r['peak_memory_mib']:.0f}" if r["peak_memory_mib"] else "n/a"
            print(f"{r['pack']:5d} {str(r['graphs']):>6s} {r['images_per_s']:10.0f} {r['step_ms']:8.1f} {mem:>9s} "
                  f"{r['vs_one_network_eager']:7.2f}x {('met' if r['meets_target'] else 'missed'):>7s}")
    if args.json:
        best = max((r["vs_one_network_eager"] for r in packed if r.get("images_per_s")), default=None)
        report = {
            "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
            "torch": torch.__version__, "arch": args.arch, "batch_size": args.batch_size, "steps": args.steps,
            "warmup_steps": warmup, "cudnn_benchmark": bool(torch.backends.cudnn.benchmark),
            "cudnn_allow_tf32": bool(torch.backends.cudnn.allow_tf32),
            "matmul_allow_tf32": bool(torch.backends.cuda.matmul.allow_tf32), "results": results,
            "channels": args.channels, "cells": args.cells, "packed": packed,
            "targets": {"packed_vs_one_network_eager": {"target": PACKED_TARGET, "best": best,
                                                        "met": None if best is None else best >= PACKED_TARGET}},
            "command": "python benchmarks/gpu_train_throughput.py " + " ".join(sys.argv[1:] if argv is None else argv),
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
