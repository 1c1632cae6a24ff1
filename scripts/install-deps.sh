#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# scripts/install-deps.sh - installs what steg needs to build, test and run its demo,
# from the distribution's packages (Debian 12+, Ubuntu 24.04+). Installs only what is
# missing, so it is quick to run again. Pass --bench to add the PyTorch reference's
# python3-torch (for bench/run), --fuzz to add clang and its libFuzzer (for make fuzz).
set -euo pipefail

packages=(
    g++ cmake ninja-build pkg-config make
    libtorch-dev libgloo-dev libpng-dev libjpeg-dev libwebp-dev zlib1g-dev
    nlohmann-json3-dev libcli11-dev libfmt-dev
    libgtest-dev libgmock-dev libbenchmark-dev
    python3-skimage   # the classic test photos used by the demo and the tests
    # the GStreamer plugin, and what its tests' pipelines use (FFV1 and the H.264 decoder
    # come from libav, x264enc, which the channel stand-ins are held to, from -ugly)
    libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev gstreamer1.0-tools
    gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly gstreamer1.0-libav
    # the headless GIMP the filter's tests drive, and for the undo test a GIMP window on
    # a virtual display
    gimp xvfb xdotool
    cmark-gfm   # the GIMP filter's help pages, made from docs/gimp.md
    # the Python module (pybind11) and its tests; pip and venv for `pip install .`
    python3-dev pybind11-dev python3-numpy python3-pytest python3-pip python3-venv python3-setuptools pkg-config
)
# The GIMP filter builds against GIMP 3 where the distribution has it (Debian 13,
# Ubuntu 25.04+), else against GIMP 2.10 (Debian 12, Ubuntu 24.04).
codename=$( . /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
case $codename in
    bookworm | jammy | noble) packages+=(libgimp2.0-dev) ;;
    *) packages+=(libgimp-3.0-dev) ;;
esac
[ "${1:-}" = "--bench" ] && packages+=(python3-torch)
[ "${1:-}" = "--deb" ] && packages+=(build-essential debhelper dh-python dpkg-dev help2man lintian fakeroot)
[ "${1:-}" = "--fuzz" ] && packages+=(clang libclang-rt-dev)

if ! command -v dpkg-query >/dev/null || ! command -v apt-get >/dev/null; then
    echo "install-deps: this script knows Debian and Ubuntu only; install these by hand:" >&2
    echo "  ${packages[*]}" >&2
    exit 1
fi

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "install-deps: run as root or install sudo" >&2; exit 1; }
    sudo=sudo
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
