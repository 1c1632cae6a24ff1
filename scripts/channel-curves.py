#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""scripts/channel-curves.py BUILD_DIR MODEL [MODEL ...] [--pairs N] [--frames N] [--plot PNG]

What the real lossy channels do to each model's revealed payload: the numbers of the
robust model's card and the curves of docs/results.md.

- Photos: BSDS500 test/ at 300x300 (N cover/payload pairs, each photo hiding its
  neighbour, as Table 3), hidden with libsteg, then carried by the real channel:
  GStreamer's videoconvert to I420 and back; JPEG (libjpeg-turbo through Pillow, 4:2:0)
  at qualities 50 to 100. Mean revealed PSNR against the payload as hidden.
- Video: N frames made from BSDS500 test/ photos scaled to 1920x1080, hidden, carried
  by videoconvert to I420 and back, and encoded with x264 (constant quality, crf 12 to
  30, 4:2:0, one stream; the container does not touch the pixels; x264enc's bitrate,
  which caps a constant-quality stream at 2 Mbit/s by default, set to its maximum so
  that the crf alone decides) and decoded with GStreamer's avdec_h264, then revealed.

Prints a Markdown table per model and one JSON line with every figure; --plot draws the
curves (revealed PSNR against JPEG quality and x264 crf) for all models in one PNG.

    /usr/bin/python3 scripts/channel-curves.py build models/default.safetensors \\
        models/robust.safetensors --plot docs/images/channel-curves.png

Needs python3 with numpy, Pillow and matplotlib, gst-launch-1.0 with
gstreamer1.0-plugins-good, -ugly (x264enc) and -libav, and ../shared/datasets/bsds.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from steg_build import Libsteg  # noqa: E402

JPEG_QUALITIES = [50, 60, 70, 75, 80, 90, 95, 100]
CRFS = [12, 15, 18, 21, 24, 27, 30]


def psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 100.0 if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def gst(pipeline):
    env = dict(os.environ, GST_REGISTRY=os.path.join(tempfile.gettempdir(), "steg-curves-registry.bin"))
    subprocess.run(["gst-launch-1.0", "-q"] + pipeline.split(), check=True, env=env)


def through_gst(frames, work, middle, fps="5/1"):
    """Each HxWx3 frame through `middle` (between RGB caps), as one stream; the frames back."""
    h, w, _ = frames[0].shape
    for i, f in enumerate(frames):
        Image.fromarray(f).save(os.path.join(work, f"in-{i}.png"))
    for f in os.listdir(work):
        if f.startswith("out-"):
            os.remove(os.path.join(work, f))
    gst(f"multifilesrc location={work}/in-%d.png index=0 stop-index={len(frames) - 1} caps=image/png,framerate={fps} "
        f"! pngdec ! videoconvert ! video/x-raw,format=RGB ! {middle} ! videoconvert ! video/x-raw,format=RGB "
        f"! pngenc ! multifilesink location={work}/out-%d.png")
    return [np.asarray(Image.open(os.path.join(work, f"out-{i}.png")).convert("RGB")) for i in range(len(frames))]


def jpeg(rgb, quality, work):
    path = os.path.join(work, "j.jpg")
    Image.fromarray(rgb).save(path, quality=quality, subsampling=2)  # 4:2:0, libjpeg-turbo
    return np.asarray(Image.open(path).convert("RGB"))


def photos(folder, n, size):
    names = sorted(f for f in os.listdir(folder) if f.lower().endswith(".jpg"))
    pick = names[:2 * n]
    imgs = [np.asarray(Image.open(os.path.join(folder, f)).convert("RGB").resize(size, Image.LANCZOS)) for f in pick]
    return [(imgs[2 * i], imgs[2 * i + 1]) for i in range(len(imgs) // 2)]


def measure(build, model, pairs, frames, work):
    steg = Libsteg(build, model, threads=0)
    out = {"model": os.path.basename(model)}
    hyb, pay, cov = [], [], []
    for cover, secret in pairs:
        h, p = steg.hide_array(cover, secret)
        hyb.append(h), pay.append(p), cov.append(cover)
    out["hybrid_psnr"] = float(np.mean([psnr(c, h) for c, h in zip(cov, hyb)]))

    def revealed(images, payloads):
        return float(np.mean([psnr(steg.reveal(img)[0], p) for img, p in zip(images, payloads)]))

    out["png"] = revealed(hyb, pay)
    out["yuv420"] = revealed(through_gst(hyb, work, "videoconvert ! video/x-raw,format=I420"), pay)
    out["jpeg"] = {q: revealed([jpeg(h, q, work) for h in hyb], pay) for q in JPEG_QUALITIES}
    print(f"{out['model']}: photos done", file=sys.stderr, flush=True)

    vh, vp, vc = [], [], []
    for cover, secret in frames:
        h, p = steg.hide_array(cover, secret)
        vh.append(h), vp.append(p), vc.append(cover)
    out["hybrid_psnr_1080p"] = float(np.mean([psnr(c, h) for c, h in zip(vc, vh)]))
    out["yuv420_1080p"] = revealed(through_gst(vh, work, "videoconvert ! video/x-raw,format=I420"), vp)
    out["x264"] = {}
    for crf in CRFS:
        back = through_gst(vh, work, f"videoconvert ! video/x-raw,format=I420 ! x264enc pass=qual quantizer={crf} "
                                     f"bitrate=2048000 ! avdec_h264")
        out["x264"][crf] = revealed(back, vp)
    print(f"{out['model']}: video done", file=sys.stderr, flush=True)
    return out


def table(r):
    rows = [("hybrid, 300x300 photos", r["hybrid_psnr"]), ("revealed from the PNG", r["png"]),
            ("revealed after YUV 4:2:0 (videoconvert)", r["yuv420"])]
    rows += [(f"revealed after JPEG quality {q}", r["jpeg"][q]) for q in JPEG_QUALITIES]
    rows += [("hybrid, 1080p frames", r["hybrid_psnr_1080p"]),
             ("revealed after YUV 4:2:0 (1080p, the codec's first step)", r["yuv420_1080p"])]
    rows += [(f"revealed after x264 crf {c} (1080p)", r["x264"][c]) for c in CRFS]
    lines = [f"| {r['model']} | PSNR |", "| --- | --- |"] + [f"| {a} | {b:.2f} dB |" for a, b in rows]
    return "\n".join(lines)


def plot(results, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    for r in results:
        a.plot(JPEG_QUALITIES, [r["jpeg"][q] for q in JPEG_QUALITIES], marker="o", label=r["model"])
        b.plot(CRFS, [r["x264"][c] for c in CRFS], marker="o", label=r["model"])
    a.set(xlabel="JPEG quality (libjpeg-turbo, 4:2:0)", ylabel="revealed PSNR (dB)",
          title="BSDS500 test/, 300x300")
    b.set(xlabel="x264 crf (1080p)", ylabel="revealed PSNR (dB)", title="frames from BSDS500 test/, 1920x1080")
    for ax in (a, b):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("build")
    ap.add_argument("models", nargs="+")
    ap.add_argument("--pairs", type=int, default=100, help="cover/payload pairs of 300x300 photos")
    ap.add_argument("--frames", type=int, default=3, help="1080p frames")
    ap.add_argument("--plot", help="write the curves here (PNG)")
    a = ap.parse_args()
    data = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "datasets", "bsds", "test")
    if not os.path.isdir(data):
        sys.exit("channel-curves.py: ../shared/datasets/bsds/test is needed")
    pairs = photos(data, a.pairs, (300, 300))
    frames = photos(data, a.frames, (1920, 1080))
    results = []
    with tempfile.TemporaryDirectory() as work:
        for m in a.models:
            results.append(measure(a.build, m, pairs, frames, work))
            print(table(results[-1]) + "\n")
    print(json.dumps(results))
    if a.plot:
        plot(results, a.plot)


if __name__ == "__main__":
    main()
