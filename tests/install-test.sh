#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/install-test.sh BUILD_DIR SOURCE_DIR - installs into a temporary prefix and
# checks what a user of the installed package relies on.
set -euo pipefail
build=$1 src=$2
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >"$prefix.log"
notes=$(cat "$prefix.log"; rm -f "$prefix.log")

libdir=$(dirname "$(find "$prefix" -name 'libsteg.so' | head -n1)")
for f in "$libdir/libsteg.so" "$prefix/include/steg.h" "$libdir/pkgconfig/steg.pc" \
         "$libdir/cmake/steg/stegConfig.cmake" "$prefix/bin/steg" "$prefix/bin/steg-trainer" \
         "$prefix/share/doc/steg/LICENSE"; do
    [ -e "$f" ] || { echo "missing after install: ${f#$prefix/}"; exit 1; }
done
if [ -f "$src/models/default.safetensors" ]; then
    [ -f "$prefix/share/steg/models/default.safetensors" ] || { echo "default model not installed"; exit 1; }
    [ -f "$prefix/share/steg/models/README.md" ] || { echo "model card not installed"; exit 1; }
    # The installed command finds the installed model, not the one in the source tree.
    env -u STEG_MODEL "$prefix/bin/steg" info | grep -q "^model:  $prefix/" || { echo "steg info does not use the installed model"; exit 1; }
fi

# A C program through pkg-config ...
export PKG_CONFIG_PATH=$libdir/pkgconfig
cc -std=c11 -Wall -Werror "$src/tests/install-consumer.c" -o "$prefix/consumer-pc" $(pkg-config --cflags --libs steg)
LD_LIBRARY_PATH=$libdir "$prefix/consumer-pc" | grep -q "libsteg 0.1.0"

# ... and through the CMake package.
mkdir -p "$prefix/cm"
cat > "$prefix/cm/CMakeLists.txt" <<CM
cmake_minimum_required(VERSION 3.18)
project(consumer C)
find_package(steg REQUIRED)
add_executable(consumer $src/tests/install-consumer.c)
target_link_libraries(consumer steg::steg)
CM
cmake -S "$prefix/cm" -B "$prefix/cm/build" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$prefix/cm/build" >/dev/null
LD_LIBRARY_PATH=$libdir "$prefix/cm/build/consumer" | grep -q "libsteg 0.1.0"

# The GStreamer plugin, when built: installed beside libsteg, loadable from there, and
# it runs on the installed model (rpath and model lookup relative to the install).
if [ -f "$build/gst-element/plugins/libgststeg.so" ]; then
    plugin=$libdir/gstreamer-1.0/libgststeg.so
    [ -f "$plugin" ] || { echo "missing after install: ${plugin#$prefix/}"; exit 1; }
    # what `make install` says to set, and only that
    gst_path=$(sed -n 's/^ *GStreamer: export GST_PLUGIN_PATH=\([^ ]*\).*/\1/p' <<<"$notes")
    [ "$gst_path" = "$libdir/gstreamer-1.0" ] || { echo "install names GST_PLUGIN_PATH '$gst_path', not the plugin's folder"; exit 1; }
    export GST_REGISTRY=$prefix/registry.bin GST_PLUGIN_PATH=$gst_path
    gst-inspect-1.0 stegembed >/dev/null || { echo "gst-inspect cannot load the installed plugin"; exit 1; }
    env -u STEG_MODEL -u LD_LIBRARY_PATH gst-launch-1.0 -q videotestsrc num-buffers=1 ! \
        video/x-raw,format=RGB,width=32,height=32 ! stegreveal ! fakesink ||
        { echo "the installed plugin does not run on the installed model"; exit 1; }
fi

# The GIMP filter, when built: in GIMP's folder layout under the prefix, and it loads
# the installed libsteg (whose model lookup the steg command checks above).
if [ -f "$build/gimp-plugin/plug-ins/steg-gimp/steg-gimp" ]; then
    gp=$(find "$prefix/lib" -path '*/gimp/*/plug-ins/steg-gimp/steg-gimp' 2>/dev/null | head -n1)
    [ -n "$gp" ] && [ -x "$gp" ] || { echo "missing after install: lib/.../gimp/*/plug-ins/steg-gimp/steg-gimp"; exit 1; }
    gimp_dir=$(sed -n 's/^ *GIMP: add \([^ ]*\) in Edit > Preferences.*/\1/p' <<<"$notes")
    [ "$gimp_dir/steg-gimp/steg-gimp" = "$gp" ] || { echo "install names the GIMP folder '$gimp_dir', not the filter's"; exit 1; }
    found=$(env -u LD_LIBRARY_PATH ldd "$gp" | awk '$1 == "libsteg.so.0" { print $3 }')
    [ -n "$found" ] && [ "$(realpath "$found")" = "$(realpath "$libdir/libsteg.so.0")" ] ||
        { echo "the installed GIMP filter does not find the installed libsteg (got '$found')"; exit 1; }
fi
echo "install tree OK"
