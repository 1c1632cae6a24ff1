#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/gimp-help-test.sh BUILD_DIR [GIMP_API] - Help in the filter's Hide dialog opens
# the filter's own page (docs/gimp.md as HTML), not GIMP's "manual not installed", in
# a real GIMP window (2.10, or 3.0 with GIMP_API 3.0) under Xvfb.
#
# GIMP hands a help page to the desktop's default HTML viewer; here that is a
# recording script (a .desktop file and mimeapps.list of the test's own). The test
# opens the dialog, presses F1 in it and checks the page the viewer was given.
set -euo pipefail
build=$(realpath "$1")
api=${2:-2.0}
photo=/usr/lib/python3/dist-packages/skimage/data/astronaut.png
[ -f "$photo" ] || { echo "SKIP: python3-skimage's photos are not installed"; exit 77; }
[ -f "$build/gimp-plugin/help/en/gimp-help.xml" ] || { echo "SKIP: the help pages were not built (cmark-gfm)"; exit 77; }

. "$(dirname "$0")/gimp-gui.sh"
echo "(help-browser web-browser)" >> "$GIMP2_DIRECTORY/gimprc"
mkdir -p "$XDG_DATA_HOME/applications"
printf '#!/bin/sh\necho "$1" >> "%s/opened.txt"\n' "$work" > "$work/viewer.sh"
chmod +x "$work/viewer.sh"
printf '[Desktop Entry]\nType=Application\nName=Recorder\nExec=%s %%u\nMimeType=text/html;\n' "$work/viewer.sh" \
    > "$XDG_DATA_HOME/applications/steg-test-viewer.desktop"
printf '[Default Applications]\ntext/html=steg-test-viewer.desktop\n' > "$XDG_CONFIG_HOME/mimeapps.list"

if [ "$api" = 3.0 ]; then
    open="(let* ((img (car (gimp-file-load RUN-NONINTERACTIVE \"$photo\"))) \
                 (drw (vector-ref (car (gimp-image-get-selected-drawables img)) 0))) \
             (gimp-display-new img) \
             (plug-in-steg-hide RUN-INTERACTIVE img (vector drw) -1 \"\" \"luma\" \"scale\" \"\" \"auto\"))"
else
    open="(let* ((img (car (gimp-file-load RUN-NONINTERACTIVE \"$photo\" \"$photo\"))) \
                 (drw (car (gimp-image-get-active-drawable img)))) \
             (gimp-display-new img) (plug-in-steg-hide RUN-INTERACTIVE img drw -1 \"\" \"\" 0 0 0))"
fi
$gimp_bin --no-splash -d -f --batch-interpreter plug-in-script-fu-eval -b "$open" >gimp.log 2>&1 &
pids+=($!)

win=$(wait_window '^Hide Layer in Image')
[ -n "$win" ] || { cat gimp.log; echo "FAIL: the Hide dialog did not open"; exit 1; }
sleep 2
xdotool windowfocus --sync "$win"
xdotool key --clearmodifiers F1
for _ in $(seq 60); do [ -s opened.txt ] && break; sleep 0.5; done
[ -s opened.txt ] || { cat gimp.log; echo "FAIL: Help opened no page"; exit 1; }
page=$(head -n1 opened.txt)
page=${page#file://}
echo "Help opened: $page"
case $page in
*/gimp-help/en/gimp.html | */gimp-plugin/help/en/gimp.html) ;;
*) echo "FAIL: not the filter's page"; exit 1 ;;
esac
grep -q "Hide Layer in Image" "$page" || { echo "FAIL: the page does not describe the filter"; exit 1; }
echo "PASS: Help opens the filter's own page"
