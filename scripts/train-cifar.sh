#!/usr/bin/env bash
# scripts/train-cifar.sh BUILD_DIR OUT_DIR [EPOCHS] - the paper's Table 2 rows on the
# data we have (../shared/datasets): CIFAR-10 covers with MNIST payloads, and CIFAR-10
# with CIFAR-10, both at 32x32 (a 28x28 MNIST digit is padded to 32x32). 10 % of each
# set is held out (never trained on) and the model is measured on that test split,
# from the 8-bit hybrid. The two runs go side by side, one CPU thread each.
set -euo pipefail
build=$(realpath "${1:?usage: train-cifar.sh BUILD_DIR OUT_DIR [EPOCHS]}")
out=$(realpath -m "${2:?usage: train-cifar.sh BUILD_DIR OUT_DIR [EPOCHS]}")
epochs=${3:-50}
trainer=$build/trainer/steg-trainer
mkdir -p "$out"
cd "$(dirname "$0")/../../shared/datasets"
split=(--val-fraction 0.05 --test-fraction 0.1)
recipe=(--size 32 --batch 32 --epochs "$epochs" --lr 3e-4 --schedule cosine --lr-min 1e-5 --alpha 1 --beta 1
    --val-every 5 --threads 1 --seed 7 "${split[@]}")
mnist=mnist/t10k-images-idx3-ubyte.gz

"$trainer" train --covers cifar10/test --payloads $mnist "${recipe[@]}" -o "$out/cifar-mnist.safetensors" \
    >"$out/cifar-mnist.out" 2>&1 &
"$trainer" train --covers cifar10/test "${recipe[@]}" -o "$out/cifar-cifar.safetensors" \
    >"$out/cifar-cifar.out" 2>&1 &
wait

for run in cifar-mnist cifar-cifar; do
    payloads=()
    [ $run = cifar-mnist ] && payloads=(--payloads $mnist)
    "$trainer" eval --model "$out/$run.best.safetensors" --covers cifar10/test "${payloads[@]}" --size 32 \
        --max 1000 "${split[@]}" --split-seed 7
done
