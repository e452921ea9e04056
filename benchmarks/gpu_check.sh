#!/usr/bin/env bash
# One prepared GPU check for issues 5, 6 and 13 (about 8 minutes on an H100/H200), run from the repo root
# on the device machine:  NABENCH_DATA=.gl/nabench-data bash benchmarks/gpu_check.sh OUTDIR
# Needs the table store built beforehand on the CPU machine:
#   NABENCH_DATA=.gl/nabench-data nabench data fetch --mirror ../shared/data/upstream
# Each step has its own time limit, so one failure does not lose the others' numbers.
# Issue 13: gpu_train_throughput.json holds the one-network baseline (eager fp32), the fast and graphed steps,
# and packed training for K = 1, 4, 16, 64 (eager and graphed) with its ratio to the baseline and the 8x
# target; gpu_search_throughput.json holds DARTS-1st/2nd, SDARTS-RS, NA-DARTS eager and graphed, with the
# targets (DARTS-1st <= 68 ms at batch 64, NA-DARTS <= 1.3x DARTS-1st). Commit them under results/train/ and
# results/oneshot/ with this command.
# Knobs for a dry run on a CPU: DEVICE=cpu STEPS=1 N_TRAIN=256 EPOCHS=1 PACK_SIZES=1,2.
set -u
OUT=${1:?usage: gpu_check.sh OUTDIR}
DEVICE=${DEVICE:-cuda}; STEPS=${STEPS:-}; N_TRAIN=${N_TRAIN:-12800}; EPOCHS=${EPOCHS:-2}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
mkdir -p "$OUT"; rm -rf /tmp/train201 /tmp/pack201
steps() { [ -n "$STEPS" ] && echo "--steps $STEPS"; }
run() { local limit=$1; shift; echo "=== $* (limit ${limit}s)"; local t=$(date +%s)
        timeout "$limit" "$@"; echo "=== exit $? after $(( $(date +%s) - t )) s"; }

python3 -c "import torch; print('torch', torch.__version__, 'device', torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'cpu')"
run 300 python3 benchmarks/gpu_train_throughput.py --device "$DEVICE" $(steps) ${PACK_SIZES:+--pack-sizes $PACK_SIZES} \
    --json "$OUT/gpu_train_throughput.json"
run 240 python3 benchmarks/gpu_search_throughput.py --device "$DEVICE" --space 201 --steps ${STEPS:-10} --warmup 3 --graphs \
    --json "$OUT/gpu_search_throughput.json"
python3 -c "import numpy as np; from pathlib import Path; from nabench.vision.synthetic import write_cifar; \
write_cifar(Path('/tmp/synth'), 'cifar10', $N_TRAIN, 512, np.random.default_rng(0))"
run 90 python3 -m nabench.cli search --space 201 --algo na-darts --dataset cifar10 --epochs "$EPOCHS" \
    --data-root /tmp/synth --out /tmp/s201 --device "$DEVICE" --overwrite
run 50 python3 -m nabench.cli search --space darts --algo na-darts --dataset cifar10 --epochs 1 --steps-per-epoch 20 \
    --data-root /tmp/synth --out /tmp/sdarts --device "$DEVICE" --overwrite
run 50 python3 -m nabench.cli train --arch "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|" \
    --dataset cifar10 --preset nb201-200 --epochs "$EPOCHS" --data-root /tmp/synth --out /tmp/train201 --device "$DEVICE"
# Packed and graphed end to end: 4 cells x 2 seeds in one pack of 8, one data stream (--data-seed), CUDA graphs.
run 90 python3 -m nabench.cli train --arch "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|" \
    --arch "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_3x3~0|avg_pool_3x3~1|nor_conv_3x3~2|" \
    --arch "|nor_conv_1x1~0|+|skip_connect~0|nor_conv_3x3~1|+|none~0|nor_conv_3x3~1|avg_pool_3x3~2|" \
    --arch "|skip_connect~0|+|nor_conv_3x3~0|none~1|+|nor_conv_1x1~0|skip_connect~1|nor_conv_3x3~2|" \
    --seeds 0,1 --pack 8 --data-seed 0 --graphs --dataset cifar10 --preset nb201-200 --epochs "$EPOCHS" \
    --data-root /tmp/synth --out /tmp/pack201 --device "$DEVICE" --no-progress
run 60 python3 -m nabench.cli oneshot --space 201 --algo na-darts --dataset cifar10 --epochs 1 --graphs \
    --data-root /tmp/synth --out /tmp/s201g --device "$DEVICE" --overwrite
mkdir -p "$OUT/search-201" "$OUT/search-darts" "$OUT/train-201" "$OUT/pack-201" "$OUT/search-201-graphs"
cp /tmp/s201/epochs.csv /tmp/s201/result.json "$OUT/search-201/" 2>/dev/null
cp /tmp/sdarts/epochs.csv /tmp/sdarts/result.json "$OUT/search-darts/" 2>/dev/null
cp /tmp/train201/final.json "$OUT/train-201/" 2>/dev/null
for f in /tmp/pack201/*/final.json; do cp "$f" "$OUT/pack-201/$(basename "$(dirname "$f")").json" 2>/dev/null; done
cp /tmp/s201g/epochs.csv /tmp/s201g/result.json "$OUT/search-201-graphs/" 2>/dev/null
ls -R "$OUT"
