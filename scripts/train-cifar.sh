#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# scripts/train-cifar.sh BUILD_DIR OUT_DIR [EPOCHS] - the paper's Table 2 rows on the
# data we have (../shared/datasets): CIFAR-10 covers with MNIST payloads, and CIFAR-10
# with CIFAR-10, both at 32x32 (a 28x28 MNIST digit is padded to 32x32). 10 % of each
# set is held out (never trained on) and the model is measured on that test split,
# from the 8-bit hybrid. The runs go side by side, one CPU thread each.
#
# Environment:
#   RUNS="cifar-mnist cifar-cifar"  which rows to train (default: both)
#   INIT=DIR                        continue from DIR/<run>.best.safetensors (an earlier
#                                   OUT_DIR), with the same split, for EPOCHS more epochs
#   LR=3e-4                         the cosine schedule's starting learning rate
#   ALPHA=1                         weight of the cover term (Eq. 1's alpha; beta stays 1)
set -euo pipefail
build=$(realpath "${1:?usage: train-cifar.sh BUILD_DIR OUT_DIR [EPOCHS]}")
out=$(realpath -m "${2:?usage: train-cifar.sh BUILD_DIR OUT_DIR [EPOCHS]}")
epochs=${3:-50}
runs=${RUNS:-cifar-mnist cifar-cifar}
init=${INIT:+$(realpath "$INIT")}
trainer=$build/trainer/steg-trainer
mkdir -p "$out"
cd "$(dirname "$0")/../../shared/datasets"
split=(--val-fraction 0.05 --test-fraction 0.1)
recipe=(--size 32 --batch 32 --epochs "$epochs" --lr "${LR:-3e-4}" --schedule cosine --lr-min 1e-5 --alpha "${ALPHA:-1}" --beta 1
    --val-every 5 --threads 1 --seed 7 "${split[@]}")
mnist=mnist/t10k-images-idx3-ubyte.gz

payloads_of() {  # the payload arguments of a run
    if [ "$1" = cifar-mnist ]; then echo "--payloads $mnist"; fi
}

for run in $runs; do
    from=()
    [ -n "$init" ] && from=(--init "$init/$run.best.safetensors")
    # shellcheck disable=SC2046 # payloads_of gives words on purpose
    "$trainer" train --covers cifar10/test $(payloads_of $run) "${recipe[@]}" "${from[@]}" \
        -o "$out/$run.safetensors" >"$out/$run.out" 2>&1 &
done
wait

for run in $runs; do
    # shellcheck disable=SC2046
    "$trainer" eval --model "$out/$run.best.safetensors" --covers cifar10/test $(payloads_of $run) --size 32 \
        --max 1000 "${split[@]}" --split-seed 7
done
