#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/gimp-test.sh CASE BUILD_DIR [GIMP_API] - the GIMP filter in a real, headless
# GIMP (gimp-console batch mode, Script-Fu), with a profile of its own. GIMP_API is 2.0
# (GIMP 2.10, the default) or 3.0: the cases are the same, only the Script-Fu dialect
# differs. gimp-console exits 0 whatever happens, so every case checks what GIMP
# printed and what it wrote.
#
# Cases (one ctest test each):
#   hide-then-steg-reveal   hide with the filter, export PNG, reveal with `steg`
#   steg-hide-then-reveal   hide with `steg`, reveal with the filter (as a new image, and
#                           as a new layer)
#   rgba                    alpha of an RGBA layer comes through exactly
#   precision               16-bit and float images: the hybrid sits on the 8-bit grid
#   payload-layer           the payload is another layer, of another size and offset
#   default-payload         no payload named: the image's other layer is hidden; with
#                           none, a message says what to do; the revealed image is
#                           named after its source
#   last-values-and-help    RUN-WITH-LAST-VALS hides without a dialog; the Help button's
#                           help domain is registered and its page exists
#   broken-model            a failed status with the reason, and GIMP runs the next command
#   grayscale               a grayscale image gets a message that says how to convert it
set -euo pipefail
case_name=$1
build=$(realpath "$2")
api=${3:-2.0}
steg=$build/cli/steg
photos=/usr/lib/python3/dist-packages/skimage/data
[ -f "$photos/astronaut.png" ] || { echo "SKIP: python3-skimage's photos are not installed"; exit 77; }
console=gimp-console-2.10 quit=()
# GIMP 3 stays running in the background after a failed batch command unless told.
[ "$api" = 3.0 ] && console=gimp-console-3.0 quit=(--quit)
command -v $console >/dev/null || { echo "SKIP: $console is not installed"; exit 77; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export GIMP2_DIRECTORY=$work/profile GIMP3_DIRECTORY=$work/profile XDG_CONFIG_HOME=$work/xdg XDG_DATA_HOME=$work/xdg-data \
    XDG_CACHE_HOME=$work/xdg-cache HOME=$work
mkdir -p "$GIMP2_DIRECTORY/gradients" "$GIMP2_DIRECTORY/plug-ins"
# The filter straight from the build tree, beside GIMP's own plug-ins.
echo "(plug-in-path \"\${gimp_plug_in_dir}/plug-ins:$build/gimp-plugin/plug-ins\")" > "$GIMP2_DIRECTORY/gimprc"
cd "$work"

# gimp SCRIPT... runs each Script-Fu expression as a batch command, then quits.
gimp() {
    local args=()
    for b in "$@"; do args+=(-b "$b"); done
    timeout 300 $console -i -d -f "${quit[@]}" --batch-interpreter plug-in-script-fu-eval \
        "${args[@]}" -b '(gimp-quit 0)' >gimp.log 2>&1 || true
    cat gimp.log
}
# Fails the case unless GIMP ran every batch command successfully.
expect_success() {
    local want=$1
    [ "$(grep -c 'batch command executed successfully' gimp.log)" -ge "$want" ] ||
        { echo "FAIL: GIMP reported an error (see above)"; exit 1; }
}
psnr() { "$steg" compare "$1" "$2" | awk '{ print $2 }'; }
identical() {  # identical A.png B.png WHAT: the docs promise the same pixels as steg's
    [ "$(psnr "$1" "$2")" = inf ] || { echo "FAIL: $3 differs from steg's ($(psnr "$1" "$2") dB)"; exit 1; }
}
# The two Script-Fu dialects. with_image FILE BODY: load FILE as `img` with its layer
# `drw`, run BODY; save_png IMAGE LAYER FILE; hide PAYLOAD-LAYER FILE MODEL;
# reveal_new_image: the new image made by revealing `drw`; reveal_as_layer: the layer
# added on top of `img` instead; first_layer IMAGE.
if [ "$api" = 3.0 ]; then
    with_image() { echo "(let* ((img (car (gimp-file-load RUN-NONINTERACTIVE \"$1\"))) (drw (vector-ref (car (gimp-image-get-selected-drawables img)) 0))) $2 (gimp-image-delete img))"; }
    save_png() { echo "(gimp-file-save RUN-NONINTERACTIVE $1 \"$3\" -1)"; }
    hide() { echo "(plug-in-steg-hide RUN-NONINTERACTIVE img (vector drw) $1 \"$2\" \"luma\" \"scale\" \"$3\" \"auto\")"; }
    reveal_new_image() { echo "(car (plug-in-steg-reveal RUN-NONINTERACTIVE img (vector drw) \"\" \"auto\" \"image\"))"; }
    reveal_as_layer() { echo "(cadr (plug-in-steg-reveal RUN-NONINTERACTIVE img (vector drw) \"\" \"auto\" \"layer\"))"; }
    first_layer() { echo "(vector-ref (car (gimp-image-get-layers $1)) 0)"; }
    file_name() { echo "(car (gimp-image-get-file $1))"; }
    # GIMP 3's gimp-file-load leaves the image untitled (the desktop's File > Open
    # does not), and gimp-image-set-file takes only XCF names: give it one.
    as_opened() { echo "(gimp-image-set-file img \"$1\")"; }
    u16=PRECISION-U16-NON-LINEAR u8=PRECISION-U8-NON-LINEAR
else
    with_image() { echo "(let* ((img (car (gimp-file-load RUN-NONINTERACTIVE \"$1\" \"$1\"))) (drw (car (gimp-image-get-active-drawable img)))) $2 (gimp-image-delete img))"; }
    save_png() { echo "(file-png-save RUN-NONINTERACTIVE $1 $2 \"$3\" \"$3\" 0 9 0 0 0 0 0)"; }
    hide() { echo "(plug-in-steg-hide RUN-NONINTERACTIVE img drw $1 \"$2\" \"$3\" 0 0 0)"; }
    reveal_new_image() { echo "(car (plug-in-steg-reveal RUN-NONINTERACTIVE img drw \"\" 0 0))"; }
    reveal_as_layer() { echo "(cadr (plug-in-steg-reveal RUN-NONINTERACTIVE img drw \"\" 0 1))"; }
    first_layer() { echo "(vector-ref (cadr (gimp-image-get-layers $1)) 0)"; }
    file_name() { echo "(car (gimp-image-get-filename $1))"; }
    as_opened() { :; }  # gimp-file-load gives the image its file
    u16=PRECISION-U16-GAMMA u8=PRECISION-U8-GAMMA
fi

# The reference path: `steg` alone.
"$steg" hide "$photos/astronaut.png" "$photos/camera.png" -o ref-hybrid.png --payload-out payload.png >/dev/null
"$steg" reveal ref-hybrid.png -o ref-revealed.png >/dev/null
ref=$(psnr payload.png ref-revealed.png)

case $case_name in
hide-then-steg-reveal)
    gimp "$(with_image "$photos/astronaut.png" "$(hide -1 "$photos/camera.png" "") $(save_png img drw hybrid.png)")"
    expect_success 1
    "$steg" reveal hybrid.png -o revealed.png >/dev/null
    ours=$(psnr payload.png revealed.png)
    echo "revealed from the filter's hybrid: $ours dB; steg alone: $ref dB"
    identical ref-hybrid.png hybrid.png "the filter's hybrid"
    identical ref-revealed.png revealed.png "the payload revealed from the filter's hybrid"
    ;;
steg-hide-then-reveal)
    gimp "$(with_image "$work/ref-hybrid.png" \
        "(let* ((new $(reveal_new_image)) (layer $(first_layer new))) \
           $(save_png new layer revealed.png) (gimp-image-delete new))")" \
        "$(with_image "$work/ref-hybrid.png" \
            "(let ((layer $(reveal_as_layer))) (gimp-image-convert-grayscale img) \
               (let ((flat (car (gimp-image-flatten img)))) $(save_png img flat revealed-layer.png)))")"
    expect_success 2
    ours=$(psnr payload.png revealed.png)
    echo "revealed by the filter: $ours dB; steg alone: $ref dB"
    identical ref-revealed.png revealed.png "the filter's revealed image"
    # Revealed as a new layer on top of the hybrid instead: the same pixels.
    # (The image is flattened before export: the opaque new layer covers the hybrid.)
    [ "$(psnr revealed.png revealed-layer.png)" = inf ] || { echo "FAIL: the revealed layer differs"; exit 1; }
    ;;
rgba)
    /usr/bin/python3 - "$photos/astronaut.png" cover-rgba.png <<'PY'
import sys, numpy as np
from PIL import Image
rgb = np.asarray(Image.open(sys.argv[1]).convert("RGB"))
h, w, _ = rgb.shape
alpha = ((np.arange(w)[None, :] * 7 + np.arange(h)[:, None] * 13) % 251 + 3).astype(np.uint8)
Image.fromarray(np.dstack([rgb, alpha]), "RGBA").save(sys.argv[2])
PY
    gimp "$(with_image "$work/cover-rgba.png" "$(hide -1 "$photos/camera.png" "") $(save_png img drw hybrid.png)")"
    expect_success 1
    "$steg" hide cover-rgba.png "$photos/camera.png" -o ref-rgba.png >/dev/null
    [ "$(psnr ref-rgba.png hybrid.png)" = inf ] || { echo "FAIL: RGB differs from steg's"; exit 1; }
    /usr/bin/python3 - cover-rgba.png hybrid.png <<'PY' || { echo "FAIL: alpha changed"; exit 1; }
import sys, numpy as np
from PIL import Image
a, b = (np.asarray(Image.open(p)) for p in sys.argv[1:3])
assert b.shape == a.shape and b.shape[2] == 4, b.shape
assert (a[..., 3] == b[..., 3]).all(), "alpha differs"
print("alpha identical over", a[..., 3].size, "pixels")
PY
    ;;
precision)
    for p in $u16 PRECISION-FLOAT-LINEAR; do
        gimp "$(with_image "$photos/astronaut.png" \
            "(gimp-image-convert-precision img $p) $(hide -1 "$photos/camera.png" "") \
             (gimp-image-convert-precision img $u8) $(save_png img drw hybrid-$p.png)")"
        expect_success 1
        # Back at 8 bits the hybrid is exactly steg's: it was written on the 8-bit grid.
        [ "$(psnr ref-hybrid.png "hybrid-$p.png")" = inf ] || { echo "FAIL: $p: hybrid not on the 8-bit grid"; exit 1; }
        echo "$p: the 8-bit export equals steg's hybrid"
    done
    ;;
payload-layer)
    # camera.png as a layer of its own size, moved; a payload of another size and place.
    gimp "$(with_image "$photos/astronaut.png" \
        "(let ((pl (car (gimp-file-load-layer RUN-NONINTERACTIVE img \"$photos/coffee.png\")))) \
           (gimp-image-insert-layer img pl 0 -1) (gimp-layer-set-offsets pl 37 -20) \
           $(hide pl "" "") (gimp-image-remove-layer img pl)) $(save_png img drw hybrid.png)")"
    expect_success 1
    "$steg" hide "$photos/astronaut.png" "$photos/coffee.png" -o ref-coffee.png --payload-out payload-coffee.png >/dev/null
    "$steg" reveal ref-coffee.png -o ref-coffee-rev.png >/dev/null
    "$steg" reveal hybrid.png -o revealed.png >/dev/null
    ours=$(psnr payload-coffee.png revealed.png)
    ref=$(psnr payload-coffee.png ref-coffee-rev.png)
    echo "coffee (400x600 layer) in astronaut (512x512): $ours dB; steg alone: $ref dB"
    identical ref-coffee.png hybrid.png "the hybrid of a payload layer"
    ;;
default-payload)
    # The documented workflow: the payload is another layer of the image, and it is the
    # one hidden when no payload is named.
    gimp "$(with_image "$photos/astronaut.png" \
        "(let ((pl (car (gimp-file-load-layer RUN-NONINTERACTIVE img \"$photos/camera.png\")))) \
           (gimp-image-insert-layer img pl 0 -1) $(hide -1 "" "") (gimp-image-remove-layer img pl)) \
         $(save_png img drw hybrid.png)")" \
        "$(with_image "$work/ref-hybrid.png" \
            "$(as_opened "$work/ref-hybrid.xcf") (let* ((new $(reveal_new_image)) (p (open-output-file \"$work/name.txt\"))) \
               (display $(file_name new) p) (close-output-port p) (gimp-image-delete new))")"
    expect_success 2
    identical ref-hybrid.png hybrid.png "the hybrid of the image's other layer"
    # The revealed image is named after its source, not [Untitled].
    grep -q "ref-hybrid-revealed.xcf" name.txt || { echo "FAIL: revealed image named '$(cat name.txt)'"; exit 1; }
    # With no other layer and no file, the message says what to do.
    gimp "$(with_image "$photos/astronaut.png" "$(hide -1 "" "")")"
    grep -q "Nothing to hide: this image has no other layer" gimp.log || { echo "FAIL: no message"; exit 1; }
    ;;
last-values-and-help)
    # RUN-WITH-LAST-VALS (listed in the Procedure Browser) runs without a dialog, with
    # last time's values, not the arguments given (GIMP 2.10: here a file payload with
    # letterbox fit, where the arguments say scale and no payload).
    if [ "$api" = 3.0 ]; then
        # GIMP 3 keeps last values of interactive runs only: in batch mode the
        # defaults stand, and the payload is the image's other layer.
        gimp "$(with_image "$photos/astronaut.png" \
            "(let ((pl (car (gimp-file-load-layer RUN-NONINTERACTIVE img \"$photos/camera.png\")))) \
               (gimp-image-insert-layer img pl 0 -1) \
               (plug-in-steg-hide RUN-WITH-LAST-VALS img (vector drw) -1 \"\" \"r\" \"letterbox\" \"\" \"auto\") \
               (gimp-image-remove-layer img pl) $(save_png img drw hybrid.png))")"
        expect_success 1
        identical ref-hybrid.png hybrid.png "the hybrid made with last values"
    else
        gimp "$(with_image "$photos/astronaut.png" "(plug-in-steg-hide RUN-NONINTERACTIVE img drw -1 \"$photos/coffee.png\" \"\" 0 1 0)")" \
            "$(with_image "$photos/astronaut.png" "(plug-in-steg-hide RUN-WITH-LAST-VALS img drw -1 \"\" \"\" 0 0 0) $(save_png img drw hybrid.png)")"
        expect_success 2
        "$steg" hide "$photos/astronaut.png" "$photos/coffee.png" --fit letterbox -o ref-letterbox.png >/dev/null
        identical ref-letterbox.png hybrid.png "the hybrid made with last values"
    fi
    # The Help button: GIMP knows the filter's help domain, whose map names a page
    # that exists.
    uri=$(grep -o "\"steg-gimp-help\" \"file://[^\"]*\"" "$GIMP2_DIRECTORY/pluginrc" | sed 's/.*"file:\/\/\(.*\)"/\1/') ||
        { echo "FAIL: no help domain in GIMP's pluginrc"; exit 1; }
    grep -q 'id="plug-in-steg-hide" ref="gimp.html"' "$uri/en/gimp-help.xml" || { echo "FAIL: no help map in $uri"; exit 1; }
    grep -q "Hide Layer in Image" "$uri/en/gimp.html" || { echo "FAIL: no help page in $uri"; exit 1; }
    echo "help domain: $uri"
    ;;
broken-model)
    echo "not a model" > broken.safetensors
    marker() { echo "(let ((p (open-output-file \"$1\"))) (display \"yes\" p) (close-output-port p))"; }
    call=$(with_image "$photos/astronaut.png" "$(hide -1 "$photos/camera.png" "$work/broken.safetensors")")
    if [ "$api" = 3.0 ]; then
        # GIMP 3 stops batch mode at a failed command, so the failure is caught in Script-Fu.
        gimp "(catch $(marker failed-status) $call)" "$(marker next-command-ran)"
        [ -f failed-status ] || { echo "FAIL: no failed status"; exit 1; }
    else
        gimp "$call" "$(marker next-command-ran)"
        grep -q "execution error" gimp.log || { echo "FAIL: no failed status"; exit 1; }
    fi
    grep -q "Could not load the steg model" gimp.log || { echo "FAIL: the reason is missing"; exit 1; }
    [ -f next-command-ran ] || { echo "FAIL: GIMP did not go on to the next command"; exit 1; }
    ;;
grayscale)
    gimp "$(with_image "$photos/camera.png" "$(hide -1 "$photos/coffee.png" "")")"
    grep -q "Image > Mode > RGB" gimp.log || { echo "FAIL: no advice to convert to RGB"; exit 1; }
    ;;
*)
    echo "unknown case $case_name" >&2
    exit 2
    ;;
esac
echo "PASS: $case_name"
