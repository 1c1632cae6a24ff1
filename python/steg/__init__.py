# SPDX-License-Identifier: MIT
"""steg: hide an image in another with a CNN, and reveal it (Rehman et al. 2017).

A Python binding of libsteg. Images are numpy uint8 arrays: covers and hybrids
(H, W, 3) RGB or (H, W, 4) RGBA, payloads (H, W) gray.

    import numpy as np
    from PIL import Image
    import steg

    ctx = steg.Context()                      # the default model; "robust" for JPEG/video
    cover = np.asarray(Image.open("cover.png").convert("RGB"))
    payload = np.asarray(Image.open("secret.png"))   # any size or colour: fitted
    hybrid = ctx.hide(cover, payload)
    Image.fromarray(hybrid).save("hybrid.png")       # lossless, or the payload is lost
    revealed = ctx.reveal(hybrid)
    print(steg.psnr(hybrid, cover), "dB")

Errors are steg.Error and its subclasses (InvalidArgumentError is also a ValueError,
FileError an OSError), carrying libsteg's message. Hide and reveal release the GIL.
"""

from ._steg import (
    CancelledError,
    Context,
    DeviceError,
    Error,
    FileError,
    InvalidArgumentError,
    ModelError,
    OutOfMemoryError,
    __version__,
    colour_difference,
    load_image,
    model_path,
    prepare_payload,
    psnr,
    save_image,
    ssim,
)

__all__ = [
    "CancelledError",
    "Context",
    "DeviceError",
    "Error",
    "FileError",
    "InvalidArgumentError",
    "ModelError",
    "OutOfMemoryError",
    "__version__",
    "colour_difference",
    "load_image",
    "model_path",
    "prepare_payload",
    "psnr",
    "save_image",
    "ssim",
]
