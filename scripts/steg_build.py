# SPDX-License-Identifier: MIT
"""scripts/steg_build.py - the steg Python module of a build tree (BUILD/python), as the
measuring scripts (bf16-check.py, channel-curves.py, payload-score.py, steganalysis.py)
use it, and the BSDS pairs they share: each photo of a folder clean and with its
neighbour hidden in it, as `steg hide` would save it."""
import os
import sys

import numpy as np


def import_steg(build):
    """The steg module built in `build` (configure with python3-dev and pybind11)."""
    sys.path.insert(0, os.path.join(os.path.abspath(build), "python"))
    try:
        import steg
    except ImportError as e:
        sys.exit(f"{os.path.basename(sys.argv[0])}: no steg Python module in {build}/python ({e}); "
                 "install python3-dev and pybind11-dev and build again")
    return steg


def rgb(image):
    """An image as loaded (gray, RGB or RGBA) as H x W x 3."""
    return np.repeat(image[..., None], 3, axis=2) if image.ndim == 2 else image[..., :3]


class Libsteg:
    """A model loaded once on the CPU; each hybrid is exactly what `steg hide` would save
    (the payload fitted to the cover as luma, scaled)."""

    def __init__(self, build, model, threads, precision="fp32"):
        self.steg = import_steg(build)
        try:
            self.ctx = self.steg.Context(model, device="cpu", threads=threads, precision=precision)
        except self.steg.Error as e:
            sys.exit(f"{os.path.basename(sys.argv[0])}: {model}: {e}")

    def hide(self, cover_path, payload_path):
        """(clean, hybrid) as uint8 HxWx3 arrays: the payload in luma, scaled to the cover."""
        cover = rgb(self.steg.load_image(cover_path))
        return cover, self.ctx.hide(cover, self.steg.load_image(payload_path))

    def hide_array(self, cover_rgb, payload_rgb):
        """The hybrid (uint8 HxWx3) of an HxWx3 cover array, the payload (an HxWx3 or HxW
        uint8 array) fitted to it as `steg hide` does; and that fitted payload (HxW)."""
        h, w, _ = cover_rgb.shape
        payload = self.steg.prepare_payload(np.ascontiguousarray(payload_rgb, dtype=np.uint8), w, h)
        return self.ctx.hide(np.ascontiguousarray(cover_rgb, dtype=np.uint8), payload), payload

    def prepared(self, payload_path, width, height):
        """The payload as hide fits it to a width x height cover (luma, scaled), HxW uint8."""
        return self.steg.prepare_payload(self.steg.load_image(payload_path), width, height)

    def reveal(self, image):
        """(revealed payload as a uint8 HxW array, payload score) of an HxWx3 uint8 image."""
        return self.ctx.reveal_scored(np.ascontiguousarray(image, dtype=np.uint8))


def make_pairs(steg, folder, tag):
    """(clean, hybrid) for every photo of `folder`, its neighbour hidden in it."""
    names = sorted(n for n in os.listdir(folder) if n.lower().endswith((".jpg", ".png")))
    pairs = []
    for i, name in enumerate(names):
        pairs.append(steg.hide(os.path.join(folder, name), os.path.join(folder, names[(i + 1) % len(names)])))
        print(f"\r{tag}: {i + 1}/{len(names)} hybrids", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return pairs
