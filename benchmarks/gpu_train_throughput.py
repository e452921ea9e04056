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
* ``compile``: ``fast`` + ``torch.compile`` (the trainer's ``--compile``; compile time is reported apart).

Prints a table with ratios to ``eager`` measured in the same run, and writes JSON with ``--json``.

    .venv/bin/python benchmarks/gpu_train_throughput.py --json results/train/gpu_train_throughput.json
    .venv/bin/python benchmarks/gpu_train_throughput.py --device cpu --steps 2     # smoke run on CPU
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
}


def _sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(mode: str, device, batch: int, steps: int, warmup: int, seed: int, arch: str) -> dict:
    """Build the network, run ``warmup`` then ``steps`` timed training steps; images/s and peak memory."""
    import torch

    from nabench.train.initialization import materialize
    from nabench.train.networks import NetworkSpec
    from nabench.train.recipes import get_recipe
    from nabench.train.schedule import build_optimizer, build_scheduler
    from nabench.train.trainer import make_train_step

    cfg = MODES[mode]
    gen = torch.Generator().manual_seed(seed)
    model = materialize(NetworkSpec("nb201", arch, "cifar10"), device, gen)
    if cfg["channels_last"]:
        model = model.to(memory_format=torch.channels_last)
    recipe = get_recipe("nb201-200")
    optimizer = build_optimizer(model, recipe)
    scheduler = build_scheduler(optimizer, recipe, steps_per_epoch=196)
    net = torch.compile(model) if cfg["compile"] else model
    step = make_train_step(net, optimizer, scheduler, recipe, cfg["amp"], device.type)
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
    result = {"mode": mode, **cfg, "images_per_s": steps * batch / seconds, "step_ms": 1e3 * seconds / steps,
              "peak_memory_mib": peak, "warmup_s": warmup_s, "final_loss": float(loss)}
    del net, model, optimizer, batches
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return result


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
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None, help="write the numbers here as JSON")
    args = parser.parse_args(argv)

    device = torch.device(args.device)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            print("error: --device cuda but no GPU is visible; use --device cpu", file=sys.stderr)
            return 2
        torch.backends.cudnn.benchmark = True
    modes = (args.modes or ("eager,fast,compile" if device.type == "cuda" else "eager,fast")).split(",")
    unknown = [m for m in modes if m not in MODES]
    if unknown or "eager" not in modes:
        print(f"error: --modes must include eager and use only {', '.join(MODES)}", file=sys.stderr)
        return 2
    warmup = args.warmup if args.warmup is not None else (15 if device.type == "cuda" else 1)

    results = [measure(m, device, args.batch_size, args.steps, warmup, args.seed, args.arch) for m in modes]
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
    if args.json:
        report = {
            "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
            "torch": torch.__version__, "arch": args.arch, "batch_size": args.batch_size, "steps": args.steps,
            "warmup_steps": warmup, "cudnn_benchmark": bool(torch.backends.cudnn.benchmark),
            "cudnn_allow_tf32": bool(torch.backends.cudnn.allow_tf32),
            "matmul_allow_tf32": bool(torch.backends.cuda.matmul.allow_tf32), "results": results,
            "command": "python benchmarks/gpu_train_throughput.py " + " ".join(sys.argv[1:] if argv is None else argv),
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
