#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/gimp-undo-test.sh BUILD_DIR [GIMP_API] - one Edit > Undo after Hide Layer in
# Image gives back the original pixels exactly, in a real GIMP window (2.10, or 3.0 with
# GIMP_API 3.0) under Xvfb.
#
# The PDB has no undo call, so this drives the GUI: GIMP shows the photo and runs its
# Script-Fu server; the test hides through the server, presses Ctrl+Z in the image
# window (xdotool), and exports the layer through the server again. The export must be
# the original photo, pixel for pixel, while the export before the undo must not.
set -euo pipefail
build=$(realpath "$1")
api=${2:-2.0}
steg=$build/cli/steg
photo=/usr/lib/python3/dist-packages/skimage/data/astronaut.png
secret=/usr/lib/python3/dist-packages/skimage/data/camera.png
[ -f "$photo" ] || { echo "SKIP: python3-skimage's photos are not installed"; exit 77; }
. "$(dirname "$0")/gimp-gui.sh"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

# The Script-Fu of each GIMP: load the photo; the first image, its layer; export; hide.
if [ "$api" = 3.0 ]; then
    load="(car (gimp-file-load RUN-NONINTERACTIVE \"$photo\"))"
    image='(vector-ref (car (gimp-get-images)) 0)'
    layer="(vector-ref (car (gimp-image-get-selected-drawables $image)) 0)"
    export_expr() { echo "(gimp-file-save RUN-NONINTERACTIVE $image \"$work/$1\" -1)"; }
    hide_expr="(plug-in-steg-hide RUN-NONINTERACTIVE $image (vector $layer) -1 \"$secret\" \"luma\" \"scale\" \"\" \"auto\")"
else
    load="(car (gimp-file-load RUN-NONINTERACTIVE \"$photo\" \"$photo\"))"
    image='(vector-ref (cadr (gimp-image-list)) 0)'
    layer="(car (gimp-image-get-active-drawable $image))"
    export_expr() { echo "(file-png-save RUN-NONINTERACTIVE $image $layer \"$work/$1\" \"$1\" 0 9 0 0 0 0 0)"; }
    hide_expr="(plug-in-steg-hide RUN-NONINTERACTIVE $image $layer -1 \"$secret\" \"\" 0 0 0)"
fi

$gimp_bin --no-splash -d -f --batch-interpreter plug-in-script-fu-eval \
    -b "(gimp-display-new $load)" \
    -b "(plug-in-script-fu-server RUN-NONINTERACTIVE \"127.0.0.1\" $port \"\")" >gimp.log 2>&1 &
pids+=($!)

# sf EXPR: evaluates EXPR in GIMP through the Script-Fu server; fails on an error.
sf() {
    python3 - "$port" "$1" <<'PY'
import socket, struct, sys, time
port, expr = int(sys.argv[1]), sys.argv[2].encode()
deadline = time.time() + 180
while True:
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=300)
        break
    except OSError:
        if time.time() > deadline:
            sys.exit("GIMP's Script-Fu server did not start")
        time.sleep(0.5)
def read(n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            sys.exit("connection closed")
        b += c
    return b
s.sendall(b"G" + struct.pack(">H", len(expr)) + expr)
head = read(4)
text = read(struct.unpack(">H", head[2:4])[0]).decode(errors="replace")
print(text)
sys.exit(1 if head[1] else 0)
PY
}

export_as() { sf "$(export_expr "$1")" >/dev/null; }

sf "$hide_expr" >/dev/null
export_as hidden.png
[ "$("$steg" compare "$photo" hidden.png | awk '{ print $2 }')" != inf ] ||
    { echo "FAIL: hiding did not change the layer"; exit 1; }

# Ctrl+Z in the image window, as a user would press it.
# The image window's title: "[astronaut] (imported)-1.0 (RGB color ..." in GIMP 2.10,
# "*[Untitled]-1.0 (RGB color ..." in GIMP 3 (which also opens a welcome dialog).
win=
for _ in $(seq 60); do
    for w in $(xdotool search --onlyvisible --name . 2>/dev/null || true); do
        xdotool getwindowname "$w" 2>/dev/null | grep -q '1\.0 (RGB color' && { win=$w; break; }
    done
    [ -n "$win" ] && break
    sleep 0.5
done
if [ -z "$win" ]; then
    echo "FAIL: no GIMP image window; windows:"
    for w in $(xdotool search --name . 2>/dev/null || true); do echo "  $(xdotool getwindowname "$w" 2>/dev/null || true)"; done
    cat gimp.log
    exit 1
fi
xdotool windowfocus --sync "$win"
xdotool key --clearmodifiers ctrl+z
for _ in $(seq 20); do
    sleep 0.5
    export_as undone.png
    [ "$("$steg" compare "$photo" undone.png | awk '{ print $2 }')" = inf ] && break
done
result=$("$steg" compare "$photo" undone.png)
echo "after one undo, against the original: $result"
[ "$(echo "$result" | awk '{ print $2 }')" = inf ] || { echo "FAIL: undo did not restore the original pixels"; exit 1; }
echo "PASS: one undo restores the original exactly"
