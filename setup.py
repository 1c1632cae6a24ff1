# SPDX-License-Identifier: MIT
"""Builds steg._steg (python/steg-python.cpp) against the libsteg that pkg-config finds.

The metadata is in pyproject.toml; this file only describes the extension, whose flags
come from `pkg-config steg` (libsteg-dev, or a prefix of `make install` on
PKG_CONFIG_PATH). Outside the system library folders the library's folder is also
written into the extension's RPATH, so that it loads without LD_LIBRARY_PATH.
"""

import shlex
import subprocess
import sys

from setuptools import Extension, setup


def pkg_config(*args):
    try:
        out = subprocess.run(["pkg-config", *args, "steg"], check=True, capture_output=True, text=True).stdout
    except FileNotFoundError:
        sys.exit("steg: pkg-config is not installed (Debian: apt install pkg-config)")
    except subprocess.CalledProcessError:
        sys.exit("steg: pkg-config cannot find libsteg: install libsteg-dev, or `make install` steg and put "
                 "PREFIX/lib/<arch>/pkgconfig on PKG_CONFIG_PATH")
    return shlex.split(out)


def pybind11_include():
    try:
        import pybind11
    except ImportError:
        return []  # the distribution's pybind11-dev puts its headers in /usr/include
    return [pybind11.get_include()]


cflags = pkg_config("--cflags")
libs = pkg_config("--libs")
libdir = pkg_config("--variable=libdir")[0]
system_dirs = {"/usr/lib", "/lib", "/usr/lib64", "/lib64"}
rpath = [] if libdir in system_dirs or libdir.startswith("/usr/lib/") else [libdir]

setup(
    # setuptools' own scratch folder, apart from a CMake build folder named build/
    options={"build": {"build_base": "build-python"}},
    ext_modules=[
        Extension(
            "steg._steg",
            sources=["python/steg-python.cpp"],
            include_dirs=pybind11_include() + [f[2:] for f in cflags if f.startswith("-I")],
            extra_compile_args=["-std=c++17", "-fvisibility=hidden"] + [f for f in cflags if not f.startswith("-I")],
            library_dirs=[f[2:] for f in libs if f.startswith("-L")],
            libraries=[f[2:] for f in libs if f.startswith("-l")],
            runtime_library_dirs=rpath,
            language="c++",
        )
    ]
)
