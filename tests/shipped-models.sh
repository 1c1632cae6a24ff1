#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/shipped-models.sh BUILD_DIR SOURCE_DIR - the shipped models keep the figures on
# their cards (models/README.md). Inference is deterministic, so each figure is pinned
# to the card with a small margin: a later model or code change that loses quality
# fails here.
#   - the default model: the demo pair, four saturated photos and an SMPTE colour-bar
#     frame (each hiding the camera photo), hybrid and revealed PSNR and the CIEDE2000
#     colour difference, through the steg command, from the saved PNGs; the payload
#     score of `steg reveal` says the hybrid carries a payload and the cover does not;
#   - the two CIFAR-10 models: load, and (with ../shared/datasets) their held-out rows.
# Skips (77) without python3-skimage's photos.
set -euo pipefail
build=$(realpath "$1") src=$(realpath "$2")
steg=$build/cli/steg
photos=/usr/lib/python3/dist-packages/skimage/data
[ -f "$photos/astronaut.png" ] || { echo "SKIP: python3-skimage's photos are not installed"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

# field FILE KEY: a number from a JSON file (null, for an infinite PSNR, reads as 999;
# true and false as 1 and 0)
field() {
    python3 -c 'import json, sys; v = json.load(open(sys.argv[1]))[sys.argv[2]]; print(999 if v is None else int(v) if isinstance(v, bool) else v)' "$1" "$2"
}

# check WHAT VALUE OP LIMIT: OP is >= (a floor) or <= (a ceiling)
check() {
    if awk -v v="$2" -v l="$4" -v op="$3" 'BEGIN { exit !(op == ">=" ? v >= l : v <= l) }'; then
        printf 'ok    %-44s %8s %s %s\n' "$1" "$2" "$3" "$4"
    else
        printf 'FAIL  %-44s %8s %s %s\n' "$1" "$2" "$3" "$4"
        failures=$((failures + 1))
    fi
}

# One cover with the default model: hide the camera photo, reveal from the saved PNG.
# Floors: hybrid PSNR, revealed PSNR; ceiling: mean CIEDE2000 (cover vs hybrid).
cover() {  # NAME FILE HYBRID_DB REVEALED_DB CIEDE2000_MEAN [HYBRID_SCORE]
    "$steg" hide "$2" "$photos/camera.png" -o "$work/h.png" --payload-out "$work/p.png" --fit scale -q
    "$steg" reveal "$work/h.png" -o "$work/r.png" --json >"$work/rs.json"
    "$steg" reveal "$2" -o "$work/cr.png" --json >"$work/cs.json" 2>"$work/cs.err"
    "$steg" compare --json "$2" "$work/h.png" >"$work/hc.json"
    "$steg" compare --json "$work/p.png" "$work/r.png" >"$work/rc.json"
    hp=$(field "$work/hc.json" psnr_db) de=$(field "$work/hc.json" ciede2000_mean) rp=$(field "$work/rc.json" psnr_db)
    check "$1: hybrid PSNR (dB)" "$hp" ">=" "$3"
    check "$1: revealed PSNR (dB)" "$rp" ">=" "$4"
    check "$1: CIEDE2000 mean" "$de" "<=" "$5"
    # The payload score: the hybrid carries a payload (or, for a known miss, keeps its
    # pinned score), the clean cover does not and gets a warning.
    if [ -n "${6:-}" ]; then
        check "$1: the hybrid's payload score" "$(field "$work/rs.json" payload_score)" ">=" "$6"
    else
        check "$1: the hybrid carries a payload (1 = yes)" "$(field "$work/rs.json" payload_present)" ">=" 1
    fi
    check "$1: the clean cover carries none (0 = none)" "$(field "$work/cs.json" payload_present)" "<=" 0
    grep -q "probably carries no payload" "$work/cs.err" || check "$1: a warning for the clean cover" 0 ">=" 1
}

export STEG_MODEL=$src/models/default.safetensors
# The card's figures (models/README.md) less 0.05 dB, plus 0.02 in CIEDE2000.
cover "astronaut (demo)" "$photos/astronaut.png" 40.66 38.04 0.75
cover coffee "$photos/coffee.png" 40.58 38.21 0.75
cover chelsea "$photos/chelsea.png" 40.64 38.21 0.87
cover rocket "$photos/rocket.jpg" 40.71 38.10 0.83
cover ihc "$photos/ihc.png" 40.73 38.09 0.81
if command -v gst-launch-1.0 >/dev/null; then
    GST_REGISTRY=$work/registry.bin gst-launch-1.0 -q videotestsrc pattern=smpte num-buffers=1 ! \
        video/x-raw,format=RGB,width=640,height=480 ! pngenc ! filesink location="$work/smpte.png"
    # The colour bars: flat saturated fields, where a channel at 0 or 255 takes the
    # whole move of its pixel's sum (the hybrid is 4 dB below the photos').
    cover "smpte 640x480" "$work/smpte.png" 36.17 37.35 0.85
fi

# The CIFAR-10 models load, and hide and reveal.
for m in cifar10-mnist cifar10-cifar10; do
    "$steg" info "$src/models/$m.safetensors" >/dev/null
    "$steg" hide "$photos/chelsea.png" "$photos/camera.png" -o "$work/c.png" --model "$src/models/$m.safetensors" --fit scale -q
    "$steg" reveal "$work/c.png" -o "$work/cr.png" --model "$src/models/$m.safetensors" -q
    echo "ok    $m loads, hides and reveals"
done
# The robust model's payload comes back from a JPEG (steg's own: quality 95, 4:4:4) of
# the demo pair, where the default's is noise (its card: 28.73 dB, the default 10.24 dB).
m=$src/models/robust.safetensors
"$steg" hide --model "$m" "$photos/astronaut.png" "$photos/camera.png" -o "$work/rb.jpg" --allow-lossy \
    --payload-out "$work/rbp.png" --fit scale -q
"$steg" reveal --model "$m" "$work/rb.jpg" -o "$work/rbr.png" -q
"$steg" compare --json "$work/rbp.png" "$work/rbr.png" >"$work/rb.json"
check "robust: revealed from a JPEG (dB)" "$(field "$work/rb.json" psnr_db)" ">=" 28.3
# Their rows of Table 2, on the held-out split of ../shared/datasets, as the card measures them.
data=$src/../shared/datasets
if [ -d "$data/cifar10/test" ] && [ -f "$data/mnist/t10k-images-idx3-ubyte.gz" ]; then
    row() {  # MODEL HYBRID_DB REVEALED_DB [--payloads ...]
        local m=$1 h=$2 r=$3
        shift 3
        "$build/trainer/steg-trainer" eval --model "$src/models/$m.safetensors" --covers "$data/cifar10/test" "$@" \
            --size 32 --max 1000 --test-fraction 0.1 --val-fraction 0.05 --split-seed 7 --threads 2 \
            --json "$work/$m.json" >/dev/null
        check "$m: hybrid PSNR (dB)" "$(field "$work/$m.json" encoder_psnr_db)" ">=" "$h"
        check "$m: revealed PSNR (dB)" "$(field "$work/$m.json" decoder_psnr_db)" ">=" "$r"
    }
    row cifar10-mnist 34.04 32.91 --payloads "$data/mnist/t10k-images-idx3-ubyte.gz"
    row cifar10-cifar10 31.15 31.62
else
    echo "(no ../shared/datasets: the CIFAR-10 rows are not measured)"
fi
[ "$failures" -eq 0 ] || { echo "$failures figure(s) below the cards"; exit 1; }
