#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# scripts/gst-transport-check.sh BUILD_DIR [MODEL] - what each way of carrying the
# hybrid video does to the payload, measured: three real photos (python3-skimage) at
# 640x480 -> stegembed (camera.png as payload) -> TRANSPORT -> stegreveal, then the mean
# revealed PSNR / SSIM against the payload as hidden, per transport. MODEL: a model
# file (default: the shipped default). The numbers in docs/gstreamer.md come from this
# script.
set -euo pipefail
build=$(realpath "${1:?usage: gst-transport-check.sh BUILD_DIR [MODEL]}")
model=$(realpath "${2:-$(dirname "$0")/../models/default.safetensors}")
steg=$build/cli/steg
photos=/usr/lib/python3/dist-packages/skimage/data
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export GST_REGISTRY=$work/registry.bin GST_PLUGIN_PATH=$build/gst-element/plugins
cd "$work"
i=0
for p in astronaut coffee chelsea; do cp "$photos/$p.png" "src-$i.png"; i=$((i + 1)); done
caps=video/x-raw,format=RGB,width=640,height=480,pixel-aspect-ratio=1/1,framerate=5/1
src="multifilesrc location=src-%d.png index=0 stop-index=2 caps=image/png,framerate=5/1 ! pngdec ! \
    videoconvert ! videoscale ! $caps ! stegembed model=$model payload=$photos/camera.png"
reveal="videoconvert ! video/x-raw,format=RGB ! stegreveal model=$model ! pngenc ! multifilesink location=rev-%d.png"

# name | encode (after stegembed) | decode (before $reveal)
transports=(
    "FFV1 in Matroska (BGRx)|videoconvert ! video/x-raw,format=BGRx ! avenc_ffv1 ! matroskamux|matroskademux ! avdec_ffv1"
    "PNG frames|pngenc ! multipartmux|multipartdemux ! pngdec"
    "raw I420 (4:2:0, no codec)|videoconvert ! video/x-raw,format=I420 ! matroskamux|matroskademux"
    "FFV1 in I420 (lossless codec after a 4:2:0 conversion)|videoconvert ! video/x-raw,format=I420 ! avenc_ffv1 ! matroskamux|matroskademux ! avdec_ffv1"
    "FFV1 in Y444 (lossless codec, 4:4:4 YUV)|videoconvert ! video/x-raw,format=Y444 ! avenc_ffv1 ! matroskamux|matroskademux ! avdec_ffv1"
    "JPEG quality 95 (jpegenc from RGB)|jpegenc quality=95 ! multipartmux|multipartdemux ! jpegdec"
    "MPEG-4 part 2, 8 Mbit/s (4:2:0)|videoconvert ! avenc_mpeg4 bitrate=8000000 ! matroskamux|matroskademux ! avdec_mpeg4"
    "VP8, 8 Mbit/s (4:2:0)|videoconvert ! vp8enc target-bitrate=8000000 deadline=1 ! matroskamux|matroskademux ! vp8dec"
    "H.264 (x264), 8 Mbit/s (4:2:0)|videoconvert ! x264enc bitrate=8000 ! matroskamux|matroskademux ! avdec_h264"
)
# The payload as hidden: camera.png as luma, scaled to 640x480.
gst-launch-1.0 -q multifilesrc location=src-0.png index=0 stop-index=0 caps=image/png ! pngdec ! \
    videoconvert ! videoscale ! $caps ! pngenc ! filesink location=cover0.png
"$steg" hide --model "$model" cover0.png "$photos/camera.png" -o h0.png --payload-out payload.png >/dev/null

echo "| transport | revealed PSNR | revealed SSIM |"
echo "|---|---|---|"
for t in "${transports[@]}"; do
    IFS='|' read -r name enc dec <<<"$t"
    missing=
    for e in $(tr '!' '\n' <<<"$enc ! $dec" | awk '{ print $1 }' | grep -v /); do  # element names, not caps
        gst-inspect-1.0 --exists "$e" || missing="$missing $e"
    done
    if [ -n "$missing" ]; then
        echo "| $name | not measured (missing:$missing) | |"
        continue
    fi
    rm -f rev-*.png stream.bin
    gst-launch-1.0 -q $src ! $enc ! filesink location=stream.bin
    gst-launch-1.0 -q filesrc location=stream.bin ! $dec ! $reveal
    psnr=0 ssim=0 n=0
    for f in rev-*.png; do
        read -r p s < <("$steg" compare --json payload.png "$f" | sed -E 's/.*"psnr_db": *([^,]*), *"ssim": *([^,}]*).*/\1 \2/')
        psnr=$(awk -v a="$psnr" -v b="$p" 'BEGIN { print a + b }')
        ssim=$(awk -v a="$ssim" -v b="$s" 'BEGIN { print a + b }')
        n=$((n + 1))
    done
    awk -v name="$name" -v p="$psnr" -v s="$ssim" -v n="$n" \
        'BEGIN { printf "| %s | %.2f dB | %.3f |\n", name, p / n, s / n }'
done
