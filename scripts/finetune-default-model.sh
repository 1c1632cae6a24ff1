#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# scripts/finetune-default-model.sh BUILD_DIR INIT.safetensors OUT.safetensors [STAGE] -
# the later stages of the shipped default model (see models/README.md), each from the
# previous stage's model, on the same data as the first (scripts/train-default-model.sh):
#
#   stage 2: 100 epochs of 64x64 crops, lr 2e-4 cosine to 1e-5, seed 2018, one thread
#            (about 65 minutes on the 2-core machine)
#   stage 3: 150 epochs of 64x64 crops, lr 1e-4 cosine to 1e-6, seed 2019, one thread.
#            The shipped chain stopped it with Ctrl-C after epoch 61 (about 30 minutes)
#            and took those weights: `steg-trainer export --checkpoint OUT.ckpt -o ...`
#   stage 4: 90 epochs of 96x96 crops, lr 3e-4 cosine to 1e-5, seed 2020, two threads
#            (about 45 minutes). The shipped chain ran its first 20 epochs on one thread
#            under a 110-epoch schedule, then resumed with --epochs 90 on two.
#
# Each validates on another split (the seed), and the shipped file is the best
# validated epoch (OUT's .best.safetensors).
set -euo pipefail
usage="usage: finetune-default-model.sh BUILD_DIR INIT.safetensors OUT.safetensors [2|3|4]"
build=${1:?$usage}
init=$(realpath "${2:?$usage}")
out=$(realpath -m "${3:?$usage}")
stage=${4:-2}
trainer=$(realpath "$build/trainer/steg-trainer")
case $stage in
    2) recipe=(--size 64 --epochs 100 --lr 2e-4 --lr-min 1e-5 --val-every 4 --threads 1 --seed 2018) ;;
    3) recipe=(--size 64 --epochs 150 --lr 1e-4 --lr-min 1e-6 --val-every 5 --threads 1 --seed 2019) ;;
    4) recipe=(--size 96 --epochs 90 --lr 3e-4 --lr-min 1e-5 --val-every 5 --threads 2 --seed 2020) ;;
    *) echo "$usage" >&2; exit 2 ;;
esac
cd "$(dirname "$0")/../../shared/datasets"
"$trainer" train --covers imagenet-sample --covers bsds/train \
    --batch 32 --repeat 4 --init "$init" --schedule cosine --alpha 1 --beta 1 \
    --val-fraction 0.03 --val-size 128 --val-max 32 "${recipe[@]}" -o "$out"
