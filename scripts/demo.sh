#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# scripts/demo.sh BUILD_DIR - hides one classic test photo in another with the default
# model, reveals it from the saved PNG, and prints what it measured.
set -euo pipefail
build=${1:-build}
steg=$build/cli/steg
photos=/usr/lib/python3/dist-packages/skimage/data
cover=$photos/astronaut.png
secret=$photos/camera.png
out=out/demo
for f in "$cover" "$secret"; do
    [ -f "$f" ] || { echo "demo: $f is missing (scripts/install-deps.sh installs python3-skimage)" >&2; exit 1; }
done
mkdir -p "$out"

echo "== model"
"$steg" info | sed -n 1,4p
echo "== hide $(basename "$secret") in $(basename "$cover")"
"$steg" hide "$cover" "$secret" -o "$out/hybrid.png" --payload-out "$out/payload.png"
echo "== reveal from the saved PNG"
"$steg" reveal "$out/hybrid.png" -o "$out/revealed.png"
echo "== measured on the 8-bit files"
echo "hybrid vs cover:     $("$steg" compare "$cover" "$out/hybrid.png")"
echo "revealed vs payload: $("$steg" compare "$out/payload.png" "$out/revealed.png")"
echo "capacity:            8 bits per pixel (a gray payload in an RGB cover: 33.3% of the cover's bits)"
echo
echo "wrote: $out/hybrid.png (the cover carrying the payload)"
echo "       $out/payload.png (what was hidden: the payload as gray at the cover's size)"
echo "       $out/revealed.png (what came back out of hybrid.png)"
