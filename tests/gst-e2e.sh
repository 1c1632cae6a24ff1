#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/gst-e2e.sh BUILD_DIR - the documented video round trip, end to end with
# gst-launch-1.0: real photos (multifilesrc + pngdec) -> stegembed -> FFV1 in Matroska
# -> stegreveal -> PNG frames. Checks that
#   - every frame comes back,
#   - FFV1 carried the hybrid losslessly (the decoded hybrid equals `steg hide`'s),
#   - the revealed frames are `steg reveal`'s of the same hybrid, pixel for pixel.
set -euo pipefail
build=$(realpath "$1")
steg=$build/cli/steg
photos=/usr/lib/python3/dist-packages/skimage/data
[ -f "$photos/astronaut.png" ] || { echo "SKIP: python3-skimage's photos are not installed"; exit 77; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export GST_REGISTRY=$work/registry.bin GST_PLUGIN_PATH=$build/gst-element/plugins
cd "$work"
i=0
for p in astronaut coffee chelsea; do cp "$photos/$p.png" "src-$i.png"; i=$((i + 1)); done

frames="multifilesrc location=src-%d.png index=0 stop-index=2 caps=image/png,framerate=5/1 ! pngdec ! \
    videoconvert ! videoscale ! video/x-raw,format=RGB,width=320,height=240,pixel-aspect-ratio=1/1"

# The covers exactly as stegembed receives them, for the reference path.
gst-launch-1.0 -q $frames ! pngenc ! multifilesink location=cover-%d.png
gst-launch-1.0 -q $frames ! stegembed payload="$photos/camera.png" ! \
    videoconvert ! video/x-raw,format=BGRx ! avenc_ffv1 ! matroskamux ! filesink location=hybrid.mkv
gst-launch-1.0 -q filesrc location=hybrid.mkv ! matroskademux ! avdec_ffv1 ! videoconvert ! \
    video/x-raw,format=RGB ! tee name=t \
    t. ! queue ! pngenc ! multifilesink location=decoded-%d.png \
    t. ! queue ! stegreveal ! pngenc ! multifilesink location=revealed-%d.png

psnr() { "$steg" compare --json "$1" "$2" | sed -n 's/.*"psnr_db": *\([^,}]*\).*/\1/p'; }
fail=0
for i in 0 1 2; do
    [ -f "revealed-$i.png" ] || { echo "frame $i was not revealed"; fail=1; continue; }
    "$steg" hide "cover-$i.png" "$photos/camera.png" -o "ref-hybrid-$i.png" --payload-out payload.png >/dev/null
    "$steg" reveal "ref-hybrid-$i.png" -o "ref-revealed-$i.png" >/dev/null
    lossless=$("$steg" compare "ref-hybrid-$i.png" "decoded-$i.png" | awk '{ print $2 }')
    ours=$(psnr payload.png "revealed-$i.png")
    ref=$(psnr payload.png "ref-revealed-$i.png")
    echo "frame $i: hybrid after FFV1 vs steg hide: $lossless dB; revealed $ours dB, steg reveal $ref dB"
    [ "$lossless" = "inf" ] || { echo "FFV1 round trip changed the hybrid"; fail=1; }
    [ "$("$steg" compare "ref-revealed-$i.png" "revealed-$i.png" | awk '{ print $2 }')" = inf ] ||
        { echo "the revealed frame differs from steg reveal's"; fail=1; }
done
[ -f revealed-3.png ] && { echo "more frames came out than went in"; fail=1; }
exit $fail
