#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""scripts/steganalysis.py BUILD_DIR MODEL - how well a small CNN steganalyser tells a
model's hybrids from clean photos.

Hides, with libsteg as `steg hide` does, each BSDS500 photo's neighbour (the next photo
of its folder) in it, so every photo exists twice: clean (as decoded) and as the 8-bit
hybrid `steg hide` would save. A small CNN (a fixed high-pass filter, as in SRM/Xu-Net style
steganalysers, then three learnt convolutions) trains on the pairs made from
`bsds/train` and is tested on those made from `bsds/test`, whose photos it never saw.
Prints the held-out accuracy, the share of hybrids caught (true positives) and of clean
photos flagged (false positives), as text and as one JSON line.

An accuracy near 50 % means the hybrids pass as clean photos for this detector; it is
one detector, trained on 400 images on a CPU, so a stronger one may do better.

    /usr/bin/python3 scripts/steganalysis.py build models/default.safetensors

Needs python3 with torch, numpy and PIL (Debian: python3-torch python3-numpy python3-pil)
and ../shared/datasets/bsds beside the project.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from steg_build import Libsteg, make_pairs  # noqa: E402


class Steganalyser(nn.Module):
    def __init__(self):
        super().__init__()
        # The KV high-pass kernel of SRM, fixed, on each colour channel: the detector
        # looks at the noise residual, where hiding leaves its trace, not at content.
        kv = torch.tensor([[-1, 2, -2, 2, -1], [2, -6, 8, -6, 2], [-2, 8, -12, 8, -2],
                           [2, -6, 8, -6, 2], [-1, 2, -2, 2, -1]], dtype=torch.float32) / 12
        self.register_buffer("hpf", kv.expand(3, 1, 5, 5).clone())
        self.c1 = nn.Conv2d(3, 16, 3, padding=1)
        self.b1 = nn.BatchNorm2d(16)
        self.c2 = nn.Conv2d(16, 32, 3, padding=1)
        self.b2 = nn.BatchNorm2d(32)
        self.c3 = nn.Conv2d(32, 64, 3, padding=1)
        self.b3 = nn.BatchNorm2d(64)
        self.fc = nn.Linear(64 + 3, 2)

    def forward(self, x):  # x: N x 3 x H x W in [0, 255]
        r = F.conv2d(x, self.hpf, padding=2, groups=3)
        h = F.avg_pool2d(F.relu(self.b1(self.c1(torch.tanh(r / 4)))), 2)
        h = F.avg_pool2d(F.relu(self.b2(self.c2(h))), 2)
        h = F.relu(self.b3(self.c3(h))).mean(dim=(2, 3))
        # ... and at the image's mean colour balance (a tint is a trace too).
        m = x.mean(dim=(2, 3))
        balance = (m - m.mean(dim=1, keepdim=True)) / 32
        return self.fc(torch.cat([h, balance], dim=1))


def to_tensor(a):
    return torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1).float()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("build")
    ap.add_argument("model")
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--data", default=os.path.join(here, "..", "..", "shared", "datasets", "bsds"))
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--crop", type=int, default=128)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    rng = np.random.default_rng(a.seed)
    steg = Libsteg(a.build, a.model, a.threads)
    train = make_pairs(steg, os.path.join(a.data, "train"), "train")
    test = make_pairs(steg, os.path.join(a.data, "test"), "test")

    net = Steganalyser()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, a.epochs)
    batch = 16  # pairs: each batch holds a photo and its hybrid, cut at the same place
    for epoch in range(a.epochs):
        net.train()
        order = rng.permutation(len(train))
        total = 0.0
        for s in range(0, len(order), batch):
            xs, ys = [], []
            for k in order[s:s + batch]:
                clean, hybrid = train[k]
                y0 = rng.integers(0, clean.shape[0] - a.crop + 1)
                x0 = rng.integers(0, clean.shape[1] - a.crop + 1)
                for label, img in ((0, clean), (1, hybrid)):
                    xs.append(to_tensor(img[y0:y0 + a.crop, x0:x0 + a.crop]))
                    ys.append(label)
            loss = F.cross_entropy(net(torch.stack(xs)), torch.tensor(ys))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
        sched.step()
        print(f"epoch {epoch + 1}/{a.epochs}  loss {total / ((len(order) + batch - 1) // batch):.4f}",
              file=sys.stderr)

    net.eval()
    caught = flagged = 0
    with torch.no_grad():
        for clean, hybrid in test:  # whole photos
            flagged += int(net(to_tensor(clean)[None]).argmax(1).item() == 1)
            caught += int(net(to_tensor(hybrid)[None]).argmax(1).item() == 1)
    n = len(test)
    result = {
        "model": a.model, "train_pairs": len(train), "test_pairs": n, "epochs": a.epochs,
        "accuracy": (caught + n - flagged) / (2 * n),
        "true_positive_rate": caught / n, "false_positive_rate": flagged / n,
    }
    print(f"held-out accuracy {100 * result['accuracy']:.1f} % ({n} photos and their {n} hybrids): "
          f"{100 * result['true_positive_rate']:.1f} % of hybrids caught, "
          f"{100 * result['false_positive_rate']:.1f} % of clean photos flagged")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
