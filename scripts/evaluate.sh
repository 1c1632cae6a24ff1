#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# scripts/evaluate.sh BUILD_DIR MODEL - measures a model as docs/results.md and the model
# card report it, on data it was never trained on, from the saved 8-bit files:
#   - BSDS500 test/ at 300x300 (100 cover/payload pairs: our Table 3), with the mean,
#     5th percentile and worst pair, and the CIEDE2000 colour difference;
#   - the demo pair (astronaut + camera, 512x512) through the steg command;
#   - saturated colours: scikit-image's coffee, chelsea, rocket and immunohistochemistry
#     (ihc) photos as covers, and an SMPTE colour-bar frame (videotestsrc, 640x480), each
#     hiding the camera photo.
set -euo pipefail
build=${1:?usage: evaluate.sh BUILD_DIR MODEL} model=${2:?usage: evaluate.sh BUILD_DIR MODEL}
data=$(dirname "$0")/../../shared/datasets
steg=$build/cli/steg
photos=/usr/lib/python3/dist-packages/skimage/data
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
if [ -d "$data/bsds/test" ]; then
    "$build/trainer/steg-trainer" eval --model "$model" --covers "$data/bsds/test" --size 300 --max 100
else
    echo "(no ../shared/datasets/bsds/test: the BSDS500 table is left out)"
fi
# One cover: hide the camera photo, reveal from the saved PNG, compare both.
one() {  # NAME COVER
    "$steg" hide "$2" "$photos/camera.png" -o "$out/h.png" --payload-out "$out/p.png" --model "$model" --fit scale -q
    "$steg" reveal "$out/h.png" -o "$out/r.png" --model "$model" -q
    printf '%-22s hybrid %s | revealed %s\n' "$1" "$("$steg" compare "$2" "$out/h.png")" \
        "$("$steg" compare "$out/p.png" "$out/r.png")"
}
one "astronaut (demo)" "$photos/astronaut.png"
for p in coffee.png chelsea.png rocket.jpg ihc.png; do
    one "${p%.*}" "$photos/$p"
done
if command -v gst-launch-1.0 >/dev/null; then
    gst-launch-1.0 -q videotestsrc pattern=smpte num-buffers=1 ! \
        video/x-raw,format=RGB,width=640,height=480 ! pngenc ! filesink location="$out/smpte.png"
    one "smpte 640x480" "$out/smpte.png"
fi
