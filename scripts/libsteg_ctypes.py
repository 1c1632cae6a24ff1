# SPDX-License-Identifier: MIT
"""scripts/libsteg_ctypes.py - the few calls of libsteg's C API that the Python scripts
(steganalysis.py, payload-score.py) need, through ctypes, and the BSDS pairs they share:
each photo of a folder clean and with its neighbour hidden in it, as `steg hide` would
save it."""
import ctypes
import os
import sys

import numpy as np


class Image_(ctypes.Structure):  # struct steg_image
    _fields_ = [("width", ctypes.c_int32), ("height", ctypes.c_int32), ("format", ctypes.c_int),
                ("stride", ctypes.c_int64), ("data", ctypes.POINTER(ctypes.c_uint8))]


class Params(ctypes.Structure):  # struct steg_context_params
    _fields_ = [("device", ctypes.c_int), ("n_threads", ctypes.c_int32), ("tile_size", ctypes.c_int32),
                ("progress", ctypes.c_void_p), ("progress_user_data", ctypes.c_void_p), ("precision", ctypes.c_int)]

PRECISIONS = {"auto": 0, "fp32": 1, "bf16": 2, "fp16": 3}  # enum steg_precision


class Libsteg:
    """The few calls of libsteg's C API this script needs, through ctypes: the model is
    loaded once, and each hybrid is exactly what `steg hide` would save."""

    def __init__(self, build, model, threads, precision="fp32"):
        self.lib = lib = ctypes.CDLL(os.path.join(build, "libsteg", "libsteg.so"))
        lib.steg_context_default_params.restype = Params
        lib.steg_init_from_file.restype = ctypes.c_void_p
        lib.steg_init_from_file.argtypes = [ctypes.c_char_p, Params]
        lib.steg_last_error.restype = ctypes.c_char_p
        lib.steg_hide.argtypes = [ctypes.c_void_p] + [ctypes.POINTER(Image_)] * 3
        lib.steg_image_load.argtypes = [ctypes.c_char_p, ctypes.c_int64, ctypes.POINTER(Image_)]
        lib.steg_image_alloc.argtypes = [ctypes.POINTER(Image_), ctypes.c_int32, ctypes.c_int32, ctypes.c_int]
        lib.steg_image_free.argtypes = [ctypes.POINTER(Image_)]
        lib.steg_reveal_scored.argtypes = [ctypes.c_void_p] + [ctypes.POINTER(Image_)] * 2 + [
            ctypes.POINTER(ctypes.c_float)]
        lib.steg_payload_prepare.argtypes = [ctypes.POINTER(Image_), ctypes.c_int32, ctypes.c_int32, ctypes.c_int,
                                             ctypes.c_int, ctypes.POINTER(Image_)]
        p = lib.steg_context_default_params()
        p.device, p.n_threads, p.precision = 1, threads, PRECISIONS[precision]  # CPU
        self.ctx = lib.steg_init_from_file(model.encode(), p)
        if not self.ctx:
            sys.exit(f"{os.path.basename(sys.argv[0])}: {model}: {lib.steg_last_error().decode()}")

    def check(self, status, what):
        if status != 0:
            sys.exit(f"{os.path.basename(sys.argv[0])}: {what}: {self.lib.steg_last_error().decode()}")

    @staticmethod
    def array(img):
        ch = img.format
        rows = np.ctypeslib.as_array(img.data, shape=(img.height * img.stride,))
        return rows.reshape(img.height, img.stride)[:, :img.width * ch].reshape(img.height, img.width, ch).copy()

    def hide(self, cover_path, payload_path):
        """(clean, hybrid) as uint8 HxWx3 arrays: the payload in luma, scaled to the cover."""
        cover, secret, payload, hybrid = Image_(), Image_(), Image_(), Image_()
        try:
            self.check(self.lib.steg_image_load(cover_path.encode(), 0, ctypes.byref(cover)), cover_path)
            self.check(self.lib.steg_image_load(payload_path.encode(), 0, ctypes.byref(secret)), payload_path)
            self.check(self.lib.steg_payload_prepare(ctypes.byref(secret), cover.width, cover.height, 0, 0,
                                                     ctypes.byref(payload)), payload_path)
            self.check(self.lib.steg_image_alloc(ctypes.byref(hybrid), cover.width, cover.height, cover.format),
                       "hybrid")
            self.check(self.lib.steg_hide(self.ctx, ctypes.byref(cover), ctypes.byref(payload),
                                          ctypes.byref(hybrid)), cover_path)
            return self.array(cover)[..., :3], self.array(hybrid)[..., :3]
        finally:
            for img in (cover, secret, payload, hybrid):
                self.lib.steg_image_free(ctypes.byref(img))

    def hide_array(self, cover_rgb, payload_rgb):
        """The hybrid (uint8 HxWx3) of an HxWx3 cover array, the payload (an HxWx3 or HxW
        uint8 array) fitted to it as `steg hide` does; and that fitted payload (HxW)."""
        h, w, _ = cover_rgb.shape
        cover = np.ascontiguousarray(cover_rgb, dtype=np.uint8)
        secret = np.ascontiguousarray(payload_rgb, dtype=np.uint8)
        sc = 1 if secret.ndim == 2 else 3
        ci = Image_(w, h, 3, w * 3, cover.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8)))
        si = Image_(secret.shape[1], secret.shape[0], sc, secret.shape[1] * sc,
                    secret.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8)))
        payload, hybrid = Image_(), Image_()
        try:
            self.check(self.lib.steg_payload_prepare(ctypes.byref(si), w, h, 0, 0, ctypes.byref(payload)), "payload")
            self.check(self.lib.steg_image_alloc(ctypes.byref(hybrid), w, h, 3), "hybrid")
            self.check(self.lib.steg_hide(self.ctx, ctypes.byref(ci), ctypes.byref(payload), ctypes.byref(hybrid)),
                       "hide")
            return self.array(hybrid), self.array(payload)[..., 0]
        finally:
            for img in (payload, hybrid):
                self.lib.steg_image_free(ctypes.byref(img))

    def prepared(self, payload_path, width, height):
        """The payload as hide fits it to a width x height cover (luma, scaled), HxW uint8."""
        secret, payload = Image_(), Image_()
        try:
            self.check(self.lib.steg_image_load(payload_path.encode(), 0, ctypes.byref(secret)), payload_path)
            self.check(self.lib.steg_payload_prepare(ctypes.byref(secret), width, height, 0, 0,
                                                     ctypes.byref(payload)), payload_path)
            return self.array(payload)[..., 0]
        finally:
            for img in (secret, payload):
                self.lib.steg_image_free(ctypes.byref(img))

    def reveal(self, rgb):
        """(revealed payload as a uint8 HxW array, payload score) of an HxWx3 uint8 image."""
        h, w, _ = rgb.shape
        src = np.ascontiguousarray(rgb, dtype=np.uint8)
        img = Image_(w, h, 3, w * 3, src.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8)))  # RGB8
        out, score = Image_(), ctypes.c_float()
        try:
            self.check(self.lib.steg_image_alloc(ctypes.byref(out), w, h, 1), "payload")  # GRAY8
            self.check(self.lib.steg_reveal_scored(self.ctx, ctypes.byref(img), ctypes.byref(out),
                                                   ctypes.byref(score)), "reveal")
            return self.array(out)[..., 0], score.value
        finally:
            self.lib.steg_image_free(ctypes.byref(out))


def make_pairs(steg, folder, tag):
    """(clean, hybrid) for every photo of `folder`, its neighbour hidden in it."""
    names = sorted(n for n in os.listdir(folder) if n.lower().endswith((".jpg", ".png")))
    pairs = []
    for i, name in enumerate(names):
        pairs.append(steg.hide(os.path.join(folder, name), os.path.join(folder, names[(i + 1) % len(names)])))
        print(f"\r{tag}: {i + 1}/{len(names)} hybrids", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return pairs
