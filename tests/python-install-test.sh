#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/python-install-test.sh BUILD_DIR SOURCE_DIR PYTHON - the Python module as users
# install it: `make install` into a prefix (the module beside the installed libsteg), and
# `pip install .` into a virtual environment against that libsteg (pkg-config). Each then
# hides and reveals from a fresh interpreter, outside both trees.
set -euo pipefail
build=$1 src=$2 python=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >"$work/install.log"
libdir=$(dirname "$(find "$work/prefix" -name 'libsteg.so' | head -n1)")
# the PYTHONPATH that make install prints, and only that
pythonpath=$(sed -n 's/^ *Python: PYTHONPATH=\([^ ]*\).*/\1/p' "$work/install.log")
[ -f "$pythonpath/steg/__init__.py" ] || { echo "install names PYTHONPATH '$pythonpath', which holds no steg package"; exit 1; }

check='
import sys, numpy as np, steg
rng = np.random.default_rng(1)
cover = rng.integers(0, 256, (96, 128, 3), dtype=np.uint8)
payload = rng.integers(0, 256, (96, 128), dtype=np.uint8)
ctx = steg.Context()
hybrid = ctx.hide(cover, payload)
assert hybrid.shape == cover.shape and ctx.reveal(hybrid).shape == payload.shape
print(steg.__file__, steg._steg.__file__, ctx.model_path)
'
cd "$work"
# make install: the package in the prefix's site-packages, its RPATH to the prefix's
# libsteg (no LD_LIBRARY_PATH), the prefix's models
out=$(env -u STEG_MODEL -u LD_LIBRARY_PATH PYTHONPATH="$pythonpath" "$python" -c "$check")
echo "make install: $out"
case $out in "$work/prefix/"*" $work/prefix/"*" $work/prefix/share/steg/models/default.safetensors") ;;
    *) echo "the installed module does not use the installed files"; exit 1 ;; esac

# pip install . into a venv (offline: the distribution's setuptools, pybind11 and numpy)
"$python" -m venv --system-site-packages "$work/venv"
cp -r "$src/pyproject.toml" "$src/setup.py" "$src/python" "$work/" && mkdir -p "$work/docs" && cp "$src/docs/python.md" "$work/docs/"
PKG_CONFIG_PATH=$libdir/pkgconfig "$work/venv/bin/pip" install -q --no-build-isolation --no-deps "$work" >"$work/pip.log" 2>&1 ||
    { cat "$work/pip.log"; echo "pip install . failed"; exit 1; }
out=$(env -u LD_LIBRARY_PATH STEG_MODEL="$src/models/default.safetensors" "$work/venv/bin/python" -c "$check")
echo "pip install: $out"
case $out in "$work/venv/"*" $work/venv/"*) ;; *) echo "the venv does not use its own steg"; exit 1 ;; esac
echo "python install OK"
