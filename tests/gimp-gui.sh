# SPDX-License-Identifier: MIT
# tests/gimp-gui.sh - sourced by the scripts that drive a real GIMP window under Xvfb
# (tests/gimp-undo-test.sh, tests/gimp-help-test.sh, scripts/gimp-screenshots). Needs
# $build (the build tree) and $api (2.0 or 3.0). Sets $gimp_bin; makes $work, a folder
# that is also GIMP's profile (the build tree's filter on its plug-in path) and HOME, and
# cd's into it; starts Xvfb and exports DISPLAY; on exit, kills what was started (add
# PIDs to `pids`) and removes $work. A missing tool exits with $missing_status (77, the
# tests' skip, unless set).
gimp_bin=gimp-2.10
[ "$api" = 3.0 ] && gimp_bin=gimp-3.0
for t in $gimp_bin Xvfb xdotool; do
    command -v $t >/dev/null || { echo "SKIP: $t is not installed"; exit "${missing_status:-77}"; }
done

work=$(mktemp -d)
pids=()
gimp_gui_cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap gimp_gui_cleanup EXIT
export GIMP2_DIRECTORY=$work/profile GIMP3_DIRECTORY=$work/profile XDG_CONFIG_HOME=$work/xdg XDG_DATA_HOME=$work/xdg-data \
    XDG_CACHE_HOME=$work/xdg-cache HOME=$work
mkdir -p "$GIMP2_DIRECTORY/gradients" "$XDG_CONFIG_HOME" "$XDG_DATA_HOME"
echo "(plug-in-path \"\${gimp_plug_in_dir}/plug-ins:$build/gimp-plugin/plug-ins\")" > "$GIMP2_DIRECTORY/gimprc"
cd "$work"

Xvfb -displayfd 3 -screen 0 1280x1000x24 -nolisten tcp 3>display.txt >xvfb.log 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -s display.txt ] && break; sleep 0.2; done
export DISPLAY=:$(cat display.txt)

# wait_window TITLE-REGEX: prints the id of the first visible window whose title
# matches, waiting up to 2 minutes (nothing if none appears).
wait_window() {
    local w=
    for _ in $(seq 240); do
        w=$(xdotool search --onlyvisible --name "$1" 2>/dev/null | head -1 || true)
        [ -n "$w" ] && break
        sleep 0.5
    done
    echo "$w"
}
