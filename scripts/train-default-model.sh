#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# scripts/train-default-model.sh BUILD_DIR OUT.safetensors - the exact run that made
# models/default.safetensors (see models/README.md): the ImageNet sample plus BSDS500
# train/ from ../shared/datasets, 64x64 crops, the paper's loss with alpha = beta = 1,
# the 8-bit hybrid, Adam with a cosine schedule. About 35 minutes on 2 CPU cores; the
# shipped file is the best validated epoch (OUT.best.safetensors).
set -euo pipefail
build=${1:?usage: train-default-model.sh BUILD_DIR OUT.safetensors}
out=$(realpath -m "${2:?usage: train-default-model.sh BUILD_DIR OUT.safetensors}")
trainer=$(realpath "$build/trainer/steg-trainer")
cd "$(dirname "$0")/../../shared/datasets"
"$trainer" train --covers imagenet-sample --covers bsds/train \
    --size 64 --batch 32 --epochs 110 --repeat 4 \
    --lr 3e-4 --schedule cosine --lr-min 1e-5 --alpha 1 --beta 1 \
    --val-fraction 0.03 --val-every 5 --val-size 128 --val-max 32 \
    --threads 2 --seed 2017 -o "$out"
