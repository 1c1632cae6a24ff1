#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""scripts/decoder-headroom.py MODEL [--decoder paper|W1-W2-...] [--steps N] [--lr LR] [--seed S]

How much of a model's loss after JPEG is its decoder's: the model's encoder is kept as
it is, and a decoder is trained on its hybrids after real JPEG alone. If a decoder
trained for JPEG reads much more, the decoder was the limit; if not, what the encoder
writes is.

- `--decoder paper` (the default) fine-tunes the model's own decoder (Table 1);
  `--decoder 32-32-32-32-32-32-32-32` trains a wider one from scratch: 3x3 convs of
  those widths with ReLU, then a 1x1 conv to the payload.
- Training: batches of 32 random 96x96 crops of the ImageNet sample and BSDS500 train/
  (a crop of one photo hides the luma of a crop of another), hidden by the model's
  encoder and rounded to 8 bits, then JPEG at a quality drawn from 70 to 95 (Pillow's
  libjpeg-turbo, 4:2:0) for 80 % of the crops, left as they are for the rest; Adam on the
  payload's mean squared error.
- Every 200 steps, the revealed PSNR on 30 BSDS500 test/ pairs at 300x300 (each photo
  hiding its neighbour, as scripts/channel-curves.py pairs them): from the PNG and after
  JPEG at quality 90 and 75.

Works for models of the paper's architecture (`rehman2017`, such as the robust model),
whose encoder outputs the hybrid, and for the gray codes (`rehman2017-gray`,
`rehman2017-bounded`), whose encoder's output becomes a change equal in R, G and B. Runs the reference's PyTorch layers
(../shared/reference/paper_model.py) on the CPU; needs python3 with torch, numpy and
Pillow, and ../shared/datasets.

    /usr/bin/python3 scripts/decoder-headroom.py models/robust.safetensors --steps 1000
"""
import argparse
import io
import json
import os
import random
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
from PIL import Image

here = os.path.dirname(os.path.abspath(__file__))
shared = os.path.join(here, "..", "..", "shared")
sys.path.insert(0, os.path.join(shared, "reference"))
from paper_model import Decoder, Encoder  # noqa: E402

CROP, BATCH = 96, 32


def load_tensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {})
    tensors = {}
    for name, t in header.items():
        a, b = t["data_offsets"]
        tensors[name] = torch.frombuffer(bytearray(data[a:b]), dtype=torch.float32).reshape(t["shape"])
    return meta, tensors


def part(tensors, prefix):
    return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}


def wide_decoder(widths):
    layers, previous = [], 3
    for w in widths:
        layers += [nn.Conv2d(previous, w, 3, padding=1), nn.ReLU()]
        previous = w
    layers.append(nn.Conv2d(previous, 1, 1))
    return nn.Sequential(*layers)


def centred(u8):
    return torch.from_numpy(u8.astype(np.float32) / 255 - 0.5)


def jpeg(u8, quality):
    buf = io.BytesIO()
    Image.fromarray(u8).save(buf, format="JPEG", quality=quality, subsampling=2)
    buf.seek(0)
    return np.asarray(Image.open(buf).convert("RGB"))


def psnr(a, b):
    return 10 * np.log10(255.0 ** 2 / np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[1])
    ap.add_argument("model")
    ap.add_argument("--decoder", default="paper")
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(os.cpu_count())
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)

    meta, tensors = load_tensors(args.model)
    arch = meta.get("architecture")
    if arch not in ("rehman2017", "rehman2017-gray", "rehman2017-bounded"):
        sys.exit(f"{args.model}: architecture '{arch}'; this probe takes 'rehman2017', 'rehman2017-gray' "
                 "and 'rehman2017-bounded'")
    bound = float(meta.get("change_bound", "0")) / 255.0
    enc = Encoder()
    enc.load_state_dict(part(tensors, "encoder."))
    enc.eval()
    if args.decoder == "paper":
        dec = Decoder()
        dec.load_state_dict(part(tensors, "decoder."))
        dec = dec.net
    else:
        dec = wide_decoder([int(w) for w in args.decoder.split("-")])
    print(f"decoder {args.decoder}: {sum(p.numel() for p in dec.parameters())} parameters", flush=True)

    @torch.no_grad()
    def hide(cover, payload):
        host = centred(cover).permute(2, 0, 1)[None]
        out = enc(host, centred(payload)[None, None])[0]
        if arch == "rehman2017-gray":  # the change, the same in R, G and B (libsteg's Model::hybrid)
            out = host[0] + out.mean(0, keepdim=True)
        elif arch == "rehman2017-bounded":  # b tanh(g / b) of the gray change, b the model's bound
            out = host[0] + bound * torch.tanh(out.mean(0, keepdim=True) / bound)
        return ((out + 0.5) * 255).round().clamp(0, 255).to(torch.uint8).permute(1, 2, 0).numpy()

    data = os.path.join(shared, "datasets")
    files = [os.path.join(data, d, f) for d in ("imagenet-sample", "bsds/train")
             for f in sorted(os.listdir(os.path.join(data, d))) if f.lower().endswith((".jpg", ".jpeg", ".png"))]
    photos = [im for im in (Image.open(f).convert("RGB") for f in files) if min(im.size) >= CROP]

    def crop(im):
        x, y = rng.randrange(im.size[0] - CROP + 1), rng.randrange(im.size[1] - CROP + 1)
        return im.crop((x, y, x + CROP, y + CROP))

    test = os.path.join(data, "bsds/test")
    names = sorted(f for f in os.listdir(test) if f.endswith(".jpg"))[:60]
    test_photos = [Image.open(os.path.join(test, f)).convert("RGB").resize((300, 300), Image.LANCZOS) for f in names]
    pairs = []
    for i in range(0, len(test_photos) - 1, 2):
        payload = np.asarray(test_photos[i + 1].convert("L"))
        hybrid = hide(np.asarray(test_photos[i]), payload)
        pairs.append((payload, {"png": hybrid, "jpeg 90": jpeg(hybrid, 90), "jpeg 75": jpeg(hybrid, 75)}))

    @torch.no_grad()
    def evaluate():
        out = {}
        for channel in ("png", "jpeg 90", "jpeg 75"):
            ps = []
            for payload, seen in pairs:
                y = dec(centred(seen[channel]).permute(2, 0, 1)[None])[0, 0]
                ps.append(psnr(((y + 0.5) * 255).round().clamp(0, 255).numpy(), payload))
            out[channel] = round(float(np.mean(ps)), 2)
        return out

    print("step 0", json.dumps(evaluate()), flush=True)
    opt = torch.optim.Adam(dec.parameters(), lr=args.lr)
    start = time.time()
    for step in range(1, args.steps + 1):
        xs, ys = [], []
        for _ in range(BATCH):
            payload = np.asarray(crop(rng.choice(photos)).convert("L"))
            hybrid = hide(np.asarray(crop(rng.choice(photos))), payload)
            if rng.random() < 0.8:
                hybrid = jpeg(hybrid, rng.randint(70, 95))
            xs.append(centred(hybrid).permute(2, 0, 1))
            ys.append(centred(payload)[None])
        loss = ((dec(torch.stack(xs)) - torch.stack(ys)) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 200 == 0 or step == args.steps:
            print(f"step {step} ({time.time() - start:.0f} s)", json.dumps(evaluate()), flush=True)


if __name__ == "__main__":
    main()
