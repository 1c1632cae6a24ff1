#!/usr/bin/env bash
# scripts/evaluate.sh BUILD_DIR MODEL - measures a model as docs/results.md and the model
# card report it, on data it was never trained on, from the saved 8-bit hybrid:
#   BSDS500 test/ at 300x300 (100 cover/payload pairs: our Table 3), and
#   the demo photos (astronaut + camera at 512x512) through the steg command.
set -euo pipefail
build=${1:?usage: evaluate.sh BUILD_DIR MODEL} model=${2:?usage: evaluate.sh BUILD_DIR MODEL}
data=$(dirname "$0")/../../shared/datasets
"$build/trainer/steg-trainer" eval --model "$model" --covers "$data/bsds/test" --size 300 --max 100
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
photos=/usr/lib/python3/dist-packages/skimage/data
"$build/cli/steg" hide "$photos/astronaut.png" "$photos/camera.png" -o "$out/h.png" --payload-out "$out/p.png" --model "$model" -q
"$build/cli/steg" reveal "$out/h.png" -o "$out/r.png" --model "$model" -q
echo "astronaut+camera 512x512: hybrid $("$build/cli/steg" compare "$photos/astronaut.png" "$out/h.png"), revealed $("$build/cli/steg" compare "$out/p.png" "$out/r.png")"
