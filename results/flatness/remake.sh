#!/usr/bin/env bash
# Remakes every table and figure in results/flatness from the installed store ($NABENCH_DATA).
# Run from the repository root: bash results/flatness/remake.sh   (about 15 minutes on one core)
set -euo pipefail
OUT=results/flatness
for ds in cifar10 cifar100 ImageNet16-120; do
  for fid in 12 200; do
    nabench analyze flatness --dataset "$ds" --fidelity "$fid" --bootstrap 1000 --seed 0 --out "$OUT" --formats png \
      > "$OUT/flatness_${ds}_${fid}.txt"
    nabench plot flatness --dataset "$ds" --fidelity "$fid" --out "$OUT" --formats png
  done
done
nabench plot correlations "$OUT" --formats png
nabench plot correlations "$OUT" --subset top10% --formats png
