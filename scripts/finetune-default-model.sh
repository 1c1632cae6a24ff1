#!/usr/bin/env bash
# scripts/finetune-default-model.sh BUILD_DIR INIT.safetensors OUT.safetensors - the
# second stage of the shipped default model (see models/README.md): 100 more epochs on
# the same data from the first stage's model (scripts/train-default-model.sh), lr 2e-4
# with a cosine schedule, another validation split (seed 2018), one CPU thread (so the
# machine stays usable; about 65 minutes on the 2-core machine). The shipped file is
# the best validated epoch (OUT's .best.safetensors).
set -euo pipefail
usage="usage: finetune-default-model.sh BUILD_DIR INIT.safetensors OUT.safetensors"
build=${1:?$usage}
init=$(realpath "${2:?$usage}")
out=$(realpath -m "${3:?$usage}")
trainer=$(realpath "$build/trainer/steg-trainer")
cd "$(dirname "$0")/../../shared/datasets"
"$trainer" train --covers imagenet-sample --covers bsds/train \
    --size 64 --batch 32 --epochs 100 --repeat 4 --init "$init" \
    --lr 2e-4 --schedule cosine --lr-min 1e-5 --alpha 1 --beta 1 \
    --val-fraction 0.03 --val-every 4 --val-size 128 --val-max 32 \
    --threads 1 --seed 2018 -o "$out"
